from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import InvalidInput
from domain.money import (
    CURRENCIES,
    MAX_AMOUNT,
    currency_exponent,
    floor_int,
    floor_share,
    require_currency,
)


@pytest.mark.parametrize(
    ("code", "exponent"),
    [
        ("CNY", 2),
        ("USD", 2),
        ("EUR", 2),
        ("JPY", 0),
        ("KRW", 0),
        ("VND", 0),
        ("KWD", 3),
        ("BHD", 3),
        ("TND", 3),
        ("CLF", 4),
    ],
)
def test_currency_exponents_follow_iso_4217(code: str, exponent: int) -> None:
    assert currency_exponent(code) == exponent


@pytest.mark.parametrize("code", ["XYZ", "cny", "RMB", "", "CNY ", "BTC"])
def test_an_unknown_or_non_canonical_currency_code_is_rejected(code: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        require_currency(code)
    assert caught.value.field == "currency"
    assert caught.value.code == "validation_error"


def test_currency_exponent_rejects_an_unknown_currency() -> None:
    with pytest.raises(InvalidInput):
        currency_exponent("XYZ")


def test_require_currency_returns_a_known_code_unchanged() -> None:
    assert require_currency("JPY") == "JPY"
    assert "CNY" in CURRENCIES
    assert len(CURRENCIES) > 150


@pytest.mark.parametrize(
    ("value", "floored"),
    [
        (Decimal("2.999"), 2),
        (Decimal("2"), 2),
        (Decimal("0.5"), 0),
        (Decimal("-0.5"), -1),
        (Decimal("-2"), -2),
    ],
)
def test_floor_int_rounds_towards_minus_infinity(value: Decimal, floored: int) -> None:
    assert floor_int(value) == floored


def test_floor_share_is_exact_where_floats_are_not() -> None:
    big = 10**17 + 1
    assert int(big * 3 / 3) != big  # what a float computation would give
    assert floor_share(big, 3, 3) == big
    assert floor_share(10**15 + 7, 10**15 + 1, 10**15 + 3) == 10**15 + 4
    assert floor_share(10**12 - 1, 1, 3) == 333_333_333_333


@pytest.mark.parametrize(
    ("whole", "part", "of", "share"),
    [
        (100, 1, 3, 33),
        (100, 2, 3, 66),
        (100, 3, 3, 100),
        (2000, 1000, 3000, 666),
        (2000, 2000, 3000, 1333),
        (0, 5, 7, 0),
        (7, 0, 7, 0),
    ],
)
def test_floor_share_floors_the_proportional_share(
    whole: int, part: int, of: int, share: int
) -> None:
    assert floor_share(whole, part, of) == share


@pytest.mark.parametrize("of", [0, -1])
def test_floor_share_of_nothing_is_zero(of: int) -> None:
    assert floor_share(100, 50, of) == 0


@given(
    st.integers(min_value=0, max_value=MAX_AMOUNT),
    st.integers(min_value=1, max_value=MAX_AMOUNT),
    st.data(),
)
def test_floor_share_is_monotone_and_exact_at_the_whole(
    whole: int, of: int, data: st.DataObject
) -> None:
    part = data.draw(st.integers(min_value=0, max_value=of))
    share = floor_share(whole, part, of)
    assert 0 <= share <= whole
    assert share * of <= whole * part < (share + 1) * of
    assert floor_share(whole, of, of) == whole
    if part < of:
        assert floor_share(whole, part + 1, of) >= share
