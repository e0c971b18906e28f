"""Payment methods, and collecting an order's fare by mobile money through a provider.

An order ends (done, or cancelled with a fee) owing its fare; a wallet
order pays from its hold in the same commit.  For the others the money is
collected outside the service and the service is told:

- cash: the driver confirms he was paid
  (:meth:`~vtc_dispatch.service.DispatchService.confirm_cash`);
- an operator marks an order paid, whatever its method
  (:meth:`~vtc_dispatch.service.DispatchService.mark_paid`);
- mobile money: a :class:`~vtc_dispatch.ports.PaymentProvider` asks the
  customer's phone to pay (:meth:`~vtc_dispatch.service.DispatchService.
  payment_started` records it), and the provider's callback, read by the
  same provider, says paid or failed
  (:meth:`~vtc_dispatch.service.DispatchService.payment_result`).

Each is one command of the service: one commit, idempotent by
``command_id`` (a provider's callback sent twice is done once).

:class:`FakeProvider` is the in-memory provider of the tests and the
example project: it "sends" payment requests into a list and signs
callbacks with a shared secret, as the real APIs do.

>>> label("OM"), label("WAVE"), label("BITCOIN")
('Orange Money', 'Wave', 'BITCOIN')
>>> provider = FakeProvider("OM", secret="s3cret")
>>> started = provider.start(PaymentRequest("o-1", Decimal("1750"), "XAF", "+237690000001"))
>>> started.reference
'fake-om-1'
>>> body = provider.callback_body(started.reference, "o-1", paid=True, amount=Decimal("1750"))
>>> outcome = provider.read_callback(body, provider.sign(body))
>>> outcome.order_id, outcome.paid, outcome.amount
('o-1', True, Decimal('1750'))
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from decimal import Decimal, InvalidOperation

import attrs

from vtc_dispatch.errors import InvalidArgument, shown
from vtc_dispatch.validation import check_id

__all__ = [
    "MOBILE_MONEY",
    "PAYMENT_METHODS",
    "FakeProvider",
    "InvalidCallback",
    "InvalidSignature",
    "PaymentOutcome",
    "PaymentRequest",
    "PaymentStarted",
    "check_outcome",
    "label",
]

PAYMENT_METHODS: dict[str, str] = {
    "CASH": "Cash",
    "OM": "Orange Money",
    "MOMO": "MTN Mobile Money",
    "WAVE": "Wave",
    "FREE_MONEY": "Free Money",
    "MPESA": "M-Pesa",
    "AIRTEL_MONEY": "Airtel Money",
    "WALLET": "In-app wallet",
}
"""The payment methods the library knows, by code, with the label a customer reads."""

MOBILE_MONEY: tuple[str, ...] = ("OM", "MOMO", "WAVE", "FREE_MONEY", "MPESA", "AIRTEL_MONEY")
"""The methods collected by a mobile-money provider (a
:class:`~vtc_dispatch.ports.PaymentProvider` each)."""


def label(code: str) -> str:
    """The label of the payment method ``code`` (the code itself when unknown)."""
    return PAYMENT_METHODS.get(code, code)


class InvalidCallback(InvalidArgument):
    """A provider's callback that cannot be read (its body is not what the provider sends)."""


class InvalidSignature(InvalidCallback):
    """A provider's callback that is not authentic (its signature does not match)."""


@attrs.frozen
class PaymentRequest:
    """What a provider needs to ask a customer's phone for the fare of an order.

    ``order_id`` goes to the provider as the merchant's reference and comes
    back in its callback; ``phone`` is the customer's mobile-money number.
    """

    order_id: str
    amount: Decimal
    currency: str
    phone: str


@attrs.frozen
class PaymentStarted:
    """The provider took the request: its ``reference`` for the transaction."""

    reference: str


@attrs.frozen
class PaymentOutcome:
    """What a provider's callback says: the order's payment ``paid`` (of ``amount`` in
    ``currency``) or failed (``reason``: refused by the customer, timed out...)."""

    order_id: str
    reference: str
    paid: bool
    amount: Decimal
    currency: str
    reason: str | None = None


