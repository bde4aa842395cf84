from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

import msgspec
from msgspec import UNSET, Meta, UnsetType

from adapters.http.schemas.common import Input, Output
from app.use_cases.tiers import MyTier, ProposedPolicy
from domain.errors import InvalidInput
from domain.money import MAX_AMOUNT
from domain.tier_policy import TierPolicy
from domain.tiers import Tier, TierLadder

TierCode = Annotated[
    str, Meta(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
]


class TierIo(Input, kw_only=True):
    code: TierCode
    name: Annotated[str, Meta(min_length=1, max_length=100)]
    rank: Annotated[int, Meta(ge=0, le=1000)]
    threshold: Annotated[
        int, Meta(ge=0, le=MAX_AMOUNT, description="qualifying spend, minor units")
    ]
    earn_multiplier: Annotated[Decimal, Meta(description="1 to 10, up to 3 decimal places")]

    @classmethod
    def of(cls, tier: Tier) -> TierIo:
        return cls(
            code=tier.code,
            name=tier.name,
            rank=tier.rank,
            threshold=tier.threshold,
            earn_multiplier=tier.earn_multiplier,
        )


class TierPolicyIn(Input, kw_only=True):
    """The whole policy: what GET answers can be sent back as it is."""

    version: (
        Annotated[
            int,
            Meta(
                ge=1,
                le=10**18,
                description="the version this change is based on, as GET gave it; 409 "
                "`tier_policy_changed` if another was saved since. Omitted: no check",
            ),
        ]
        | None
    ) = None
    window_days: Annotated[int, Meta(description="the rolling window, 1-3660 days")]
    grace_days: Annotated[int, Meta(description="0-365 days after the first short review")]
    tiers: Annotated[list[TierIo], Meta(min_length=1, max_length=100)]

    def to_proposed(self) -> ProposedPolicy:
        tiers = []
        for i, t in enumerate(self.tiers):
            try:
                tiers.append(Tier(t.code, t.name, t.rank, t.threshold, t.earn_multiplier))
            except InvalidInput as error:
                raise InvalidInput(error.detail, field=f"tiers[{i}].{error.field}") from None
        ladder = TierLadder.of(tiers)
        # Checked here too so that a bad window is refused before anything is read.
        TierPolicy(self.window_days, self.grace_days, ladder)
        return ProposedPolicy(self.window_days, self.grace_days, ladder)


class TierPolicyPatch(Input, kw_only=True):
    """A JSON merge patch (RFC 7396) of the policy: only the members it names change. `tiers`,
    an array, is replaced whole when given; none of the members may be null."""

    version: Annotated[int, Meta(ge=1, le=10**18)] | UnsetType = UNSET
    window_days: int | UnsetType = UNSET
    grace_days: int | UnsetType = UNSET
    tiers: Annotated[list[TierIo], Meta(min_length=1, max_length=100)] | UnsetType = UNSET

    def changes(self) -> dict[str, object]:
        patch: dict[str, object] = msgspec.to_builtins(self)
        patch.pop("version", None)
        return patch


class TierPolicyOut(Output, kw_only=True):
    version: int
    window_days: int
    grace_days: int
    tiers: list[TierIo]

    @classmethod
    def of(cls, policy: TierPolicy) -> TierPolicyOut:
        return cls(
            version=policy.version,
            window_days=policy.window_days,
            grace_days=policy.grace_days,
            tiers=[TierIo.of(t) for t in policy.ladder.tiers],
        )


class CurrentTierOut(Output, kw_only=True):
    code: str
    name: str


class NextTierOut(Output, kw_only=True):
    code: str
    name: str
    threshold: int


class MyTierOut(Output, kw_only=True):
    current: CurrentTierOut
    next: NextTierOut | None
    qualifying_value: Annotated[int, Meta(description="spend in the window, minor units")]
    remaining: Annotated[int | None, Meta(description="still needed for next; null at the top")]
    window_days: int
    drops_out_on: Annotated[
        date | None,
        Meta(description="when the oldest purchase in the window leaves it (programme zone)"),
    ]

    @classmethod
    def of(cls, mine: MyTier) -> MyTierOut:
        return cls(
            current=CurrentTierOut(code=mine.current.code, name=mine.current.name),
            next=(
                NextTierOut(code=mine.next.code, name=mine.next.name, threshold=mine.next.threshold)
                if mine.next
                else None
            ),
            qualifying_value=mine.qualifying_value,
            remaining=mine.remaining,
            window_days=mine.window_days,
            drops_out_on=mine.drops_out_on,
        )
