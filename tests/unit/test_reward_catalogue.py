"""The catalogue's rules in the pure domain: what a reward offers, and who can redeem it when."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from domain.errors import InsufficientPoints, InvalidInput, RewardNotRedeemable
from domain.guest_claims import claim_window_open
from domain.reward_catalogue import (
    CatalogueReward,
    CatalogueRewardKind,
    RewardOffer,
    Unavailable,
)

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


def reward(**changes: object) -> CatalogueReward:
    fields: dict[str, object] = {
        "name": "Tote bag",
        "kind": CatalogueRewardKind.ITEM,
        "points_cost": 300,
        "stock": 2,
        "per_member_limit": 1,
        "available_from": NOW - timedelta(days=1),
        "available_until": NOW + timedelta(days=1),
        "tiers": frozenset({"gold"}),
    }
    fields.update(changes)
    return CatalogueReward(UUID(int=1), RewardOffer(**fields), NOW, NOW)  # type: ignore[arg-type]


def why(
    r: CatalogueReward,
    *,
    at: datetime = NOW,
    tier: str = "gold",
    holds: int = 0,
    spendable: int = 300,
) -> Unavailable | None:
    return r.why_not(now=at, tier_code=tier, member_holds=holds, spendable=spendable)


def test_a_reward_is_redeemable_when_every_condition_holds() -> None:
    assert why(reward()) is None


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"at": NOW - timedelta(days=2)}, Unavailable.NOT_YET_AVAILABLE),
        ({"at": NOW + timedelta(days=1)}, Unavailable.NO_LONGER_AVAILABLE),  # until: exclusive
        ({"tier": "member"}, Unavailable.TIER_NOT_ELIGIBLE),
        ({"holds": 1}, Unavailable.MEMBER_LIMIT_REACHED),
        ({"spendable": 299}, Unavailable.INSUFFICIENT_POINTS),
    ],
)
def test_each_condition_refuses_with_its_own_reason(kwargs: dict, reason: Unavailable) -> None:  # type: ignore[type-arg]
    assert why(reward(), **kwargs) is reason


def test_the_first_failing_condition_is_the_answer_in_the_documented_order() -> None:
    r = reward(stock=0)
    r.retire(now=NOW)
    assert why(r, tier="member", holds=5, spendable=0) is Unavailable.RETIRED
    assert why(reward(stock=0), holds=5, spendable=0) is Unavailable.OUT_OF_STOCK


def test_taking_one_counts_against_the_stock_until_it_runs_out() -> None:
    r = reward(per_member_limit=None)
    r.take_one(now=NOW, tier_code="gold", member_holds=0, spendable=300)
    r.take_one(now=NOW, tier_code="gold", member_holds=1, spendable=300)
    assert r.stock_left == 0
    with pytest.raises(RewardNotRedeemable) as refused:
        r.take_one(now=NOW, tier_code="gold", member_holds=2, spendable=300)
    assert refused.value.reason == "out_of_stock"
    r.give_back_one()
    assert r.stock_left == 1


def test_too_few_points_is_insufficient_points() -> None:
    with pytest.raises(InsufficientPoints):
        reward().take_one(now=NOW, tier_code="gold", member_holds=0, spendable=10)


def test_no_stock_limit_and_no_tiers_mean_anyone_any_number() -> None:
    r = reward(stock=None, tiers=frozenset(), per_member_limit=None)
    assert r.stock_left is None
    assert why(r, tier="member", holds=1000) is None


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"points_cost": 0}, "points_cost"),
        ({"cash_price": -1}, "cash_price"),
        ({"name": "  "}, "name"),
        ({"stock": -1}, "stock"),
        ({"per_member_limit": 0}, "per_member_limit"),
        ({"available_until": NOW - timedelta(days=1)}, "available_until"),
        ({"kind": CatalogueRewardKind.COUPON}, "coupon_template_id"),
        ({"coupon_template_id": UUID(int=9)}, "coupon_template_id"),
        ({"available_from": datetime(2026, 1, 1)}, "available_from"),
    ],
)
def test_an_invalid_offer_names_the_field(changes: dict, field: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(InvalidInput) as invalid:
        reward(**changes)
    assert invalid.value.field == field


def test_a_revision_keeps_the_kind_and_cannot_drop_the_stock_below_what_is_redeemed() -> None:
    r = reward(per_member_limit=None)
    r.take_one(now=NOW, tier_code="gold", member_holds=0, spendable=300)
    with pytest.raises(InvalidInput):
        r.revise(reward(stock=0).offer, now=NOW)
    r.revise(reward(stock=1, points_cost=250).offer, now=NOW)
    assert (r.version, r.offer.points_cost, r.stock_left) == (2, 250, 0)


def test_a_guest_sale_can_be_claimed_up_to_the_configured_days_after_it() -> None:
    assert claim_window_open(NOW, NOW + timedelta(days=30), 30)
    assert not claim_window_open(NOW, NOW + timedelta(days=30, seconds=1), 30)
    assert not claim_window_open(NOW, NOW, 0)
