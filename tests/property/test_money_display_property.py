"""Amounts shown in their currency's units: each line within a unit of what it was, and the
lines still summing to their total shown the same way."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from vtc_dispatch.pricing.money import CURRENCY_MINOR_UNITS, in_currency, lines_in_currency

currencies = st.sampled_from(sorted(CURRENCY_MINOR_UNITS))
amounts = st.decimals(
    min_value=Decimal("-1000000"), max_value=Decimal("1000000"), places=5, allow_nan=False
)


@given(st.lists(amounts, max_size=12), currencies)
def test_lines_keep_their_sum_and_move_by_less_than_a_unit(
    lines: list[Decimal], currency: str
) -> None:
    unit = Decimal(1).scaleb(-CURRENCY_MINOR_UNITS[currency])
    shown = lines_in_currency(lines, currency)
    assert sum(shown, Decimal(0)) == in_currency(sum(lines, Decimal(0)), currency)
    for before, after in zip(lines, shown, strict=True):
        assert after == after.quantize(unit)
        assert abs(after - before) < unit
        # Written with exactly the currency's decimals ("1750", "12.50").
        assert after.as_tuple().exponent == -CURRENCY_MINOR_UNITS[currency]


@given(amounts, currencies)
def test_an_amount_in_its_currency_is_within_half_a_unit(amount: Decimal, currency: str) -> None:
    unit = Decimal(1).scaleb(-CURRENCY_MINOR_UNITS[currency])
    shown = in_currency(amount, currency)
    assert abs(shown - amount) <= unit / 2
    assert in_currency(shown, currency) == shown
