"""Tables of the dispatch state and of the operator's configuration.

State: orders (the whole order as JSON beside the columns that are
queried: parties, state, deadline, amounts; the live offers and the
ratings also as rows of their own, for queries and the admin), ride
progress, driver presence, drivers' offer statistics and their recent
answers, customers' rating totals, wallets and holds, driver profiles.  The JSON
is what the repositories read back; the other columns and rows follow it
in the same transaction.  Parties are the host's
users referenced by id (``str(user.pk)``), so any ``AUTH_USER_MODEL`` works.

Configuration (edited in the admin, read by the service, see
:mod:`vtc_dispatch_django.config`): countries, cities, vehicle types,
tariffs, zones (targeted/VIP surcharges and fixed-route ends), fixed-price
routes, payment methods per country and the general settings.

Audit (written, never edited): every state change of every order
(:class:`OrderTransition`) and every change of the configuration
(:class:`ConfigChange`, :mod:`vtc_dispatch_django.audit`).
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from vtc_dispatch.kinds import OrderKind
from vtc_dispatch.payments import PAYMENT_METHODS
from vtc_dispatch_django.geojson import validate_area

__all__ = [
    "City",
    "CommandLogEntry",
    "ConfigChange",
    "Country",
    "DispatchSettings",
    "DriverActivity",
    "DriverAnswer",
    "DriverPresence",
    "DriverProfile",
    "FixedPriceRoute",
    "OfferRecord",
    "OrderRecord",
    "OrderTransition",
    "PaymentMethod",
    "ProgressRecord",
    "RatingRecord",
    "RatingTotal",
    "Report",
    "StatsRecord",
    "Tariff",
    "VehicleType",
    "WalletAccount",
    "WalletHold",
    "WalletOperation",
    "Zone",
]

_MONEY: dict[str, Any] = {"max_digits": 18, "decimal_places": 4}
_KINDS = [(kind.value, kind.value) for kind in OrderKind]


# -- dispatch state ----------------------------------------------------------------


class OrderRecord(models.Model):
    """One order: the queried fields as columns, the whole order in ``data``.

    ``version`` is the optimistic concurrency column: a save updates the
    row only where the version is still the one read.
    """

    seq = models.BigAutoField(primary_key=True)
    order_id = models.CharField(max_length=64, unique=True)
    customer_id = models.CharField(max_length=200, db_index=True)
    driver_id = models.CharField(max_length=200, null=True, blank=True, db_index=True)
    # The parties as the host's users, for the host's queries and joins: set when
    # the party id is the key of a user (``str(user.pk)``, as the REST views make
    # it).  No database constraint: an order outlives its users, and a store may
    # hold parties that are no users (another app's ids).
    customer_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="vtc_orders",
        help_text="The customer as a user of this site, when customer_id is a user's key",
    )
    driver_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="vtc_driven_orders",
        help_text="The driver as a user of this site, when driver_id is a user's key",
    )
    vehicle_type = models.CharField(max_length=64)
    kind = models.CharField(
        max_length=16,
        choices=_KINDS,
        default=OrderKind.RIDE.value,
        db_index=True,
        help_text="Ride, freight load or delivery: the lifecycle the state belongs to",
    )
    state = models.CharField(max_length=32, db_index=True)
    active = models.BooleanField(default=True)
    payment_method = models.CharField(max_length=32)
    payment_status = models.CharField(max_length=32)
    currency = models.CharField(max_length=3)
    estimate = models.DecimalField(**_MONEY)
    final_amount = models.DecimalField(null=True, blank=True, **_MONEY)
    next_deadline = models.DateTimeField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField()
    data = models.JSONField()

    class Meta:
        verbose_name = "order"
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["customer_id", "active", "-seq"], name="vtc_order_customer"),
            models.Index(fields=["driver_id", "active", "-seq"], name="vtc_order_driver"),
            # The operator's reports read orders by the day they were made.
            models.Index(fields=["created_at"], name="vtc_order_created"),
        ]

    def __str__(self) -> str:
        return f"{self.order_id} ({self.state})"


class Report(OrderRecord):
    """The operator's reports (:mod:`vtc_dispatch_django.reports`): no table of their own,
    a proxy of the orders they are computed from, so that the admin lists them under
    Dispatch and the permission ``vtc_dispatch.view_report`` grants them to staff."""

    class Meta:
        proxy = True
        verbose_name = "report"
        verbose_name_plural = "reports"
        default_permissions = ("view",)


class OfferRecord(models.Model):
    """A live offer of an order (rewritten with the order): who holds which offer until when."""

    order = models.ForeignKey(OrderRecord, on_delete=models.CASCADE, related_name="offers")
    driver_id = models.CharField(max_length=200, db_index=True)
    distance_km = models.FloatField()
    sent_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    shown = models.BooleanField(default=True)

    class Meta:
        verbose_name = "live offer"

    def __str__(self) -> str:
        return f"offer of {self.order_id} to {self.driver_id}"


class RatingRecord(models.Model):
    """Stars given by one side of a done order about the other (written with the order)."""

    order = models.ForeignKey(OrderRecord, on_delete=models.CASCADE, related_name="ratings")
    by_role = models.CharField(max_length=16)
    by_id = models.CharField(max_length=200)
    about_id = models.CharField(max_length=200, db_index=True)
    stars = models.PositiveSmallIntegerField()
    comment = models.TextField(null=True, blank=True)
    at = models.DateTimeField()

    class Meta:
        verbose_name = "rating"
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["order", "by_role"], name="vtc_rating_once"),
        ]

    def __str__(self) -> str:
        return f"{self.stars} stars by the {self.by_role} of {self.order_id}"


class ProgressRecord(models.Model):
    """The live progress of one ride (tracks, notification marks), versioned."""

    order_id = models.CharField(max_length=64, primary_key=True)
    version = models.PositiveIntegerField()
    data = models.JSONField()

    class Meta:
        verbose_name = "ride progress"


class DriverPresence(models.Model):
    """A driver as the registry knows it: state, vehicle type, last position, ratings, and
    whether his phone is heard from.

    ``available`` is kept equal to online, present, not on an order, not
    blocked (by his ratings) and not suspended (by an operator), so that the
    nearest-driver query reads one indexed column.
    ``seen_at`` is when his phone was last heard from (rows written before
    it got their ``updated_at``); ``presence`` is ``present``,
    ``silent`` or ``unreachable``; ``offline_reason`` why the service put
    him offline (``silent``).
    """

    driver_id = models.CharField(max_length=200, primary_key=True)
    vehicle_type = models.CharField(max_length=64)
    lat = models.FloatField()
    lng = models.FloatField()
    online = models.BooleanField(default=False)
    order_id = models.CharField(max_length=64, null=True, blank=True)
    blocked = models.BooleanField(default=False)
    suspended = models.BooleanField(default=False)
    available = models.BooleanField(default=False)
    rating_sum = models.PositiveIntegerField(default=0)
    rating_count = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField()
    seen_at = models.DateTimeField()
    presence = models.CharField(
        max_length=16,
        default="present",
        choices=[("present", "present"), ("silent", "silent"), ("unreachable", "unreachable")],
    )
    offline_reason = models.CharField(max_length=32, null=True, blank=True)

    class Meta:
        verbose_name = "driver presence"
        verbose_name_plural = "driver presences"
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["available", "lat"], name="vtc_presence_available"),
            # The sweep of silent drivers: the online ones of a presence, oldest heard first.
            models.Index(fields=["online", "presence", "seen_at"], name="vtc_presence_heard"),
        ]

    def __str__(self) -> str:
        return f"{self.driver_id} ({'on' if self.online else 'off'})"


class StatsRecord(models.Model):
    """What one driver did with the offers made, counted since the start.

    Each count is raised by one ``UPDATE ... SET n = n + 1`` (an F()
    expression), so workers sharing the database never lose a count.
    """

    driver_id = models.CharField(max_length=200, primary_key=True)
    offered = models.PositiveBigIntegerField(default=0)
    accepted = models.PositiveBigIntegerField(default=0)
    refused = models.PositiveBigIntegerField(default=0)
    expired = models.PositiveBigIntegerField(default=0)
    cancelled_after_accept = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = "driver statistics"
        verbose_name_plural = "driver statistics"

    def __str__(self) -> str:
        return f"{self.driver_id}: {self.accepted} of {self.offered} offers accepted"


class DriverAnswer(models.Model):
    """One recent answer of a driver to an offer (for the rates over the statistics window).

    Rows go in the order they were recorded (``seq``); recording one removes
    the driver's oldest rows while they are older than the window.
    """

    seq = models.BigAutoField(primary_key=True)
    driver_id = models.CharField(max_length=200)
    outcome = models.CharField(max_length=32)
    at = models.DateTimeField()

    class Meta:
        verbose_name = "driver answer"
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["driver_id", "seq"], name="vtc_answer_driver"),
        ]

    def __str__(self) -> str:
        return f"{self.driver_id} {self.outcome} at {self.at}"


class DriverActivity(models.Model):
    """One timed outcome of a driver (an answer, a cancellation after accepting) or his
    going online or offline: what his dashboard's periods are read from.

    Recording one removes the driver's rows older than what is kept
    (:data:`~vtc_dispatch.pool.stats.ACTIVITY_KEPT`).
    """

    seq = models.BigAutoField(primary_key=True)
    driver_id = models.CharField(max_length=200)
    outcome = models.CharField(max_length=32)
    at = models.DateTimeField()

    class Meta:
        verbose_name = "driver activity"
        verbose_name_plural = "driver activity"
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["driver_id", "at"], name="vtc_activity_driver"),
        ]

    def __str__(self) -> str:
        return f"{self.driver_id} {self.outcome} at {self.at}"


class RatingTotal(models.Model):
    """The stars a party (a customer) was given by drivers: their sum and number.

    Both are raised together by one ``UPDATE`` with F() expressions.
    """

    party_id = models.CharField(max_length=200, primary_key=True)
    stars = models.BigIntegerField(default=0)
    ratings = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = "rating total"

    def __str__(self) -> str:
        return f"{self.party_id}: {self.stars} stars in {self.ratings} ratings"


class WalletAccount(models.Model):
    """A customer's free balance in one currency."""

    customer_id = models.CharField(max_length=200)
    currency = models.CharField(max_length=3)
    balance = models.DecimalField(default=0, **_MONEY)

    class Meta:
        verbose_name = "wallet"
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["customer_id", "currency"], name="vtc_wallet_unique"),
            models.CheckConstraint(
                condition=models.Q(balance__gte=0), name="vtc_wallet_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.balance} {self.currency}"


class WalletHold(models.Model):
    """An amount reserved on a wallet for an order, until captured or released."""

    hold_id = models.CharField(max_length=64, primary_key=True)
    customer_id = models.CharField(max_length=200)
    currency = models.CharField(max_length=3)
    amount = models.DecimalField(**_MONEY)
    reference = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)


