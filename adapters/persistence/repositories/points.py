from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from adapters.observability import LEDGER_POSTINGS
from adapters.persistence.repositories.points_save import save_statement
from adapters.persistence.session import active, connection, member_written
from adapters.persistence.tables import PointsEntryRow
from domain.points import Consumption, EntryType, LedgerEntry, Lot, PointsAccount, Reference

_OPEN_LOTS = """
SELECT id AS lot_id, reference, earned_at, expires_at, points, remaining, pending AS lot_pending,
       release_at, frozen
FROM points_lots WHERE member_id = $1 AND (remaining > 0 OR pending)
ORDER BY id
"""

_LOCK_ACCOUNT = """
SELECT available, pending, debt FROM points_accounts WHERE member_id = $1 FOR UPDATE
"""

# One row per open lot, or one row without a lot.
_ACCOUNT_WITH_LOTS = """
SELECT a.available, a.pending, a.debt,
       l.id AS lot_id, l.reference, l.earned_at, l.expires_at, l.points, l.remaining,
       l.pending AS lot_pending, l.release_at, l.frozen
FROM points_accounts a
LEFT JOIN points_lots l ON l.member_id = a.member_id AND (l.remaining > 0 OR l.pending)
WHERE a.member_id = $1
ORDER BY l.id
"""

_CONSUMED = """
SELECT l.expires_at, -m.points AS points
FROM points_entries e
JOIN points_lot_movements m ON m.entry_id = e.id
JOIN points_lots l ON l.id = m.lot_id
WHERE e.member_id = $1 AND e.posting_key = $2 AND m.points < 0
ORDER BY m.id
"""


def _lot(row: Any) -> Lot:
    return Lot(
        reference=Reference.parse(row["reference"]),
        earned_at=row["earned_at"],
        expires_at=row["expires_at"],
        points=row["points"],
        remaining=row["remaining"],
        pending=row["lot_pending"],
        release_at=row["release_at"],
        id=row["lot_id"],
        frozen=row["frozen"],
    )


def _account(member_id: UUID, balances: Any, lots: Sequence[Any]) -> PointsAccount:
    return PointsAccount(
        member_id=member_id,
        available=balances["available"],
        pending=balances["pending"],
        debt=balances["debt"],
        lots=[_lot(row) for row in lots if row["lot_id"] is not None],
    )


def _entry(row: dict[str, Any]) -> LedgerEntry:
    return LedgerEntry(
        id=row["id"],
        member_id=row["member_id"],
        type=EntryType(row["entry_type"]),
        points=row["points"],
        reference=Reference.parse(row["reference"]),
        posting_key=row["posting_key"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        actor=row["actor"],
        reason=row["reason"],
    )


class PostgresPointsRepository:
    async def open_account(self, member_id: UUID) -> None:
        member_written(member_id)
        await connection().execute(
            "INSERT INTO points_accounts (member_id, updated_at) VALUES ($1, $2)",
            member_id,
            datetime.now(UTC),
        )

    async def get(self, member_id: UUID) -> PointsAccount:
        # Without a lock one statement is one snapshot: balances and lots agree.
        rows = await connection().fetch(_ACCOUNT_WITH_LOTS, member_id)
        if not rows:
            return PointsAccount(member_id=member_id)
        return _account(member_id, rows[0], rows)

    async def get_for_update(self, member_id: UUID) -> PointsAccount:
        # Every writer of a member's lots and entries takes this lock first (the expiry job
        # too), so the lots can be read without locks of their own; they are read by a
        # statement of their own, whose snapshot includes what the lock's last holder wrote.
        db = connection()
        member_written(member_id)  # locked to be written
        account = await db.fetchrow(_LOCK_ACCOUNT, member_id)
        if account is None:
            raise LookupError(f"member {member_id} has no points account")
        return _account(member_id, account, await db.fetch(_OPEN_LOTS, member_id))

    async def save(self, account: PointsAccount) -> None:
        member_written(account.member_id)
        heads = active().chain_heads
        statement, args, head = save_statement(
            account, datetime.now(UTC), heads.get(account.member_id)
        )
        lot_ids = await connection().fetch(statement, *args)
        if head is None:
            heads.pop(account.member_id, None)  # the database chained them: read it again
        else:
            heads[account.member_id] = head
        for lot, row in zip(account.new_lots, lot_ids, strict=True):
            lot.id = row["id"]
        for entry in account.new_entries:
            LEDGER_POSTINGS.labels(entry.type.value).inc()
        account.new_entries.clear()
        account.new_lots.clear()
        account.movements.clear()
        account.changed_lots.clear()
        account.released_lots.clear()

    async def consumed_by(self, member_id: UUID, posting_key: str) -> list[Consumption]:
        rows = await connection().fetch(_CONSUMED, member_id, posting_key)
        return [Consumption(expires_at=r["expires_at"], points=r["points"]) for r in rows]

    async def entries(
        self, member_id: UUID, *, before_id: int | None, limit: int
    ) -> Sequence[LedgerEntry]:
        query = PointsEntryRow.select(
            PointsEntryRow.id,
            PointsEntryRow.member_id,
            PointsEntryRow.entry_type,
            PointsEntryRow.points,
            PointsEntryRow.reference,
            PointsEntryRow.posting_key,
            PointsEntryRow.created_at,
            PointsEntryRow.expires_at,
            PointsEntryRow.actor,
            PointsEntryRow.reason,
        ).where(PointsEntryRow.member_id == member_id)
        if before_id is not None:
            query = query.where(PointsEntryRow.id < before_id)
        rows = await query.order_by(PointsEntryRow.id, ascending=False).limit(limit)
        return [_entry(row) for row in rows]
