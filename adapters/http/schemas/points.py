from __future__ import annotations

from typing import Annotated
from uuid import UUID

from msgspec import Meta

from adapters.http.schemas.common import BalancesOut, Input, Output
from domain.points import MAX_ADJUSTMENT, MAX_REASON_LENGTH


class AdjustmentIn(Input, kw_only=True):
    points: Annotated[
        int,
        Meta(
            ge=-MAX_ADJUSTMENT,
            le=MAX_ADJUSTMENT,
            description="positive credits, negative debits (never below the available balance)",
        ),
    ]
    reason: Annotated[str, Meta(min_length=1, max_length=MAX_REASON_LENGTH)]


class AdjustmentOut(Output, kw_only=True):
    adjustment_id: UUID
    member_id: UUID
    points: int
    reason: str
    balance: BalancesOut
