"""The follow-up call list and recording a call."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from app.unit_of_work import UnitOfWork
from domain.follow_ups import FollowUpListing, FollowUpNotFound, FollowUpStatus
from domain.ports import Clock
from domain.repositories import AuditRecord


@dataclass(frozen=True, slots=True)
class RecordCall:
    follow_up_id: int
    status: FollowUpStatus
    satisfaction: int | None
    outcome: str | None
    actor: str


@dataclass(frozen=True, slots=True)
class FollowUpPage:
    items: Sequence[FollowUpListing]
    next_after_id: int | None


async def list_follow_ups(
    uow: UnitOfWork,
    *,
    status: FollowUpStatus | None,
    due_by: date | None,
    after_id: int | None,
    limit: int,
) -> FollowUpPage:
    items = await uow.follow_ups.page(
        status=status, due_by=due_by, after_id=after_id, limit=limit + 1
    )
    more = len(items) > limit
    items = items[:limit]
    return FollowUpPage(items, items[-1].follow_up.id if more else None)


async def record_call(cmd: RecordCall, uow: UnitOfWork, *, clock: Clock) -> FollowUpListing:
    follow_up = await uow.follow_ups.get_for_update(cmd.follow_up_id)
    if follow_up is None:
        raise FollowUpNotFound()
    follow_up.record_call(
        cmd.status,
        satisfaction=cmd.satisfaction,
        outcome=cmd.outcome,
        actor=cmd.actor,
        at=clock.now(),
    )
    await uow.follow_ups.save(follow_up)
    await uow.audit.record(
        AuditRecord(
            cmd.actor,
            "follow_up.called",
            f"follow_up:{follow_up.id}",
            {"status": follow_up.status.value, "satisfaction": follow_up.satisfaction},
        )
    )
    listing = await uow.follow_ups.listing(follow_up.id)
    assert listing is not None
    return listing
