"""The Wallet contract: holds, captures, releases, never below zero; op ids done once."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    rule,
    run_state_machine_as_test,
)

from vtc_dispatch.errors import IdempotencyConflict, InvalidMoney, NotFound, PaymentRefused
from vtc_dispatch.ports import Wallet
from vtc_dispatch.wallet_ops import hold_id_for


def funded(wallet: Wallet, amount: str) -> Wallet:
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


def test_bad_amounts_are_refused_and_move_nothing(wallet: Wallet) -> None:
    funded(wallet, "100")
    hold = wallet.hold("alice", Decimal(10), "XAF", "o1")
    with pytest.raises(InvalidMoney, match="a credit must be a Decimal > 0, got Decimal"):
        wallet.credit("alice", Decimal(0), "XAF")
    with pytest.raises(InvalidMoney, match="a hold must be a Decimal >= 0"):
        wallet.hold("alice", Decimal("NaN"), "XAF", "o2")
    with pytest.raises(InvalidMoney, match="a capture must be a Decimal >= 0"):
        wallet.capture(hold, Decimal(-1))
    assert wallet.balance("alice", "XAF") == 90


def test_a_replayed_credit_moves_money_once(wallet: Wallet) -> None:
    funded(wallet, "1000")
    wallet.credit("alice", Decimal(500), "XAF", op_id="top-up-7")
    wallet.credit("alice", Decimal("500.00"), "XAF", op_id="top-up-7")  # the same amount
    assert wallet.balance("alice", "XAF") == 1500


def test_a_replayed_hold_returns_the_same_hold_even_after_it_was_captured(wallet: Wallet) -> None:
    funded(wallet, "10000")
    hold = wallet.hold("alice", Decimal(3000), "XAF", "o1", op_id="o1:hold")
    assert hold == hold_id_for("o1:hold")
    assert wallet.hold("alice", Decimal(3000), "XAF", "o1", op_id="o1:hold") == hold
    assert wallet.balance("alice", "XAF") == 7000
    assert wallet.capture(hold, Decimal("2500.5"), op_id="o1:capture") == Decimal("2500.5")
    assert wallet.capture(hold, Decimal("2500.5"), op_id="o1:capture") == Decimal("2500.5")
    assert wallet.hold("alice", Decimal(3000), "XAF", "o1", op_id="o1:hold") == hold
    assert wallet.balance("alice", "XAF") == Decimal("7499.5")
    with pytest.raises(NotFound, match="no wallet hold"):
        wallet.capture(hold, Decimal(1), op_id="o1:capture-again")


def test_a_replayed_release_gives_the_money_back_once(wallet: Wallet) -> None:
    funded(wallet, "1000")
    hold = wallet.hold("alice", Decimal(400), "XAF", "o1")
    wallet.release(hold, op_id="o1:release")
    wallet.release(hold, op_id="o1:release")
    assert wallet.balance("alice", "XAF") == 1000
    with pytest.raises(NotFound):
        wallet.release(hold)


def test_an_op_id_used_for_another_operation_is_refused(wallet: Wallet) -> None:
    funded(wallet, "1000")
    wallet.credit("alice", Decimal(500), "XAF", op_id="op-1")
    with pytest.raises(IdempotencyConflict, match="'op-1' was used for credit of 500 XAF") as e:
        wallet.credit("alice", Decimal(600), "XAF", op_id="op-1")
    assert e.value.op_id == "op-1"
    with pytest.raises(IdempotencyConflict, match="not for hold of 100 XAF on 'alice'"):
        wallet.hold("alice", Decimal(100), "XAF", "o1", op_id="op-1")
    hold = wallet.hold("alice", Decimal(100), "XAF", "o1", op_id="op-2")
    with pytest.raises(IdempotencyConflict, match="not for hold of 100 XAF on 'alice' for 'o9'"):
        wallet.hold("alice", Decimal(100), "XAF", "o9", op_id="op-2")
    with pytest.raises(IdempotencyConflict, match="'op-2'"):
        wallet.release(hold, op_id="op-2")
    assert wallet.balance("alice", "XAF") == 1400


def test_a_refused_hold_records_nothing(wallet: Wallet) -> None:
    funded(wallet, "100")
    with pytest.raises(PaymentRefused):
        wallet.hold("alice", Decimal(500), "XAF", "o1", op_id="o1:hold")
    wallet.credit("alice", Decimal(400), "XAF")
    assert wallet.hold("alice", Decimal(500), "XAF", "o1", op_id="o1:hold") == hold_id_for(
        "o1:hold"
    )
    assert wallet.balance("alice", "XAF") == 0


# -- money is conserved under any sequence of operations and replays --------------------

_AMOUNTS = st.decimals(min_value=0, max_value=5000, places=2)


@dataclass
class _Call:
    """A wallet call made with an op id, to replay or to reuse with other arguments."""

    method: str
    args: tuple[Any, ...]
    result: Any
    other: tuple[Any, ...] = field(default=())


class WalletMoney(RuleBasedStateMachine):
    """free balance + open holds + captured == credited, whatever is replayed."""

    wallet: Wallet
    calls = Bundle("calls")
    holds = Bundle("holds")

    def __init__(self) -> None:
        super().__init__()
        self.customer = f"c-{uuid.uuid4().hex[:10]}"
        self.credited = Decimal(0)
        self.captured = Decimal(0)
        self.open: dict[str, Decimal] = {}

    def _op(self) -> str:
        return f"{self.customer}:{uuid.uuid4().hex[:8]}"

    @rule(target=calls, amount=st.decimals(min_value="0.01", max_value=5000, places=2))
    def credit(self, amount: Decimal) -> _Call:
        op = self._op()
        self.wallet.credit(self.customer, amount, "XAF", op_id=op)
        self.credited += amount
        return _Call("credit", (self.customer, amount, "XAF"), None, (op,))

    @rule(target=holds, amount=_AMOUNTS)
    def hold(self, amount: Decimal) -> str:
        op = self._op()
        free = self.wallet.balance(self.customer, "XAF")
        try:
            hold = self.wallet.hold(self.customer, amount, "XAF", "ref", op_id=op)
        except PaymentRefused:
            assert free < amount
            return "no-hold"
        assert hold == hold_id_for(op)
        self.open[hold] = amount
        # Replayed at once: the same hold, nothing moves (checked by the invariant).
        assert self.wallet.hold(self.customer, amount, "XAF", "ref", op_id=op) == hold
        return hold

    @rule(target=calls, hold=consumes(holds), amount=_AMOUNTS)
    def capture(self, hold: str, amount: Decimal) -> _Call:
        op = self._op()
        if hold not in self.open:
            with pytest.raises(NotFound):
                self.wallet.capture(hold, amount, op_id=op)
            return _Call("balance", (self.customer, "XAF"), None)
        free = self.wallet.balance(self.customer, "XAF")
        taken = self.wallet.capture(hold, amount, op_id=op)
        assert taken == min(amount, free + self.open.pop(hold))
        self.captured += taken
        return _Call("capture", (hold, amount), taken, (op,))

    @rule(target=calls, hold=consumes(holds))
    def release(self, hold: str) -> _Call:
        op = self._op()
        if hold not in self.open:
            with pytest.raises(NotFound):
                self.wallet.release(hold, op_id=op)
            return _Call("balance", (self.customer, "XAF"), None)
        self.wallet.release(hold, op_id=op)
        del self.open[hold]
        return _Call("release", (hold,), None, (op,))

    @rule(call=calls)
    def replay(self, call: _Call) -> None:
        if call.method == "balance":
            return
        method = getattr(self.wallet, call.method)
        assert method(*call.args, op_id=call.other[0]) == call.result

    @rule(call=calls, amount=st.decimals(min_value="0.01", max_value=100, places=2))
    def reuse_for_another_credit(self, call: _Call, amount: Decimal) -> None:
        if call.method == "balance":
            return
        with pytest.raises(IdempotencyConflict):
            self.wallet.credit(self.customer, amount + 5001, "XAF", op_id=call.other[0])

    @invariant()
    def money_is_conserved(self) -> None:
        free = self.wallet.balance(self.customer, "XAF")
        assert free >= 0
        assert free + sum(self.open.values()) + self.captured == self.credited


def test_money_is_conserved_under_operations_and_replays(wallet: Wallet) -> None:
    class Machine(WalletMoney):
        pass

    Machine.wallet = wallet
    run_state_machine_as_test(
        Machine,
        settings=settings(
            max_examples=20,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
