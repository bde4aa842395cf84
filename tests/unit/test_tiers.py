from __future__ import annotations

from decimal import Decimal

import pytest

from domain.errors import InvalidInput
from domain.tiers import BASE_TIER, Tier, TierLadder

SILVER = Tier("silver", "Silver", rank=1, threshold=100_000, earn_multiplier=Decimal("1.2"))
GOLD = Tier("gold", "Gold", rank=2, threshold=500_000, earn_multiplier=Decimal("1.5"))


def test_a_ladder_is_ordered_by_rank_whatever_order_the_tiers_come_in() -> None:
    ladder = TierLadder.of([GOLD, BASE_TIER, SILVER])
    assert [t.code for t in ladder.tiers] == ["member", "silver", "gold"]
    assert ladder.entry_tier == BASE_TIER


def test_tiers_are_found_by_code() -> None:
    ladder = TierLadder.of([BASE_TIER, SILVER, GOLD])
    assert ladder.get("gold") == GOLD
    assert ladder.get("platinum") is None


def test_a_ladder_needs_at_least_one_tier() -> None:
    with pytest.raises(InvalidInput, match="at least one tier"):
        TierLadder.of([])


def test_tier_codes_must_be_unique() -> None:
    twin = Tier("silver", "Other silver", rank=3, threshold=900_000, earn_multiplier=Decimal(2))
    with pytest.raises(InvalidInput, match="codes must be unique"):
        TierLadder.of([BASE_TIER, SILVER, twin])


def test_tier_ranks_must_be_unique() -> None:
    same_rank = Tier("bronze", "Bronze", rank=1, threshold=50_000, earn_multiplier=Decimal(1))
    with pytest.raises(InvalidInput, match="ranks must be unique"):
        TierLadder.of([BASE_TIER, SILVER, same_rank])


def test_the_lowest_tier_must_be_open_to_everyone() -> None:
    with pytest.raises(InvalidInput, match="lowest tier must have threshold 0"):
        TierLadder.of([SILVER, GOLD])


@pytest.mark.parametrize("threshold", [100_000, 99_999])
def test_a_higher_rank_needs_a_strictly_higher_threshold(threshold: int) -> None:
    cheap_gold = Tier("gold", "Gold", rank=2, threshold=threshold, earn_multiplier=Decimal(2))
    with pytest.raises(InvalidInput, match="'gold' must have a higher threshold than 'silver'"):
        TierLadder.of([BASE_TIER, SILVER, cheap_gold])


@pytest.mark.parametrize("multiplier", [Decimal("0.99"), Decimal(0), Decimal("10.01")])
def test_an_earn_multiplier_outside_1_to_10_is_rejected(multiplier: Decimal) -> None:
    with pytest.raises(InvalidInput) as caught:
        Tier("x", "X", rank=0, threshold=0, earn_multiplier=multiplier)
    assert caught.value.field == "earn_multiplier"


@pytest.mark.parametrize("multiplier", [Decimal(1), Decimal(10)])
def test_earn_multipliers_of_1_and_10_are_allowed(multiplier: Decimal) -> None:
    assert Tier("x", "X", 0, 0, multiplier).earn_multiplier == multiplier


def test_a_negative_threshold_is_rejected() -> None:
    with pytest.raises(InvalidInput) as caught:
        Tier("x", "X", rank=0, threshold=-1, earn_multiplier=Decimal(1))
    assert caught.value.field == "threshold"


def test_a_multiplier_that_is_not_a_number_is_invalid_input() -> None:
    with pytest.raises(InvalidInput):
        Tier("x", "X", rank=0, threshold=0, earn_multiplier=Decimal("NaN"))
