"""What a member sees of their own account in the app."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Protocol
from uuid import UUID

from app.read_models import EntrySource, Expiring, LedgerSources, MemberReads
from app.unit_of_work import WithPoints
from app.use_cases.erased_members import ErasedMembersUnit, own_account
from app.use_cases.views import Balances, TierView
from domain.members import ConsentChannel
from domain.points import LedgerEntry, Reference
from domain.ports import Clock


class MeUnit(ErasedMembersUnit, WithPoints, Protocol):
    """What these use cases use of the unit of work (any ``UnitOfWork`` has it)."""


# The app warns about points expiring within this window.
EXPIRING_WINDOW = timedelta(days=30)


@dataclass(frozen=True, slots=True)
class MyAccount:
    member_id: UUID
    name: str | None
    card_number: str
    tier: TierView
    points: Balances
    expiring: Sequence[Expiring]
    email: str | None = None
    birthday: date | None = None
    preferred_language: str | None = None
    consents: frozenset[ConsentChannel] = frozenset()


async def my_account(member_id: UUID, reads: MemberReads, *, clock: Clock) -> MyAccount:
    now = clock.now()
    found = await reads.in_app(member_id, now=now, until=now + EXPIRING_WINDOW)
    # The read this route makes anyway tells whether the member was erased: no extra query.
    own_account(found.member if found else None)
    assert found is not None
    return MyAccount(
        member_id=found.member.id,
        name=found.member.name,
        card_number=found.member.card_number,
        tier=found.tier,
        points=found.points.balances(),
        expiring=found.expiring,
        email=found.member.email,
        birthday=found.member.birthday,
        preferred_language=found.member.preferred_language,
        consents=found.member.consents,
    )


@dataclass(frozen=True, slots=True)
class LedgerPage:
    entries: Sequence[LedgerEntry]
    next_before_id: int | None
    # The sale behind each entry that has one (receipt, store, channel).
    sources: dict[Reference, EntrySource] = field(default_factory=dict)


async def my_ledger(
    member_id: UUID,
    uow: MeUnit,
    *,
    before_id: int | None,
    limit: int,
    sources: LedgerSources | None = None,
) -> LedgerPage:
    own_account(await uow.members.get(member_id))
    rows = await uow.points.entries(member_id, before_id=before_id, limit=limit + 1)
    page = list(rows[:limit])
    next_before = page[-1].id if len(rows) > limit and page else None
    found = await sources.of([e.reference for e in page]) if sources and page else {}
    return LedgerPage(entries=page, next_before_id=next_before, sources=found)
