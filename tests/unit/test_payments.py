"""Payments that end: cash confirmed by the driver, marked paid by an operator, mobile money
through a provider and its callback; each one commit, replayed by its command id."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from vtc_dispatch.errors import AlreadyDone, Forbidden, InvalidArgument, InvalidTransition
from vtc_dispatch.geo import LatLng, destination_point, haversine_km, initial_bearing_deg
from vtc_dispatch.memory import InMemoryCommandLog, ManualClock
from vtc_dispatch.order import Actor, Order, PaymentStatus
from vtc_dispatch.payments import (
    MOBILE_MONEY,
    PAYMENT_METHODS,
    FakeProvider,
    InvalidCallback,
    InvalidSignature,
    PaymentOutcome,
    PaymentRequest,
)
from vtc_dispatch.pricing import douala_config
from vtc_dispatch.service import DispatchService, ServiceSettings

AKWA = LatLng(4.0511, 9.7043)
DEIDO = LatLng(4.0650, 9.7250)
T0 = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
EVERY_METHOD = ServiceSettings(payment_methods={"*": tuple(PAYMENT_METHODS)})


def _service() -> DispatchService:
    return DispatchService(
        pricing=douala_config(),
        clock=ManualClock(T0),
        settings=EVERY_METHOD,
        commands=InMemoryCommandLog(),
    )


def _drive(service: DispatchService, driver: str, to: LatLng) -> None:
    clock = service.clock
    assert isinstance(clock, ManualClock)
    start = service.drivers.get(driver).position
    km, bearing = haversine_km(start, to), initial_bearing_deg(start, to)
    for i in range(1, 6):
        clock.advance(timedelta(seconds=10))
        service.update_position(driver, destination_point(start, bearing, km * i / 5))


def _done(service: DispatchService, method: str) -> Order:
    """A ride from Akwa to Deido by ``method``, done: its fare owed."""
    service.driver_online("amadou", "taxi_jaune", destination_point(AKWA, 0.0, 0.3))
    order = service.create_order("chantal", AKWA, DEIDO, "taxi_jaune", method)
    service.accept("amadou", order.id)
    _drive(service, "amadou", AKWA)
    service.arrived("amadou", order.id)
    service.start_trip("amadou", order.id)
    _drive(service, "amadou", DEIDO)
    done = service.complete_trip("amadou", order.id)
    assert done.payment_status == PaymentStatus.PENDING
    return done


def test_the_driver_confirms_cash_once() -> None:
    service = _service()
    done = _done(service, "CASH")
    with pytest.raises(Forbidden):
        service.confirm_cash("brice", done.id)
    paid = service.confirm_cash("amadou", done.id, command_id="cash-1")
    assert (paid.payment_status, paid.amount_paid) == (PaymentStatus.PAID, done.amount_due)
    assert service.confirm_cash("amadou", done.id, command_id="cash-1") == paid
    with pytest.raises(AlreadyDone, match="paid already"):
        service.confirm_cash("amadou", done.id)
    assert service.orders.get(done.id) == paid


def test_nothing_is_confirmed_before_the_end() -> None:
    service = _service()
    service.driver_online("amadou", "taxi_jaune", destination_point(AKWA, 0.0, 0.3))
    order = service.create_order("chantal", AKWA, DEIDO, "taxi_jaune", "CASH")
    service.accept("amadou", order.id)
    with pytest.raises(InvalidTransition, match="payment is none"):
        service.confirm_cash("amadou", order.id)
    with pytest.raises(InvalidTransition):
        service.mark_paid(Actor.operator("ops"), order.id)


def test_an_operator_marks_an_order_paid_and_only_an_operator() -> None:
    service = _service()
    done = _done(service, "OM")
    with pytest.raises(Forbidden, match="only an operator"):
        service.mark_paid(Actor.customer("chantal"), done.id)
    paid = service.mark_paid(Actor.operator("ops-1"), done.id)
    assert (paid.payment_status, paid.amount_paid) == (PaymentStatus.PAID, done.amount_due)
    with pytest.raises(AlreadyDone):
        service.mark_paid(Actor.operator("ops-1"), done.id)


@pytest.mark.parametrize("method", MOBILE_MONEY)
def test_mobile_money_paid_through_the_provider_callback(method: str) -> None:
    service = _service()
    done = _done(service, method)
    due = done.amount_due
    assert due is not None
    provider = FakeProvider(method)
    started = provider.start(PaymentRequest(done.id, due, "XAF", "+237690000001"))
    processing = service.payment_started("chantal", done.id)
    assert processing.payment_status == PaymentStatus.PROCESSING
    body = provider.callback_body(started.reference, done.id, paid=True, amount=due)
    outcome = provider.read_callback(body, provider.sign(body))
    paid = service.payment_result(method, outcome, command_id=f"cb:{started.reference}")
    assert (paid.payment_status, paid.amount_paid) == (PaymentStatus.PAID, due)
    # The provider sends its callback again: done once, and a late failure changes nothing.
    assert service.payment_result(method, outcome, command_id=f"cb:{started.reference}") == paid
    failed = PaymentOutcome(done.id, started.reference, False, due, "XAF", "timeout")
    assert service.payment_result(method, failed) == paid


def test_a_failed_mobile_payment_may_be_tried_again_or_paid_in_cash() -> None:
    service = _service()
    done = _done(service, "MOMO")
    due = done.amount_due
    assert due is not None
    service.payment_started("chantal", done.id)
    refused = PaymentOutcome(done.id, "ref-1", False, due, "XAF", "customer refused")
    assert service.payment_result("MOMO", refused).payment_status == PaymentStatus.FAILED
    assert service.payment_started("chantal", done.id).payment_status == PaymentStatus.PROCESSING
    assert service.payment_result("MOMO", refused).payment_status == PaymentStatus.FAILED
    assert service.confirm_cash("amadou", done.id).payment_status == PaymentStatus.PAID


def test_callbacks_that_do_not_match_the_order_are_refused() -> None:
    service = _service()
    done = _done(service, "WAVE")
    due = done.amount_due
    assert due is not None
    with pytest.raises(InvalidArgument, match="paid by WAVE"):
        service.payment_result("OM", PaymentOutcome(done.id, "r", True, due, "XAF"))
    with pytest.raises(InvalidArgument, match="currency must be XAF"):
        service.payment_result("WAVE", PaymentOutcome(done.id, "r", True, due, "EUR"))
    short = service.payment_result("WAVE", PaymentOutcome(done.id, "r", True, Decimal(100), "XAF"))
    assert (short.payment_status, short.amount_paid) == (PaymentStatus.PARTIALLY_PAID, Decimal(100))
    cash = _service()
    with pytest.raises(InvalidTransition, match="not mobile money"):
        cash.payment_started("chantal", _done(cash, "CASH").id)


def test_the_fake_provider_refuses_a_forged_callback() -> None:
    provider = FakeProvider("OM", secret="right")
    body = provider.callback_body("ref", "o-1", paid=True, amount=Decimal(1750))
    with pytest.raises(InvalidSignature, match="signature"):
        provider.read_callback(body, FakeProvider("OM", secret="wrong").sign(body))
    with pytest.raises(InvalidSignature, match="signature"):
        provider.read_callback(body, None)
    with pytest.raises(InvalidCallback, match="cannot be read"):
        provider.read_callback(b"{}", provider.sign(b"{}"))
    with pytest.raises(InvalidArgument, match="method must be one of"):
        FakeProvider("CASH")
