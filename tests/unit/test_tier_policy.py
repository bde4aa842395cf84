"""Tier rules with a fixed clock: immediate upgrades, downgrades only after review and grace."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from domain.errors import InvalidInput
from domain.tier_policy import (
    MemberTier,
    TierChange,
    TierChangeReason,
    TierPolicy,
    at_review,
    on_purchase,
    set_by_hand,
)
from domain.tiers import BASE_TIER, Tier, TierLadder

SILVER = Tier("silver", "Silver", 1, 200_000, Decimal("1.25"))
GOLD = Tier("gold", "Gold", 2, 1_000_000, Decimal("1.5"))
POLICY = TierPolicy(window_days=365, grace_days=30, ladder=TierLadder.of([BASE_TIER, SILVER, GOLD]))
NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "tier"),
    [(0, "member"), (199_999, "member"), (200_000, "silver"), (999_999, "silver"), (10**9, "gold")],
)
def test_the_qualifying_tier_is_the_highest_threshold_reached(value: int, tier: str) -> None:
    assert POLICY.qualifying_tier(value).code == tier


def test_a_purchase_that_reaches_a_threshold_upgrades_at_once() -> None:
    decision = on_purchase(POLICY, MemberTier("member"), 1_000_000)

    assert decision.standing == MemberTier("gold")
    assert decision.change == TierChange("member", "gold", TierChangeReason.QUALIFIED)


def test_a_purchase_never_downgrades() -> None:
    decision = on_purchase(POLICY, MemberTier("gold"), 0)

    assert decision == type(decision)(MemberTier("gold"))


def test_the_first_review_that_finds_a_member_short_only_starts_the_grace_period() -> None:
    decision = at_review(POLICY, MemberTier("gold"), 300_000, NOW)

    assert decision.standing == MemberTier("gold", short_since=NOW)
    assert decision.change is None


def test_a_member_still_short_when_grace_runs_out_drops_to_what_they_qualify_for() -> None:
    short = MemberTier("gold", short_since=NOW)

    during = at_review(POLICY, short, 300_000, NOW + timedelta(days=29, hours=23))
    after = at_review(POLICY, short, 300_000, NOW + timedelta(days=30))

    assert during.standing == short
    assert during.change is None
    assert after.standing == MemberTier("silver")
    assert after.change == TierChange("gold", "silver", TierChangeReason.REVIEW)


def test_a_member_who_qualifies_again_during_grace_keeps_the_tier_and_the_clock_resets() -> None:
    decision = at_review(POLICY, MemberTier("gold", short_since=NOW), 1_200_000, NOW)

    assert decision.standing == MemberTier("gold")
    assert decision.change is None


def test_a_review_also_upgrades_a_member_who_qualifies_higher() -> None:
    decision = at_review(POLICY, MemberTier("member"), 250_000, NOW)

    assert decision.change == TierChange("member", "silver", TierChangeReason.QUALIFIED)


def test_a_tier_set_by_hand_holds_until_its_end_date() -> None:
    decision = set_by_hand(POLICY, MemberTier("member"), "gold", NOW + timedelta(days=90))
    assert decision.change == TierChange("member", "gold", TierChangeReason.MANUAL)

    kept = at_review(POLICY, decision.standing, 0, NOW + timedelta(days=89))
    started = at_review(POLICY, decision.standing, 0, NOW + timedelta(days=91))

    assert kept.standing == decision.standing
    assert started.standing == MemberTier("gold", short_since=NOW + timedelta(days=91))


def test_setting_an_unknown_tier_by_hand_is_invalid() -> None:
    with pytest.raises(InvalidInput) as refused:
        set_by_hand(POLICY, MemberTier("member"), "platinum", None)
    assert refused.value.field == "tier_code"


def test_a_lowered_threshold_lets_the_next_purchase_upgrade() -> None:
    cheaper_gold = Tier("gold", "Gold", 2, 500_000, Decimal("1.5"))
    lowered = TierPolicy(365, 30, TierLadder.of([BASE_TIER, SILVER, cheaper_gold]), version=2)

    assert on_purchase(POLICY, MemberTier("silver"), 600_000).change is None
    assert on_purchase(lowered, MemberTier("silver"), 600_000).standing == MemberTier("gold")


@pytest.mark.parametrize(
    ("window", "grace", "field"),
    [(0, 30, "window_days"), (365, -1, "grace_days"), (365, 366, "grace_days")],
)
def test_a_policy_needs_a_window_and_a_sane_grace(window: int, grace: int, field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        TierPolicy(window, grace, POLICY.ladder)
    assert refused.value.field == field


def test_a_member_on_a_removed_tier_is_placed_where_they_qualify() -> None:
    decision = on_purchase(POLICY, MemberTier("platinum"), 0)

    assert decision.standing == MemberTier("member")
    assert decision.change == TierChange("platinum", "member", TierChangeReason.POLICY_CHANGE)


def test_without_a_grace_period_the_first_review_that_finds_a_member_short_drops_them() -> None:
    no_grace = TierPolicy(365, 0, POLICY.ladder)

    decision = at_review(no_grace, MemberTier("gold"), 300_000, NOW)

    assert decision.standing == MemberTier("silver")
    assert decision.change == TierChange("gold", "silver", TierChangeReason.REVIEW)
