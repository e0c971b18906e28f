"""``manage.py import_dispatch_config FILE``: the operator's configuration into the tables.

``FILE`` is an operator's configuration file (JSON, YAML or TOML: countries,
cities, vehicle types, tariffs, zones, fixed routes, payment methods, the
``pool`` and ``service`` sections; see :func:`vtc_dispatch.config.load_config`);
``--douala`` imports the library's Douala example instead (rides, XAF),
``--dakar`` its Dakar one (freight loads and deliveries, XOF).  It replaces
what the tables held, checked by the core first (a bad file changes
nothing).  The admin edits it afterwards.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from vtc_dispatch.errors import DispatchError
from vtc_dispatch.loading import read_config_file
from vtc_dispatch.pricing.dakar import DAKAR_CONFIG
from vtc_dispatch.pricing.douala import DOUALA_CONFIG
from vtc_dispatch_django.config import import_config

__all__ = ["Command"]


class Command(BaseCommand):
    help = "Replace the dispatch configuration (cities, tariffs...) with a file's."

    def add_arguments(self, parser: CommandParser) -> None:
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("file", nargs="?", help="a JSON, YAML or TOML configuration file")
        source.add_argument(
            "--douala", action="store_true", help="the library's Douala example (XAF)"
        )
        source.add_argument(
            "--dakar",
            action="store_true",
            help="the library's Dakar example (freight and delivery, XOF)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            data: Any
            if options["douala"]:
                data = DOUALA_CONFIG
            elif options["dakar"]:
                data = DAKAR_CONFIG
            else:
                data = read_config_file(Path(options["file"]))
            config = import_config(data)
        except (DispatchError, OSError) as exc:
            raise CommandError(str(exc)) from exc
        cities = ", ".join(sorted(config.pricing.cities))
        self.stdout.write(f"dispatch configuration imported: {cities}")
