from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from adapters.persistence.tables import StoreRow, TerminalRow
from domain.stores import Store, Terminal


class PostgresStoreRepository:
    async def add_store(self, store: Store) -> bool:
        inserted = (
            await StoreRow.insert(
                StoreRow(id=store.id, code=store.code, name=store.name, created_at=store.created_at)
            )
            .on_conflict(target=StoreRow.code, action="DO NOTHING")
            .returning(StoreRow.id)
        )
        return bool(inserted)

    async def get_store(self, store_id: UUID) -> Store | None:
        row = await StoreRow.select().where(StoreRow.id == store_id).first()
        return Store(**row) if row else None

    async def get_store_by_code(self, code: str) -> Store | None:
        row = await StoreRow.select().where(StoreRow.code == code).first()
        return Store(**row) if row else None

    async def add_terminal(self, terminal: Terminal) -> bool:
        inserted = (
            await TerminalRow.insert(
                TerminalRow(
                    id=terminal.id,
                    store_id=terminal.store_id,
                    code=terminal.code,
                    secret_hash=terminal.secret_hash,
                    active=terminal.active,
                    created_at=terminal.created_at,
                    secret_version=terminal.secret_version,
                    deactivated_at=terminal.deactivated_at,
                )
            )
            .on_conflict(target=(TerminalRow.store_id, TerminalRow.code), action="DO NOTHING")
            .returning(TerminalRow.id)
        )
        return bool(inserted)

    async def get_terminal(self, terminal_id: UUID) -> Terminal | None:
        row: dict[str, Any] | None = (
            await TerminalRow.select().where(TerminalRow.id == terminal_id).first()
        )
        return Terminal(**row) if row else None

    async def get_terminal_by_code(self, store_id: UUID, code: str) -> Terminal | None:
        row: dict[str, Any] | None = (
            await TerminalRow.select()
            .where((TerminalRow.store_id == store_id) & (TerminalRow.code == code))
            .first()
        )
        return Terminal(**row) if row else None

    async def get_terminal_for_update(self, terminal_id: UUID) -> Terminal | None:
        row: dict[str, Any] | None = (
            await TerminalRow.select()
            .where(TerminalRow.id == terminal_id)
            .lock_rows("UPDATE")
            .first()
        )
        return Terminal(**row) if row else None

    async def save_terminal(self, terminal: Terminal) -> None:
        await TerminalRow.update(
            {
                TerminalRow.secret_hash: terminal.secret_hash,
                TerminalRow.secret_version: terminal.secret_version,
                TerminalRow.active: terminal.active,
                TerminalRow.deactivated_at: terminal.deactivated_at,
            }
        ).where(TerminalRow.id == terminal.id)

    async def list_stores(self, *, after: UUID | None, limit: int) -> Sequence[Store]:
        query = StoreRow.select().order_by(StoreRow.id).limit(limit)
        if after is not None:
            query = query.where(StoreRow.id > after)
        return [Store(**row) for row in await query]

    async def list_terminals(
        self, *, store_id: UUID | None, after: UUID | None, limit: int
    ) -> Sequence[Terminal]:
        query = TerminalRow.select().order_by(TerminalRow.id).limit(limit)
        if store_id is not None:
            query = query.where(TerminalRow.store_id == store_id)
        if after is not None:
            query = query.where(TerminalRow.id > after)
        return [Terminal(**row) for row in await query]
