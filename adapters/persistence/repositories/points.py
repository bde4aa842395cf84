from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from adapters.observability import LEDGER_POSTINGS
from adapters.persistence.tables import (
    PointsAccountRow,
    PointsEntryRow,
    PointsLotMovementRow,
    PointsLotRow,
)
from domain.points import Consumption, EntryType, LedgerEntry, Lot, PointsAccount, Reference

_OPEN_LOTS = """
SELECT id, reference, earned_at, expires_at, points, remaining, pending, release_at, frozen
FROM points_lots WHERE member_id = {} AND (remaining > 0 OR pending)
ORDER BY id
"""

_CONSUMED = """
SELECT l.expires_at, -m.points AS points
FROM points_entries e
JOIN points_lot_movements m ON m.entry_id = e.id
JOIN points_lots l ON l.id = m.lot_id
WHERE e.member_id = {} AND e.posting_key = {} AND m.points < 0
ORDER BY m.id
"""


def _lot(row: dict[str, Any]) -> Lot:
    return Lot(
        reference=Reference.parse(row["reference"]),
        earned_at=row["earned_at"],
        expires_at=row["expires_at"],
        points=row["points"],
        remaining=row["remaining"],
        pending=row["pending"],
        release_at=row["release_at"],
        id=row["id"],
        frozen=row["frozen"],
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
        await PointsAccountRow.insert(
            PointsAccountRow(member_id=member_id, updated_at=datetime.now(UTC))
        )

    async def get(self, member_id: UUID) -> PointsAccount:
        return await self._load(member_id, lock=False)

    async def get_for_update(self, member_id: UUID) -> PointsAccount:
        # Every writer of a member's lots and entries takes this lock first (the expiry job
        # too), so the lots can be read without locks of their own.
        return await self._load(member_id, lock=True)

    async def _load(self, member_id: UUID, *, lock: bool) -> PointsAccount:
        query = PointsAccountRow.select(
            PointsAccountRow.available, PointsAccountRow.pending, PointsAccountRow.debt
        ).where(PointsAccountRow.member_id == member_id)
        if lock:
            query = query.lock_rows("UPDATE")
        row = await query.first()
        if row is None:
            if lock:
                raise LookupError(f"member {member_id} has no points account")
            return PointsAccount(member_id=member_id)
        lots = await PointsLotRow.raw(_OPEN_LOTS, member_id)
        return PointsAccount(
            member_id=member_id,
            available=row["available"],
            pending=row["pending"],
            debt=row["debt"],
            lots=[_lot(lot) for lot in lots],
        )

    async def save(self, account: PointsAccount) -> None:
        now = datetime.now(UTC)
        await PointsAccountRow.update(
            {
                PointsAccountRow.available: account.available,
                PointsAccountRow.pending: account.pending,
                PointsAccountRow.debt: account.debt,
                PointsAccountRow.updated_at: now,
            }
        ).where(PointsAccountRow.member_id == account.member_id)
        await self._insert_lots(account)
        entry_ids = await self._insert_entries(account)
        await self._update_lots(account)
        if account.movements:
            await PointsLotMovementRow.insert(
                *(
                    PointsLotMovementRow(
                        member_id=account.member_id,
                        entry_id=entry_ids[id(m.entry)],
                        lot_id=m.lot.id,
                        points=m.points,
                    )
                    for m in account.movements
                )
            )
        account.new_entries.clear()
        account.new_lots.clear()
        account.movements.clear()
        account.changed_lots.clear()
        account.released_lots.clear()

    async def _insert_lots(self, account: PointsAccount) -> None:
        if not account.new_lots:
            return
        # PostgreSQL returns a multi-row INSERT's rows in the order of its VALUES.
        inserted = await PointsLotRow.insert(
            *(
                PointsLotRow(
                    member_id=account.member_id,
                    reference=str(lot.reference),
                    earned_at=lot.earned_at,
                    expires_at=lot.expires_at,
                    points=lot.points,
                    remaining=lot.remaining,
                    pending=lot.pending,
                    release_at=lot.release_at,
                    frozen=lot.frozen,
                )
                for lot in account.new_lots
            )
        ).returning(PointsLotRow.id)
        for lot, row in zip(account.new_lots, inserted, strict=True):
            lot.id = row["id"]

    async def _insert_entries(self, account: PointsAccount) -> dict[int, int]:
        if not account.new_entries:
            return {}
        inserted = await PointsEntryRow.insert(
            *(
                PointsEntryRow(
                    member_id=e.member_id,
                    entry_type=e.type.value,
                    points=e.points,
                    reference=str(e.reference),
                    posting_key=e.posting_key,
                    created_at=e.created_at,
                    expires_at=e.expires_at,
                    actor=e.actor,
                    reason=e.reason,
                )
                for e in account.new_entries
            )
        ).returning(PointsEntryRow.id)
        for entry in account.new_entries:
            LEDGER_POSTINGS.labels(entry.type.value).inc()
        return {
            id(entry): row["id"] for entry, row in zip(account.new_entries, inserted, strict=True)
        }

    async def _update_lots(self, account: PointsAccount) -> None:
        # New lots were inserted with their final state; only older lots need an update.
        for lot in account.changed_lots:
            if lot in account.new_lots:
                continue
            await PointsLotRow.update(
                {
                    PointsLotRow.points: lot.points,
                    PointsLotRow.remaining: lot.remaining,
                    PointsLotRow.pending: lot.pending,
                    PointsLotRow.release_at: lot.release_at,
                    PointsLotRow.frozen: lot.frozen,
                }
            ).where(PointsLotRow.id == lot.id)

    async def consumed_by(self, member_id: UUID, posting_key: str) -> list[Consumption]:
        rows = await PointsEntryRow.raw(_CONSUMED, member_id, posting_key)
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
