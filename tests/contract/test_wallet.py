"""The Wallet contract: holds, captures, releases, never below zero."""

from __future__ import annotations

from decimal import Decimal

import pytest

from vtc_dispatch.errors import NotFound, PaymentRefused
from vtc_dispatch.ports import Wallet


def funded(wallet: Wallet, amount: str) -> Wallet:
    # Topping up is the host's payment flow, outside the port: each
    # implementation offers a credit method.
    credit = getattr(wallet, "credit")  # noqa: B009
    credit("alice", Decimal(amount), "XAF")
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
