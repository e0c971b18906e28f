"""The Wallet contract: holds, captures, releases, never below zero."""

from __future__ import annotations

from decimal import Decimal
from typing import Protocol, runtime_checkable

import pytest

from vtc_dispatch.errors import NotFound, PaymentRefused
from vtc_dispatch.ports import Wallet


@runtime_checkable
class Fundable(Protocol):
    """How the host tops up a wallet: every implementation has ``credit``."""

    def credit(self, customer_id: str, amount: Decimal, currency: str) -> None: ...


def funded(wallet: Wallet, amount: str) -> Wallet:
    assert isinstance(wallet, Fundable)
    wallet.credit("alice", Decimal(amount), "XAF")
    return wallet


def test_hold_capture_release(wallet: Wallet) -> None:
    funded(wallet, "5000")
    hold = wallet.hold("alice", Decimal(2000), "XAF", "o1")
    assert wallet.balance("alice", "XAF") == 3000
    assert wallet.capture(hold, Decimal(1500)) == 1500
    assert wallet.balance("alice", "XAF") == 3500
    other = wallet.hold("alice", Decimal(1000), "XAF", "o2")
    wallet.release(other)
    assert wallet.balance("alice", "XAF") == 3500
    with pytest.raises(NotFound):
        wallet.release(other)
    assert wallet.balance("EUR-less", "EUR") == 0


def test_capture_beyond_the_hold_takes_what_is_there(wallet: Wallet) -> None:
    funded(wallet, "1000")
    hold = wallet.hold("alice", Decimal(800), "XAF", "o1")
    assert wallet.capture(hold, Decimal(1500)) == 1000
    assert wallet.balance("alice", "XAF") == 0


def test_hold_beyond_the_balance_is_refused(wallet: Wallet) -> None:
    funded(wallet, "100")
    with pytest.raises(PaymentRefused, match="holds 100 XAF, 500 needed"):
        wallet.hold("alice", Decimal(500), "XAF", "o1")
    assert wallet.balance("alice", "XAF") == 100
