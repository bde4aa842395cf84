from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from adapters.persistence.tables import PointsAccountRow, PointsEntryRow
from domain.points import EntryType, LedgerEntry, PointsAccount, Reference


def _account(row: dict[str, Any] | None, member_id: UUID) -> PointsAccount:
    if row is None:
        return PointsAccount(member_id=member_id)
    return PointsAccount(
        member_id=member_id,
        available=row["available"],
        pending=row["pending"],
        debt=row["debt"],
    )


def _entry(row: dict[str, Any]) -> LedgerEntry:
    kind, _, ref_id = row["reference"].partition(":")
    return LedgerEntry(
        id=row["id"],
        member_id=row["member_id"],
        type=EntryType(row["entry_type"]),
        points=row["points"],
        reference=Reference(kind, ref_id),
        posting_key=row["posting_key"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
    )


class PostgresPointsRepository:
    async def open_account(self, member_id: UUID) -> None:
        await PointsAccountRow.insert(
            PointsAccountRow(member_id=member_id, updated_at=datetime.now(UTC))
        )

    async def get(self, member_id: UUID) -> PointsAccount:
        row = (
            await PointsAccountRow.select(
                PointsAccountRow.available, PointsAccountRow.pending, PointsAccountRow.debt
            )
            .where(PointsAccountRow.member_id == member_id)
            .first()
        )
        return _account(row, member_id)

    async def get_for_update(self, member_id: UUID) -> PointsAccount:
        rows = await PointsAccountRow.raw(
            "SELECT available, pending, debt FROM points_accounts WHERE member_id = {} FOR UPDATE",
            member_id,
        )
        if not rows:
            raise LookupError(f"member {member_id} has no points account")
        return _account(rows[0], member_id)

    async def save(self, account: PointsAccount) -> None:
        await PointsAccountRow.update(
            {
                PointsAccountRow.available: account.available,
                PointsAccountRow.pending: account.pending,
                PointsAccountRow.debt: account.debt,
                PointsAccountRow.updated_at: datetime.now(UTC),
            }
        ).where(PointsAccountRow.member_id == account.member_id)
        if account.new_entries:
            await PointsEntryRow.insert(
                *(
                    PointsEntryRow(
                        member_id=e.member_id,
                        entry_type=e.type.value,
                        points=e.points,
                        reference=str(e.reference),
                        posting_key=e.posting_key,
                        created_at=e.created_at,
                        expires_at=e.expires_at,
                    )
                    for e in account.new_entries
                )
            )
            account.new_entries.clear()

    async def entries(
        self, member_id: UUID, *, before_id: int | None, limit: int
    ) -> Sequence[LedgerEntry]:
        query = PointsEntryRow.select().where(PointsEntryRow.member_id == member_id)
        if before_id is not None:
            query = query.where(PointsEntryRow.id < before_id)
        rows = await query.order_by(PointsEntryRow.id, ascending=False).limit(limit)
        return [_entry(row) for row in rows]