class FakeProvider:
    """An in-memory mobile-money provider (tests, the example project): no network.

    ``start`` records the request in :attr:`requests` and answers a
    reference; :meth:`callback_body` and :meth:`sign` build the callback
    the provider would send, signed with HMAC-SHA256 of the body under
    ``secret``; :meth:`read_callback` checks that signature and reads it.
    """

    def __init__(self, method: str, *, secret: str = "fake-secret", currency: str = "XAF") -> None:
        if method not in MOBILE_MONEY:
            raise InvalidArgument(f"method must be one of {MOBILE_MONEY}, got {shown(method)}")
        self.method = method
        self.secret = secret
        self.currency = currency
        self.requests: list[PaymentRequest] = []

    def start(self, request: PaymentRequest) -> PaymentStarted:
        """See :class:`~vtc_dispatch.ports.PaymentProvider`."""
        self.requests.append(request)
        return PaymentStarted(f"fake-{self.method.lower()}-{len(self.requests)}")

    def sign(self, body: bytes) -> str:
        """The signature of a callback ``body``: HMAC-SHA256 under the secret, in hex."""
        return hmac.new(self.secret.encode(), body, hashlib.sha256).hexdigest()

    def callback_body(
        self,
        reference: str,
        order_id: str,
        *,
        paid: bool,
        amount: Decimal,
        reason: str | None = None,
    ) -> bytes:
        """The body of the callback the provider sends once the customer paid or not."""
        return json.dumps(
            {
                "reference": reference,
                "order_id": order_id,
                "status": "SUCCESSFUL" if paid else "FAILED",
                "amount": str(amount),
                "currency": self.currency,
                "reason": reason,
            }
        ).encode()

    def read_callback(self, body: bytes, signature: str | None) -> PaymentOutcome:
        """See :class:`~vtc_dispatch.ports.PaymentProvider`."""
        if signature is None or not hmac.compare_digest(self.sign(body), signature):
            raise InvalidSignature(f"{self.method} callback signature does not match the body")
        try:
            data = json.loads(body)
            status = data["status"]
            if status not in ("SUCCESSFUL", "FAILED"):
                raise ValueError(f"status {shown(status)}")
            return PaymentOutcome(
                order_id=str(data["order_id"]),
                reference=str(data["reference"]),
                paid=status == "SUCCESSFUL",
                amount=Decimal(str(data["amount"])),
                currency=str(data["currency"]),
                reason=data.get("reason"),
            )
        except (ValueError, KeyError, TypeError, InvalidOperation) as exc:
            raise InvalidCallback(f"{self.method} callback cannot be read: {exc}") from None


_CURRENCY = re.compile(r"[A-Z]{3}")


def check_outcome(method: object, outcome: object, id_max: int) -> tuple[str, PaymentOutcome]:
    """A provider's ``method`` and its callback's ``outcome``, checked as every command's
    arguments are: :class:`~vtc_dispatch.errors.InvalidArgument` naming what is wrong.

    >>> check_outcome("OM", PaymentOutcome("o-1", "r", True, Decimal(-5), "XAF"), 128)
    Traceback (most recent call last):
    ...
    vtc_dispatch.errors.InvalidArgument: outcome.amount must be a finite Decimal >= 0, ...
    """
    if not isinstance(method, str) or method not in MOBILE_MONEY:
        raise InvalidArgument(
            f"method must be one of {', '.join(MOBILE_MONEY)}, got {shown(method)}"
        )
    if not isinstance(outcome, PaymentOutcome):
        raise InvalidArgument(f"outcome must be a PaymentOutcome, got {shown(outcome)}")
    check_id(outcome.order_id, "outcome.order_id", id_max)
    check_id(outcome.reference, "outcome.reference", id_max)
    if not isinstance(outcome.paid, bool):
        raise InvalidArgument(f"outcome.paid must be a bool, got {shown(outcome.paid)}")
    amount = outcome.amount
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount < 0:
        raise InvalidArgument(f"outcome.amount must be a finite Decimal >= 0, got {shown(amount)}")
    if not isinstance(outcome.currency, str) or not _CURRENCY.fullmatch(outcome.currency):
        raise InvalidArgument(
            f"outcome.currency must be an ISO 4217 code, got {shown(outcome.currency)}"
        )
    if outcome.reason is not None and not isinstance(outcome.reason, str):
        raise InvalidArgument(f"outcome.reason must be a text or None, got {shown(outcome.reason)}")
    return method, outcome
