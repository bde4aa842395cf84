from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from adapters.observability import LEDGER_POSTINGS
from adapters.persistence.session import connection
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

_INSERT_ENTRIES = """
INSERT INTO points_entries (member_id, entry_type, points, reference, posting_key, created_at,
                            expires_at, actor, reason)
SELECT e.member_id, e.entry_type, e.points, e.reference, e.posting_key, e.created_at,
       e.expires_at, e.actor, e.reason
FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::timestamptz[],
            $7::timestamptz[], $8::text[], $9::text[]) WITH ORDINALITY
    AS e(member_id, entry_type, points, reference, posting_key, created_at, expires_at, actor,
         reason, n)
ORDER BY e.n
RETURNING id, posting_key
"""

# Balances, new lots, changed lots and movements in one statement; the entries the movements
# name were inserted just before. New lots take their ids from the sequence first, so that
# movements can name them. Foreign keys are checked at the end of the statement.
_SAVE = """
WITH account AS (
    UPDATE points_accounts SET available = $2, pending = $3, debt = $4, updated_at = $5
    WHERE member_id = $1
),
new_lot AS MATERIALIZED (
    SELECT nextval('points_lots_id_seq') AS id, l.*
    FROM unnest($6::text[], $7::timestamptz[], $8::timestamptz[], $9::bigint[], $10::bigint[],
                $11::boolean[], $12::timestamptz[], $13::boolean[]) WITH ORDINALITY
        AS l(reference, earned_at, expires_at, points, remaining, pending, release_at, frozen, n)
),
inserted AS (
    INSERT INTO points_lots (id, member_id, reference, earned_at, expires_at, points, remaining,
                             pending, release_at, frozen)
    SELECT id, $1, reference, earned_at, expires_at, points, remaining, pending, release_at,
           frozen
    FROM new_lot
),
changed AS (
    UPDATE points_lots AS lot
    SET points = c.points, remaining = c.remaining, pending = c.pending,
        release_at = c.release_at, frozen = c.frozen
    FROM unnest($14::bigint[], $15::bigint[], $16::bigint[], $17::boolean[],
                $18::timestamptz[], $19::boolean[])
        AS c(id, points, remaining, pending, release_at, frozen)
    WHERE lot.id = c.id
),
moved AS (
    INSERT INTO points_lot_movements (member_id, entry_id, lot_id, points)
    SELECT $1, m.entry_id, coalesce(m.lot_id, new_lot.id), m.points
    FROM unnest($20::bigint[], $21::bigint[], $22::bigint[], $23::bigint[]) WITH ORDINALITY
        AS m(entry_id, lot_id, new_lot, points, n)
    LEFT JOIN new_lot ON new_lot.n = m.new_lot
    ORDER BY m.n
)
SELECT id FROM new_lot ORDER BY n
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
        account = await db.fetchrow(_LOCK_ACCOUNT, member_id)
        if account is None:
            raise LookupError(f"member {member_id} has no points account")
        return _account(member_id, account, await db.fetch(_OPEN_LOTS, member_id))

    async def save(self, account: PointsAccount) -> None:
        db = connection()
        entry_ids = await self._insert_entries(db, account)
        new_lots = account.new_lots
        new_lot_number = {id(lot): n for n, lot in enumerate(new_lots, start=1)}
        changed = {
            lot.id: lot
            for lot in account.changed_lots
            if id(lot) not in new_lot_number and lot.id is not None
        }.values()
        moves = account.movements
        lot_ids = await db.fetch(
            _SAVE,
            account.member_id,
            account.available,
            account.pending,
            account.debt,
            datetime.now(UTC),
            [str(lot.reference) for lot in new_lots],
            [lot.earned_at for lot in new_lots],
            [lot.expires_at for lot in new_lots],
            [lot.points for lot in new_lots],
            [lot.remaining for lot in new_lots],
            [lot.pending for lot in new_lots],
            [lot.release_at for lot in new_lots],
            [lot.frozen for lot in new_lots],
            [lot.id for lot in changed],
            [lot.points for lot in changed],
            [lot.remaining for lot in changed],
            [lot.pending for lot in changed],
            [lot.release_at for lot in changed],
            [lot.frozen for lot in changed],
            [entry_ids[m.entry.posting_key] for m in moves],
            [m.lot.id if id(m.lot) not in new_lot_number else None for m in moves],
            [new_lot_number.get(id(m.lot)) for m in moves],
            [m.points for m in moves],
        )
        for lot, row in zip(new_lots, lot_ids, strict=True):
            lot.id = row["id"]
        account.new_entries.clear()
        account.new_lots.clear()
        account.movements.clear()
        account.changed_lots.clear()
        account.released_lots.clear()

    async def _insert_entries(self, db: Any, account: PointsAccount) -> dict[str, int]:
        """Inserts the new entries, in order, as one plain multi-row INSERT: the ledger's
        chain trigger numbers and hashes each row as it arrives."""
        entries = account.new_entries
        if not entries:
            return {}
        rows = await db.fetch(
            _INSERT_ENTRIES,
            [e.member_id for e in entries],
            [e.type.value for e in entries],
            [e.points for e in entries],
            [str(e.reference) for e in entries],
            [e.posting_key for e in entries],
            [e.created_at for e in entries],
            [e.expires_at for e in entries],
            [e.actor for e in entries],
            [e.reason for e in entries],
        )
        for entry in entries:
            LEDGER_POSTINGS.labels(entry.type.value).inc()
        # Posting keys are unique per member (a constraint): they tell the rows apart.
        return {row["posting_key"]: row["id"] for row in rows}

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