class WalletOperation(models.Model):
    """A wallet call made with an operation id: what it did and its result, so a replay
    returns the result and moves nothing.  Rows may be pruned by ``created_at`` once no
    client can retry them."""

    op_id = models.CharField(max_length=255, primary_key=True)
    description = models.TextField()
    result = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = "wallet operation"

    def __str__(self) -> str:
        return f"{self.op_id}: {self.description}"


class CommandLogEntry(models.Model):
    """A command sent with a ``command_id``: its fingerprint and the order it answered.

    Written in the command's own transaction (so a replay finds it exactly
    when the command's writes are there); ``result`` is the order in the
    core codec's form (:func:`~vtc_dispatch.codec.order_to_data`) at
    ``result_version``.  Rows may be pruned by ``created_at`` once no
    client can retry them (:meth:`~vtc_dispatch_django.unit_of_work.DjangoCommandLog.forget`).
    """

    command_id = models.CharField(max_length=255, primary_key=True)
    fingerprint = models.TextField()
    result = models.JSONField(null=True, blank=True)
    result_version = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = "command log entry"
        verbose_name_plural = "command log entries"

    def __str__(self) -> str:
        return self.command_id


class DriverProfile(models.Model):
    """Makes a host user a driver (users without one are customers)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="vtc_driver"
    )
    vehicle_type = models.CharField(max_length=64)
    plate = models.CharField(max_length=32, blank=True)
    phone = models.CharField(max_length=32, blank=True)
    vehicle = models.CharField(
        max_length=100, blank=True, help_text="Make, model and colour, as customers see it"
    )

    def __str__(self) -> str:
        return f"driver {self.user_id} ({self.vehicle_type})"


# -- configuration -----------------------------------------------------------------


def _area(value: Any) -> None:
    try:
        validate_area(value)
    except ValueError as exc:
        raise ValidationError(str(exc)) from exc


class Country(models.Model):
    """A country: currency, time zone, rounding of fares."""

    code = models.CharField(max_length=2, primary_key=True, help_text="ISO 3166 code, e.g. CM")
    name = models.CharField(max_length=100)
    currency = models.CharField(max_length=3, help_text="ISO 4217 code, e.g. XAF")
    timezone = models.CharField(max_length=64, default="UTC")
    rounding_step = models.DecimalField(null=True, blank=True, **_MONEY)
    rounding_mode = models.CharField(
        max_length=8,
        default="nearest",
        choices=[("nearest", "nearest"), ("up", "up"), ("down", "down")],
    )

    class Meta:
        verbose_name_plural = "countries"

    def __str__(self) -> str:
        return self.name


class City(models.Model):
    """A city: its area (GeoJSON polygon, lng/lat) and traffic figures."""

    code = models.SlugField(max_length=64, primary_key=True)
    name = models.CharField(max_length=100)
    country = models.ForeignKey(Country, on_delete=models.PROTECT, related_name="cities")
    area = models.JSONField(validators=[_area], help_text="GeoJSON Polygon or MultiPolygon")
    average_speed_kmh = models.FloatField(default=25.0)
    detour_factor = models.FloatField(default=1.3)
    route_spread = models.FloatField(default=0.15)

    class Meta:
        verbose_name_plural = "cities"

    def __str__(self) -> str:
        return self.name


class VehicleType(models.Model):
    """A vehicle type customers choose (``taxi_jaune``, ``confort``), and the kind of its
    orders (rides; freight loads carriers bid on; deliveries a merchant prepares)."""

    code = models.SlugField(max_length=64, primary_key=True)
    label = models.CharField(max_length=100)
    seats = models.PositiveSmallIntegerField(default=4)
    kind = models.CharField(
        max_length=16,
        choices=_KINDS,
        default=OrderKind.RIDE.value,
        help_text="The lifecycle of its orders: ride, freight (bids, proof of delivery) or"
        " delivery (the merchant's states, then a rider)",
    )

    def __str__(self) -> str:
        return self.label


class Tariff(models.Model):
    """The fares of one vehicle type in one city.

    ``rules`` holds the optional parts of the pricing file's tariff
    (``sections``, ``night``, ``waiting``, ``supplements``,
    ``maximum_fare``, ``included_km``), as in the configuration file.
    """

    city = models.ForeignKey(City, on_delete=models.CASCADE, related_name="tariffs")
    vehicle_type = models.ForeignKey(VehicleType, on_delete=models.CASCADE, related_name="tariffs")
    base_fare = models.DecimalField(**_MONEY)
    per_km = models.DecimalField(null=True, blank=True, **_MONEY)
    per_minute = models.DecimalField(default=0, **_MONEY)
    minimum_fare = models.DecimalField(default=0, **_MONEY)
    booking_fee = models.DecimalField(default=0, **_MONEY)
    cancellation_fee = models.DecimalField(default=0, **_MONEY)
    no_show_fee = models.DecimalField(default=0, **_MONEY)
    rules = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["city", "vehicle_type"], name="vtc_tariff_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.vehicle_type_id} in {self.city_id}"


class Zone(models.Model):
    """An area: a targeted (VIP) zone when it has a surcharge, or the end of a fixed route."""

    code = models.SlugField(max_length=64, primary_key=True)
    label = models.CharField(max_length=100)
    area = models.JSONField(validators=[_area], help_text="GeoJSON Polygon or MultiPolygon")
    surcharge_multiplier = models.DecimalField(null=True, blank=True, **_MONEY)
    surcharge_fixed = models.DecimalField(null=True, blank=True, **_MONEY)
    applies_to = models.CharField(
        max_length=8,
        default="either",
        choices=[(x, x) for x in ("pickup", "dropoff", "either", "both")],
    )

    def __str__(self) -> str:
        return self.label


class FixedPriceRoute(models.Model):
    """A fixed price between two zones (the airport), per vehicle type."""

    code = models.SlugField(max_length=64, primary_key=True)
    label = models.CharField(max_length=100)
    from_zone = models.ForeignKey(Zone, on_delete=models.CASCADE, related_name="routes_from")
    to_zone = models.ForeignKey(Zone, on_delete=models.CASCADE, related_name="routes_to")
    both_ways = models.BooleanField(default=True)
    fares = models.JSONField(help_text='Price per vehicle type, e.g. {"taxi_jaune": "3000"}')

    def __str__(self) -> str:
        return self.label


class PaymentMethod(models.Model):
    """A payment method enabled in a country."""

    CODES: ClassVar[list[tuple[str, str]]] = list(PAYMENT_METHODS.items())
    country = models.ForeignKey(Country, on_delete=models.CASCADE, related_name="payment_methods")
    code = models.CharField(max_length=32, choices=CODES)
    enabled = models.BooleanField(default=True)

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["country", "code"], name="vtc_payment_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.code} in {self.country_id}"


class DispatchSettings(models.Model):
    """The general settings (one row): answer time, search radius, rating threshold."""

    max_waiting_time_s = models.FloatField(
        default=30.0, help_text="MAX_WAITING_TIME: seconds a driver has to answer an offer"
    )
    search_radius_km = models.FloatField(default=5.0)
    radius_max_km = models.FloatField(default=10.0, help_text="the pool's widest radius")
    rating_threshold = models.FloatField(default=3.0)
    rating_min_count = models.PositiveIntegerField(default=5)
    pool = models.JSONField(
        default=dict,
        blank=True,
        help_text="More pool settings (vtc_dispatch.pool.PoolConfig), e.g."
        ' {"default": {"mode": "batch"}, "overrides": [...]}',
    )
    pricing_extra = models.JSONField(
        default=dict,
        blank=True,
        help_text="Pricing sections without a table: surge, about_threshold, final_fare,"
        " cancellation, promotions (as in the pricing file)",
    )
    revision = models.PositiveBigIntegerField(
        default=0, editable=False, help_text="bumped at every configuration change"
    )

    class Meta:
        verbose_name = "general settings"
        verbose_name_plural = "general settings"

    def __str__(self) -> str:
        return "general settings"


# -- audit -------------------------------------------------------------------------


class OrderTransition(models.Model):
    """One state change of an order: from, to, by whom (role and id), when, by which command.

    Written with the order's row, in its transaction, for each entry its
    lifecycle's history gained (:class:`~vtc_dispatch.fsm.HistoryEntry`);
    ``command_id`` is the command's when it carried one (a REST
    ``Idempotency-Key``, a websocket message's ``id``).
    """

    seq = models.BigAutoField(primary_key=True)
    order_id = models.CharField(max_length=200)
    event = models.CharField(max_length=64)
    source = models.CharField(max_length=64)
    target = models.CharField(max_length=64)
    actor_role = models.CharField(max_length=32)
    actor_id = models.CharField(max_length=200, null=True, blank=True)
    at = models.DateTimeField()
    reason = models.TextField(null=True, blank=True)
    command_id = models.CharField(max_length=300, null=True, blank=True)

    class Meta:
        verbose_name = "order transition"
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["order_id", "seq"], name="vtc_transition_order"),
            models.Index(fields=["at"], name="vtc_transition_at"),
        ]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.source} -> {self.target} ({self.actor_role})"


class ConfigChange(models.Model):
    """One change of the configuration: who, when, what (the fields before and after)."""

    ACTIONS: ClassVar[list[tuple[str, str]]] = [
        ("created", "created"),
        ("changed", "changed"),
        ("deleted", "deleted"),
    ]
    seq = models.BigAutoField(primary_key=True)
    at = models.DateTimeField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        db_constraint=False,
        related_name="+",
    )
    by = models.CharField(max_length=200, help_text="the user's name, or what made the change")
    model = models.CharField(max_length=64)
    object_id = models.CharField(max_length=200)
    object_repr = models.CharField(max_length=200)
    action = models.CharField(max_length=16, choices=ACTIONS)
    changes = models.JSONField(
        default=dict, help_text='{"field": [before, after]} (before null when created)'
    )

    class Meta:
        verbose_name = "configuration change"
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["at"], name="vtc_config_change_at"),
        ]

    def __str__(self) -> str:
        return f"{self.model} {self.object_repr} {self.action} by {self.by}"
