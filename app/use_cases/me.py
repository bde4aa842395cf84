"""What a member sees of their own account in the app."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from app.unit_of_work import UnitOfWork
from app.use_cases.views import Balances, TierView, tier_of
from domain.errors import MemberNotFound
from domain.points import LedgerEntry
from domain.ports import Clock

# The app warns about points expiring within this window.
EXPIRING_WINDOW = timedelta(days=30)


@dataclass(frozen=True, slots=True)
class Expiring:
    points: int
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class MyAccount:
    member_id: UUID
    name: str | None
    card_number: str
    tier: TierView
    points: Balances
    expiring: Sequence[Expiring]


async def my_account(member_id: UUID, uow: UnitOfWork, *, clock: Clock) -> MyAccount:
    member = await uow.members.get(member_id)
    if member is None:
        raise MemberNotFound()
    tier = await tier_of(uow, member)
    account = await uow.points.get(member_id)
    now = clock.now()
    # Expiries fall at the end of a day, so grouping by instant is grouping by date.
    by_instant: dict[datetime, int] = {}
    for lot in account.expiring(now, now + EXPIRING_WINDOW):
        assert lot.expires_at is not None
        by_instant[lot.expires_at] = by_instant.get(lot.expires_at, 0) + lot.remaining
    return MyAccount(
        member_id=member.id,
        name=member.name,
        card_number=member.card_number,
        tier=TierView(tier.code, tier.name),
        points=Balances.of(account),
        expiring=[Expiring(points, at) for at, points in sorted(by_instant.items())],
    )


@dataclass(frozen=True, slots=True)
class LedgerPage:
    entries: Sequence[LedgerEntry]
    next_before_id: int | None


async def my_ledger(
    member_id: UUID, uow: UnitOfWork, *, before_id: int | None, limit: int
) -> LedgerPage:
    if await uow.members.get(member_id) is None:
        raise MemberNotFound()
    rows = await uow.points.entries(member_id, before_id=before_id, limit=limit + 1)
    page = list(rows[:limit])
    next_before = page[-1].id if len(rows) > limit and page else None
    return LedgerPage(entries=page, next_before_id=next_before)
