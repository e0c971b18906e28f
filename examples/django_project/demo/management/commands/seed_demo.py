"""``manage.py seed_demo``: Douala's configuration, demo drivers and customers with tokens.

Loads the Douala pricing (XAF, taxi_jaune and confort, the Bonapriso VIP
zone, the Akwa-airport fixed price) into the admin's tables, and creates
the users below with fixed API tokens (so the Postman environment works
as it is).  Running it again resets the configuration and keeps the users.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from rest_framework.authtoken.models import Token

from vtc_dispatch.pricing.douala import DOUALA_CONFIG
from vtc_dispatch_django.config import import_config
from vtc_dispatch_django.models import DriverProfile
from vtc_dispatch_django.repositories import DjangoWallet

DRIVERS = {"amadou": "taxi_jaune", "brice": "taxi_jaune", "carine": "confort"}
# Who customers see coming: full name, phone, vehicle, plate.
CARDS = {
    "amadou": ("Amadou", "Bello", "+237 690 000 001", "Toyota Corolla, yellow", "LT 101 AA"),
    "brice": ("Brice", "Ngando", "+237 690 000 002", "Toyota Yaris, yellow", "LT 102 AB"),
    "carine": ("Carine", "Mbarga", "+237 690 000 003", "Hyundai Elantra, black", "LT 203 CE"),
}
CUSTOMERS = ("chantal", "didier")
WALLET_XAF = Decimal("20000")


def token_for(username: str) -> str:
    """The demo token of a user: 40 characters, readable."""
    return f"demo-{username}-".ljust(40, "0")


class Command(BaseCommand):
    help = "Load the Douala demo: configuration, drivers and customers with tokens."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--pool-mode",
            choices=["sequential", "batch"],
            default="sequential",
            help="offer to one driver at a time (sequential) or to several (batch)",
        )
        parser.add_argument(
            "--max-waiting",
            type=float,
            default=30.0,
            help="MAX_WAITING_TIME: seconds a driver has to answer an offer (30)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        pool = {
            "default": {"mode": options["pool_mode"], "max_waiting_time_s": options["max_waiting"]}
        }
        import_config({**DOUALA_CONFIG, "pool": pool})
        users = get_user_model()
        wallet = DjangoWallet()
        for name in (*DRIVERS, *CUSTOMERS):
            user, created = users.objects.get_or_create(username=name)
            if created:
                user.set_password(name)
                user.save()
            Token.objects.filter(user=user).delete()
            Token.objects.create(user=user, key=token_for(name))
            if name in DRIVERS:
                first, last, phone, vehicle, plate = CARDS[name]
                user.first_name, user.last_name = first, last
                user.save()
                DriverProfile.objects.update_or_create(
                    user=user,
                    defaults={
                        "vehicle_type": DRIVERS[name],
                        "phone": phone,
                        "vehicle": vehicle,
                        "plate": plate,
                    },
                )
            elif created:
                wallet.credit(str(user.pk), WALLET_XAF, "XAF")
            role = f"driver ({DRIVERS[name]})" if name in DRIVERS else "customer"
            self.stdout.write(f"{name:8} {role:22} id={user.pk:<3} token={token_for(name)}")
        self.stdout.write(f"Douala configuration loaded (pool mode {options['pool_mode']})")
