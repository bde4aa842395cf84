from __future__ import annotations

from datetime import datetime
from uuid import UUID

from adapters.http.schemas.common import BalancesOut, Output, Page, TierOut
from domain.points import LedgerEntry


class ExpiringOut(Output, kw_only=True):
    points: int
    expires_at: datetime


class MyPointsOut(BalancesOut, kw_only=True):
    expiring: list[ExpiringOut]


class MeOut(Output, kw_only=True):
    member_id: UUID
    name: str | None
    card_number: str
    tier: TierOut
    points: MyPointsOut


class LedgerEntryOut(Output, kw_only=True):
    id: int
    type: str
    points: int
    reference: str
    created_at: datetime
    expires_at: datetime | None = None

    @classmethod
    def of(cls, entry: LedgerEntry) -> LedgerEntryOut:
        return cls(
            id=entry.id or 0,
            type=entry.type.value,
            points=entry.points,
            reference=str(entry.reference),
            created_at=entry.created_at,
            expires_at=entry.expires_at,
        )


class LedgerPageOut(Page, kw_only=True):
    items: list[LedgerEntryOut]
