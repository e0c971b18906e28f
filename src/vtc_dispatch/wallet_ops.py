"""Wallet operations keyed by an operation id: the rules every Wallet implementation shares.

A wallet call that carries ``op_id`` is done at most once: the
implementation records the operation (its description, below) and its
result with the money it moves, atomically; the same call again returns
the recorded result and moves nothing, and the same id for another
operation raises :class:`~vtc_dispatch.errors.IdempotencyConflict`.  A call
that was refused (short balance, unknown hold) records nothing.

>>> from decimal import Decimal
>>> describe_credit("alice", Decimal("500.00"), "XAF")
"credit of 500 XAF to 'alice'"
>>> hold_id_for("ord-7:hold") == hold_id_for("ord-7:hold")
True
>>> check_same("op-1", "credit of 500 XAF to 'alice'", "credit of 600 XAF to 'alice'")
Traceback (most recent call last):
...
vtc_dispatch.errors.IdempotencyConflict: wallet operation id 'op-1' was used for credit of 500 ...
"""

from __future__ import annotations

import hashlib
from decimal import Decimal

from vtc_dispatch.errors import IdempotencyConflict, InvalidMoney, shown

__all__ = [
    "amount_text",
    "check_amount",
    "check_op_id",
    "check_same",
    "describe_capture",
    "describe_credit",
    "describe_hold",
    "describe_release",
    "hold_id_for",
]


def hold_id_for(op_id: str) -> str:
    """The hold id of the hold made by operation ``op_id`` (so a replay returns the same hold).

    ``hold-op-`` and 32 hex digits of its SHA-256: 40 characters whatever
    the op id's length, never equal to an id made without an op id.

    >>> hold_id_for("ord-7:hold")
    'hold-op-...'
    >>> len(hold_id_for("x" * 500))
    40
    """
    return "hold-op-" + hashlib.sha256(op_id.encode()).hexdigest()[:32]


def check_op_id(op_id: str | None) -> str | None:
    """``op_id`` if it is ``None`` or a non-empty string; ValueError naming it otherwise.

    >>> check_op_id("")
    Traceback (most recent call last):
    ...
    ValueError: an operation id must be a non-empty string, got ''
    """
    if op_id is not None and not (isinstance(op_id, str) and op_id):
        raise ValueError(f"an operation id must be a non-empty string, got {shown(op_id)}")
    return op_id


def check_amount(amount: object, what: str, *, positive: bool) -> Decimal:
    """``amount`` if it is a finite Decimal >= 0 (> 0 when ``positive``); InvalidMoney otherwise.

    >>> check_amount(Decimal(-1), "a hold", positive=False)
    Traceback (most recent call last):
    ...
    vtc_dispatch.errors.InvalidMoney: a hold must be a Decimal >= 0, got Decimal('-1')
    """
    if not (isinstance(amount, Decimal) and amount.is_finite()) or amount < 0:
        raise InvalidMoney(f"{what} must be a Decimal >= 0, got {shown(amount)}")
    if positive and amount == 0:
        raise InvalidMoney(f"{what} must be a Decimal > 0, got {shown(amount)}")
    return amount


def amount_text(amount: Decimal) -> str:
    """A non-negative amount as plain digits, without exponent or trailing zeros.

    >>> amount_text(Decimal("1.50E+3")), amount_text(Decimal("0.0100")), amount_text(Decimal("-0"))
    ('1500', '0.01', '0')
    """
    text = format(amount.normalize(), "f")
    return "0" if text == "-0" else text


def describe_credit(customer_id: str, amount: Decimal, currency: str) -> str:
    """What a credit does, as recorded with its op id."""
    return f"credit of {amount_text(amount)} {currency} to {shown(customer_id)}"


def describe_hold(customer_id: str, amount: Decimal, currency: str, reference: str) -> str:
    """What a hold does, as recorded with its op id."""
    return (
        f"hold of {amount_text(amount)} {currency} on {shown(customer_id)} for {shown(reference)}"
    )


def describe_capture(hold_id: str, amount: Decimal) -> str:
    """What a capture does, as recorded with its op id."""
    return f"capture of {amount_text(amount)} from hold {shown(hold_id)}"


def describe_release(hold_id: str) -> str:
    """What a release does, as recorded with its op id."""
    return f"release of hold {shown(hold_id)}"


def check_same(op_id: str, recorded: str, asked: str) -> None:
    """IdempotencyConflict unless the operation ``asked`` now is the one ``recorded`` for it."""
    if recorded != asked:
        raise IdempotencyConflict(
            op_id, f"wallet operation id {shown(op_id)} was used for {recorded}, not for {asked}"
        )
