"""Follow-up calls in PostgreSQL: the set-based scheduling job and the repository.

Scheduling: every member sale made on a local day ``follow_up_days`` before today, or in the
six days before that (so a job that missed a few days catches up), gets one follow-up,
due today; UNIQUE (sale_id) keeps it to one per sale however often the job runs. Imported
history is never scheduled: nobody calls about a purchase from years ago. A sale refunded in
full is not worth a satisfaction call either.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import asyncpg

from adapters.persistence.repositories.member_privacy import not_erased
from adapters.persistence.tables import FollowUpRow
from app.batch_jobs import FollowUpsScheduled
from domain.follow_ups import FollowUp, FollowUpListing, FollowUpStatus

CATCH_UP_DAYS = 6

# $1 zone, $2 today, $3 follow_up_days, $4 now, $5 catch-up days. Nobody is called about
# the purchase of a member whose data was erased.
_SCHEDULE = f"""
WITH due AS (
    SELECT s.id, s.member_id FROM sales s
    JOIN members m ON m.id = s.member_id AND {not_erased("m.phone")}
    WHERE s.member_id IS NOT NULL AND s.imported_from IS NULL
      AND s.refunded_amount < s.payable
      AND s.occurred_at >= (($2::date - $3::int - $5::int)::timestamp AT TIME ZONE $1)
      AND s.occurred_at < (($2::date - $3::int + 1)::timestamp AT TIME ZONE $1)
),
added AS (
    INSERT INTO follow_ups (member_id, sale_id, due_on, status, created_at)
    SELECT member_id, id, $2::date, 'pending', $4 FROM due
    ON CONFLICT (sale_id) DO NOTHING
    RETURNING 1
)
SELECT count(*) FROM added
"""  # noqa: S608 (not_erased is a constant condition, not input)


async def schedule_follow_ups(
    connection: asyncpg.Connection, *, zone: str, today: date, days: int, now: datetime
) -> FollowUpsScheduled:
    scheduled = await connection.fetchval(_SCHEDULE, zone, today, days, now, CATCH_UP_DAYS)
    return FollowUpsScheduled(today, scheduled)


async def schedule_due_follow_ups(
    connection: asyncpg.Connection, now: datetime
) -> FollowUpsScheduled:
    """With the programme's time zone and follow-up delay."""
    program = await connection.fetchrow(
        "SELECT time_zone, crm_follow_up_days FROM program_settings WHERE id = 1"
    )
    today = now.astimezone(ZoneInfo(program["time_zone"])).date()
    return await schedule_follow_ups(
        connection, zone=program["time_zone"], today=today, days=program["crm_follow_up_days"],
        now=now,
    )  # fmt: skip


_LISTING = """
SELECT f.*, s.receipt_id, s.occurred_at, s.payable
FROM follow_ups f JOIN sales s ON s.id = f.sale_id
"""


def _follow_up(row: Any) -> FollowUp:
    return FollowUp(
        id=row["id"],
        member_id=row["member_id"],
        sale_id=row["sale_id"],
        due_on=row["due_on"],
        status=FollowUpStatus(row["status"]),
        satisfaction=row["satisfaction"],
        outcome=row["outcome"],
        called_at=row["called_at"],
        called_by=row["called_by"],
    )


def _listing(row: Any) -> FollowUpListing:
    return FollowUpListing(_follow_up(row), row["receipt_id"], row["occurred_at"], row["payable"])


class PostgresFollowUpRepository:
    async def get_for_update(self, follow_up_id: int) -> FollowUp | None:
        rows = await FollowUpRow.raw(
            "SELECT * FROM follow_ups WHERE id = {} FOR UPDATE", follow_up_id
        )
        return _follow_up(rows[0]) if rows else None

    async def save(self, follow_up: FollowUp) -> None:
        await FollowUpRow.update(
            {
                FollowUpRow.status: follow_up.status.value,
                FollowUpRow.satisfaction: follow_up.satisfaction,
                FollowUpRow.outcome: follow_up.outcome,
                FollowUpRow.called_at: follow_up.called_at,
                FollowUpRow.called_by: follow_up.called_by,
            }
        ).where(FollowUpRow.id == follow_up.id)

    async def listing(self, follow_up_id: int) -> FollowUpListing | None:
        rows = await FollowUpRow.raw(_LISTING + " WHERE f.id = {}", follow_up_id)
        return _listing(rows[0]) if rows else None

    async def of_member(self, member_id: UUID, *, limit: int) -> Sequence[FollowUpListing]:
        rows = await FollowUpRow.raw(
            _LISTING + " WHERE f.member_id = {} ORDER BY f.id DESC LIMIT {}", member_id, limit
        )
        return [_listing(r) for r in rows]

    async def page(
        self,
        *,
        status: FollowUpStatus | None,
        due_by: date | None,
        after_id: int | None,
        limit: int,
    ) -> Sequence[FollowUpListing]:
        rows = await FollowUpRow.raw(
            _LISTING
            + " WHERE ({}::text IS NULL OR f.status = {}::text)"
            + " AND ({}::date IS NULL OR f.due_on <= {}::date)"
            + " AND f.id > {} ORDER BY f.id LIMIT {}",
            status.value if status else None,
            status.value if status else None,
            due_by,
            due_by,
            after_id or 0,
            limit,
        )
        return [_listing(r) for r in rows]
