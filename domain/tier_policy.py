"""The tier policy: who holds which tier, decided on rolling spend.

- The qualifying value is what the member paid (sales and online orders, net of refunds) over
  the last ``window_days`` days.
- Upgrades are immediate: the sale that makes a member qualify moves them up (it earns at the
  old multiplier; the next sale at the new one).
- Downgrades happen only at a review: a member found short keeps the tier until ``grace_days``
  after the first review that found them short, then drops to the highest tier they qualify
  for. A refund therefore never downgrades anyone on the spot.
- A tier set by hand holds until its end date: reviews do not take it away before then.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from domain.errors import InvalidInput
from domain.tiers import Tier, TierLadder

MAX_WINDOW_DAYS = 3660
MAX_GRACE_DAYS = 365


class TierChangeReason(StrEnum):
    QUALIFIED = "qualified"
    REVIEW = "review"
    MANUAL = "manual"
    POLICY_CHANGE = "policy_change"


@dataclass(frozen=True, slots=True)
class TierPolicy:
    window_days: int
    grace_days: int
    ladder: TierLadder
    version: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.window_days <= MAX_WINDOW_DAYS:
            raise InvalidInput(
                f"window_days must be between 1 and {MAX_WINDOW_DAYS}", field="window_days"
            )
        if not 0 <= self.grace_days <= MAX_GRACE_DAYS:
            raise InvalidInput(
                f"grace_days must be between 0 and {MAX_GRACE_DAYS}", field="grace_days"
            )

    def window_start(self, now: datetime) -> datetime:
        return now - timedelta(days=self.window_days)

    def qualifying_tier(self, qualifying_value: int) -> Tier:
        """The highest tier whose threshold the value reaches (the lowest has threshold 0)."""
        reached = [t for t in self.ladder.tiers if t.threshold <= qualifying_value]
        return reached[-1] if reached else self.ladder.entry_tier

    def next_tier(self, current: Tier) -> Tier | None:
        higher = [t for t in self.ladder.tiers if t.rank > current.rank]
        return higher[0] if higher else None


@dataclass(frozen=True, slots=True)
class MemberTier:
    """A member's standing: their tier, and the state a review needs."""

    tier_code: str
    short_since: datetime | None = None  # first review that found them below their tier
    manual_until: datetime | None = None  # a tier set by hand holds until then


@dataclass(frozen=True, slots=True)
class TierChange:
    from_code: str
    to_code: str
    reason: TierChangeReason


@dataclass(frozen=True, slots=True)
class Decision:
    standing: MemberTier
    change: TierChange | None = None


def on_purchase(policy: TierPolicy, standing: MemberTier, qualifying_value: int) -> Decision:
    """After a sale: move up at once if the member now qualifies for a higher tier."""
    current = _current(policy, standing)
    qualified = policy.qualifying_tier(qualifying_value)
    if policy.ladder.get(standing.tier_code) is None:
        # Their tier was removed by a policy change: they belong where they qualify now.
        return Decision(
            MemberTier(qualified.code, None, standing.manual_until),
            TierChange(standing.tier_code, qualified.code, TierChangeReason.POLICY_CHANGE),
        )
    if qualified.rank <= current.rank:
        return Decision(standing)
    return Decision(
        MemberTier(qualified.code, short_since=None, manual_until=standing.manual_until),
        TierChange(current.code, qualified.code, TierChangeReason.QUALIFIED),
    )


def at_review(
    policy: TierPolicy, standing: MemberTier, qualifying_value: int, now: datetime
) -> Decision:
    """A periodic review: up if qualified, down only once the grace period has run out."""
    current = _current(policy, standing)
    qualified = policy.qualifying_tier(qualifying_value)
    if qualified.rank >= current.rank:
        moved = on_purchase(policy, standing, qualifying_value)
        if moved.change is None and standing.short_since is not None:
            return Decision(MemberTier(current.code, None, standing.manual_until))
        return moved
    if standing.manual_until is not None and now < standing.manual_until:
        return Decision(standing)
    short_since = standing.short_since or now
    if now < short_since + timedelta(days=policy.grace_days):
        if standing.short_since is None:
            return Decision(MemberTier(current.code, now, None))
        return Decision(standing)
    return Decision(
        MemberTier(qualified.code),
        TierChange(current.code, qualified.code, TierChangeReason.REVIEW),
    )


def set_by_hand(
    policy: TierPolicy, standing: MemberTier, tier_code: str, until: datetime | None
) -> Decision:
    tier = policy.ladder.get(tier_code)
    if tier is None:
        raise InvalidInput(f"there is no tier {tier_code!r}", field="tier_code")
    current = _current(policy, standing)
    change = (
        TierChange(current.code, tier.code, TierChangeReason.MANUAL)
        if tier.code != current.code
        else None
    )
    return Decision(MemberTier(tier.code, None, until), change)


def _current(policy: TierPolicy, standing: MemberTier) -> Tier:
    # A tier removed by a policy change counts as the entry tier until the member is moved.
    return policy.ladder.get(standing.tier_code) or policy.ladder.entry_tier
