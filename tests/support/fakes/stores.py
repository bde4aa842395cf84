"""The store repository: stores and their terminals."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from domain.stores import Store, Terminal
from tests.support.fakes.common import Linked, require


class FakeStoreRepository(Linked):
    def __init__(self) -> None:
        self.stores: dict[UUID, Store] = {}
        self.terminals: dict[UUID, Terminal] = {}

    async def add_store(self, store: Store) -> bool:
        if any(s.code == store.code for s in self.stores.values()):
            return False
        self.stores[store.id] = store
        return True

    async def get_store(self, store_id: UUID) -> Store | None:
        return self.stores.get(store_id)

    async def get_store_by_code(self, code: str) -> Store | None:
        return next((s for s in self.stores.values() if s.code == code), None)

    async def add_terminal(self, terminal: Terminal) -> bool:
        require(terminal.store_id in self.stores, "terminals_store_id_fkey")
        if any(
            (t.store_id, t.code) == (terminal.store_id, terminal.code)
            for t in self.terminals.values()
        ):
            return False
        self.terminals[terminal.id] = terminal
        return True

    async def get_terminal(self, terminal_id: UUID) -> Terminal | None:
        return self.terminals.get(terminal_id)

    async def get_terminal_by_code(self, store_id: UUID, code: str) -> Terminal | None:
        found = (t for t in self.terminals.values() if (t.store_id, t.code) == (store_id, code))
        return next(found, None)

    async def get_terminal_for_update(self, terminal_id: UUID) -> Terminal | None:
        return self.terminals.get(terminal_id)

    async def save_terminal(self, terminal: Terminal) -> None:
        self.terminals[terminal.id] = terminal

    async def list_stores(self, *, after: UUID | None, limit: int) -> Sequence[Store]:
        ordered = sorted(self.stores.values(), key=lambda s: s.id)
        return [s for s in ordered if after is None or s.id > after][:limit]

    async def list_terminals(
        self, *, store_id: UUID | None, after: UUID | None, limit: int
    ) -> Sequence[Terminal]:
        ordered = sorted(self.terminals.values(), key=lambda t: t.id)
        return [
            t
            for t in ordered
            if (store_id is None or t.store_id == store_id) and (after is None or t.id > after)
        ][:limit]
