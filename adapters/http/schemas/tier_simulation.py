"""POST /v1/admin/tiers/simulate: a proposed tier policy in, its effect on today's members out."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from msgspec import Meta

from adapters.http.schemas.common import Input, Money, Output
from app.reports import TierSimulation
from domain.tier_policy import TierPolicy
from domain.tiers import Tier, TierLadder

TierCode = Annotated[
    str, Meta(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
]


class ProposedTierIn(Input, kw_only=True):
    code: TierCode
    name: Annotated[str, Meta(min_length=1, max_length=100)]
    rank: Annotated[int, Meta(ge=0, le=1000)]
    threshold: Annotated[Money, Meta(description="qualifying spend in minor units")]
    earn_multiplier: Annotated[Decimal, Meta(description="between 1 and 10, 3 decimal places")]


class TierSimulationIn(Input, kw_only=True):
    window_days: Annotated[int, Meta(ge=1, le=3660)]
    grace_days: Annotated[int, Meta(ge=0, le=365)]
    tiers: Annotated[list[ProposedTierIn], Meta(min_length=1, max_length=100)]

    def to_policy(self) -> TierPolicy:
        """The domain's validation (unique codes and ranks, rising thresholds, ...): 422s."""
        ladder = TierLadder.of(
            Tier(
                code=t.code,
                name=t.name,
                rank=t.rank,
                threshold=t.threshold,
                earn_multiplier=t.earn_multiplier,
            )
            for t in self.tiers
        )
        return TierPolicy(window_days=self.window_days, grace_days=self.grace_days, ladder=ladder)


class SimulatedTierOut(Output, kw_only=True):
    code: str
    name: str
    rank: int
    threshold: int
    earn_multiplier: Decimal
    members: Annotated[int, Meta(description="members whose window spend qualifies for it")]


class PointsPerMonthOut(Output, kw_only=True):
    current: Annotated[int, Meta(description="at each member's current tier multiplier")]
    proposed: Annotated[int, Meta(description="at the proposed tier's multiplier")]
    change: Annotated[int, Meta(description="proposed - current")]


class TierSimulationOut(Output, kw_only=True):
    as_of: datetime
    window_days: int
    grace_days: int
    members: int
    tiers: list[SimulatedTierOut]
    moving_up: Annotated[int, Meta(description="members the proposal ranks above their tier")]
    moving_down: Annotated[int, Meta(description="members the proposal ranks below their tier")]
    points_per_month: PointsPerMonthOut

    @classmethod
    def of(
        cls, policy: TierPolicy, result: TierSimulation, *, as_of: datetime
    ) -> TierSimulationOut:
        return cls(
            as_of=as_of,
            window_days=policy.window_days,
            grace_days=policy.grace_days,
            members=result.members,
            tiers=[
                SimulatedTierOut(
                    code=t.code,
                    name=t.name,
                    rank=t.rank,
                    threshold=t.threshold,
                    earn_multiplier=t.earn_multiplier,
                    members=result.per_tier.get(t.code, 0),
                )
                for t in policy.ladder.tiers
            ],
            moving_up=result.moving_up,
            moving_down=result.moving_down,
            points_per_month=PointsPerMonthOut(
                current=result.current_points_per_month,
                proposed=result.proposed_points_per_month,
                change=result.points_per_month_change,
            ),
        )
