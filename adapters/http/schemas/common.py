from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from msgspec import Meta

from app.use_cases.views import Balances, TierView
from domain.money import MAX_AMOUNT

MAX_POINTS = 10**12

Money = Annotated[int, Meta(ge=0, le=MAX_AMOUNT, description="minor units of the currency")]
PositiveMoney = Annotated[int, Meta(ge=1, le=MAX_AMOUNT, description="minor units")]
Points = Annotated[int, Meta(ge=0, le=MAX_POINTS)]
SignedPoints = Annotated[int, Meta(ge=-MAX_POINTS, le=MAX_POINTS)]
Code = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")]
Timestamp = Annotated[datetime, Meta(tz=True, description="RFC 3339 with offset")]


class Input(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Request bodies: unknown fields are an error, not silently dropped."""


class Output(msgspec.Struct, kw_only=True):
    pass


class TierOut(Output, kw_only=True):
    code: str
    name: str

    @classmethod
    def of(cls, tier: TierView) -> TierOut:
        return cls(code=tier.code, name=tier.name)


class BalancesOut(Output, kw_only=True):
    available: int
    pending: int

    @classmethod
    def of(cls, balances: Balances) -> BalancesOut:
        return cls(available=balances.available, pending=balances.pending)


class CouponOut(Output, kw_only=True):
    code: str
    title: str
    kind: str
    value: int
    min_spend: int
    expires_at: datetime | None


class Page(Output, kw_only=True):
    next_cursor: str | None
