"""Stores, their terminals, and terminals proving who they are."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol
from uuid import UUID

from app.secrets import hash_secret, new_secret, verify_secret
from app.unit_of_work import WithAudit, WithStores
from domain.errors import (
    InvalidCredentials,
    StoreExists,
    StoreNotFound,
    TerminalExists,
    TerminalNotFound,
)
from domain.ports import Clock, IdGenerator, RandomSource
from domain.repositories import AuditRecord
from domain.stores import Store, Terminal


class StoresUnit(WithAudit, WithStores, Protocol):
    """What these use cases use of the unit of work (any ``UnitOfWork`` has it)."""


@dataclass(frozen=True, slots=True)
class CreateStore:
    code: str
    name: str
    actor: str


async def create_store(
    cmd: CreateStore, uow: StoresUnit, *, clock: Clock, ids: IdGenerator
) -> Store:
    store = Store(id=ids.new_id(), code=cmd.code, name=cmd.name.strip(), created_at=clock.now())
    if not await uow.stores.add_store(store):
        raise StoreExists()
    await uow.audit.record(
        AuditRecord(cmd.actor, "store.created", f"store:{store.id}", {"code": store.code})
    )
    return store


@dataclass(frozen=True, slots=True)
class CreateTerminal:
    store_id: UUID
    code: str
    actor: str


@dataclass(frozen=True, slots=True)
class NewTerminal:
    terminal: Terminal
    secret: str  # shown once, never stored


async def create_terminal(
    cmd: CreateTerminal,
    uow: StoresUnit,
    *,
    clock: Clock,
    ids: IdGenerator,
    random: RandomSource,
) -> NewTerminal:
    if await uow.stores.get_store(cmd.store_id) is None:
        raise StoreNotFound()
    secret = new_secret(random)
    terminal = Terminal(
        id=ids.new_id(),
        store_id=cmd.store_id,
        code=cmd.code,
        secret_hash=hash_secret(secret),
        created_at=clock.now(),
    )
    if not await uow.stores.add_terminal(terminal):
        raise TerminalExists()
    await uow.audit.record(
        AuditRecord(
            cmd.actor,
            "terminal.created",
            f"terminal:{terminal.id}",
            {"store_id": str(cmd.store_id), "code": cmd.code},
        )
    )
    return NewTerminal(terminal, secret)


@dataclass(frozen=True, slots=True)
class RotateTerminalSecret:
    terminal_id: UUID
    actor: str


async def rotate_terminal_secret(
    cmd: RotateTerminalSecret, uow: StoresUnit, *, random: RandomSource
) -> NewTerminal:
    """A new secret for the terminal, shown once; the old one stops working (audited)."""
    terminal = await uow.stores.get_terminal(cmd.terminal_id)
    if terminal is None:
        raise TerminalNotFound()
    secret = new_secret(random)
    secret_hash = hash_secret(secret)
    await uow.stores.set_terminal_secret(terminal.id, secret_hash)
    await uow.audit.record(
        AuditRecord(
            cmd.actor,
            "terminal.secret_rotated",
            f"terminal:{terminal.id}",
            {"store_id": str(terminal.store_id), "code": terminal.code},
        )
    )
    return NewTerminal(replace(terminal, secret_hash=secret_hash), secret)


async def authenticate_terminal(terminal_id: UUID, secret: str, uow: StoresUnit) -> Terminal:
    terminal = await uow.stores.get_terminal(terminal_id)
    # Same answer for an unknown terminal and a wrong secret: no probing for terminal ids.
    if terminal is None or not terminal.active or not verify_secret(secret, terminal.secret_hash):
        raise InvalidCredentials()
    return terminal
