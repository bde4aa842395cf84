"""Membership tiers: ranked levels with an earning multiplier.

The full tier policy (rolling window, upgrades, reviews with grace) builds on this; here a tier
is what a member carries and what scales their earning.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from itertools import pairwise

from domain.errors import InvalidInput
from domain.money import require_decimal

MULTIPLIER_PLACES = 3  # NUMERIC(6, 3) in the database
MAX_RANK = 1000


@dataclass(frozen=True, slots=True)
class Tier:
    code: str
    name: str
    rank: int
    threshold: int  # qualifying spend in minor units
    earn_multiplier: Decimal

    def __post_init__(self) -> None:
        require_decimal(self.earn_multiplier, "earn_multiplier", places=MULTIPLIER_PLACES)
        if not 0 <= self.rank <= MAX_RANK:
            raise InvalidInput(f"tier {self.code!r}: rank must be 0-{MAX_RANK}", field="rank")
        if not Decimal(1) <= self.earn_multiplier <= Decimal(10):
            raise InvalidInput(
                f"tier {self.code!r}: earn_multiplier must be between 1 and 10",
                field="earn_multiplier",
            )
        if self.threshold < 0:
            raise InvalidInput(f"tier {self.code!r}: threshold must be >= 0", field="threshold")


@dataclass(frozen=True, slots=True)
class TierLadder:
    tiers: tuple[Tier, ...]

    @classmethod
    def of(cls, tiers: Iterable[Tier]) -> TierLadder:
        ordered = tuple(sorted(tiers, key=lambda t: t.rank))
        if not ordered:
            raise InvalidInput("at least one tier is required", field="tiers")
        if len({t.code for t in ordered}) != len(ordered):
            raise InvalidInput("tier codes must be unique", field="tiers")
        if len({t.rank for t in ordered}) != len(ordered):
            raise InvalidInput("tier ranks must be unique", field="tiers")
        if ordered[0].threshold != 0:
            raise InvalidInput("the lowest tier must have threshold 0", field="tiers")
        for lower, higher in pairwise(ordered):
            if higher.threshold <= lower.threshold:
                raise InvalidInput(
                    f"tier {higher.code!r} must have a higher threshold than {lower.code!r}",
                    field="tiers",
                )
        return cls(ordered)

    @property
    def entry_tier(self) -> Tier:
        return self.tiers[0]

    def get(self, code: str) -> Tier | None:
        return next((t for t in self.tiers if t.code == code), None)


BASE_TIER = Tier(code="member", name="Member", rank=0, threshold=0, earn_multiplier=Decimal(1))
