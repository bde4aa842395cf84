"""Batch jobs on the points ledger that go through the domain.

The expiry job is set-based SQL (an adapter, ``adapters.persistence.points_expiry``): it
writes exactly what ``PointsAccount.expire`` would, for millions of lots. Releasing pending
points is rarer and has more rules (debt is paid first), so it goes through the domain, one
member per transaction, under the account's row lock like every other writer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol
from uuid import UUID

from app.unit_of_work import UnitOfWorkFactory
from app.use_cases.announcements import save_announced
from domain.points import Lot
from domain.ports import Clock

RELEASE_BATCH_SIZE = 1000


class ReleasableLots(Protocol):
    """Finds the members who hold pending lots due for release (a read model, no locks)."""

    async def members_due(self, now: datetime, *, after: UUID | None, limit: int) -> Sequence[UUID]:
        """Up to ``limit`` member ids above ``after``, ascending, with a lot due by ``now``."""
        ...


@dataclass(frozen=True, slots=True)
class ReleaseFailure:
    member_id: UUID
    error: str


@dataclass(frozen=True, slots=True)
class ReleaseReport:
    lots: int = 0  # pending lots released (one that a refund emptied counts, with 0 points)
    points: int = 0  # points that entered the ledger as earned
    debt_paid: int = 0  # of those, points that paid off a debt instead of becoming available
    members: int = 0
    batches: int = 0
    failed: tuple[ReleaseFailure, ...] = field(default=())  # rolled back; retried next run


def _due(lot: Lot, now: datetime) -> bool:
    # A frozen (disputed) lot waits for its dispute to close.
    return lot.pending and not lot.frozen and lot.release_at is not None and lot.release_at <= now


async def release_member(
    member_id: UUID, uow_factory: UnitOfWorkFactory, *, now: datetime
) -> tuple[int, int, int]:
    """Releases one member's due pending lots; returns (lots, points, debt paid)."""
    async with uow_factory() as uow:
        account = await uow.points.get_for_update(member_id)
        due = [lot for lot in account.lots if _due(lot, now)]
        if not due:
            return (0, 0, 0)
        debt_before = account.debt
        points = 0
        for lot in due:
            points += lot.remaining
            account.release(lot, now=now)
        await save_announced(uow, account)
        await uow.commit()
        return (len(due), points, debt_before - account.debt)


async def release_pending(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    releasable: ReleasableLots,
    *,
    batch_size: int = RELEASE_BATCH_SIZE,
) -> ReleaseReport:
    """Pending lots whose release time has come enter the ledger as ``earn`` entries.

    Per member: lock the account, release each due lot through the domain (which pays any
    debt first), save, commit. A member that fails is rolled back, reported and retried by
    the next run; the others go on. Members are visited in id order, each at most once.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    now = clock.now()
    lots = points = debt_paid = members = batches = 0
    failed: list[ReleaseFailure] = []
    after: UUID | None = None
    while True:
        due_members = await releasable.members_due(now, after=after, limit=batch_size)
        if not due_members:
            break
        batches += 1
        for member_id in due_members:
            try:
                released, credited, paid = await release_member(member_id, uow_factory, now=now)
            except Exception as error:  # one member's problem must not stop the others
                failed.append(ReleaseFailure(member_id, f"{type(error).__name__}: {error}"))
                continue
            if released:
                lots += released
                points += credited
                debt_paid += paid
                members += 1
        after = due_members[-1]
    return ReleaseReport(
        lots=lots,
        points=points,
        debt_paid=debt_paid,
        members=members,
        batches=batches,
        failed=tuple(failed),
    )
