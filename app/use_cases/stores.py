"""Stores, their terminals, and terminals proving who they are."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol
from uuid import UUID

from app.secrets import hash_secret, new_secret, verify_secret
from app.unit_of_work import WithAudit, WithStores
from domain.errors import (
    InvalidCredentials,
    SessionRevoked,
    StoreExists,
    StoreNotFound,
    TerminalExists,
    TerminalInactive,
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
    secret: str  # shown once, never stored (not even in the stored idempotent answer)


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


async def authenticate_terminal(terminal_id: UUID, secret: str, uow: StoresUnit) -> Terminal:
    terminal = await uow.stores.get_terminal(terminal_id)
    # Same answer for an unknown terminal and a wrong secret: no probing for terminal ids.
    if terminal is None or not terminal.active or not verify_secret(secret, terminal.secret_hash):
        raise InvalidCredentials()
    return terminal


async def list_stores(uow: StoresUnit, *, after: UUID | None, limit: int) -> Sequence[Store]:
    return await uow.stores.list_stores(after=after, limit=limit)


async def list_terminals(
    uow: StoresUnit, *, store_id: UUID | None, after: UUID | None, limit: int
) -> Sequence[Terminal]:
    if store_id is not None and await uow.stores.get_store(store_id) is None:
        raise StoreNotFound()
    return await uow.stores.list_terminals(store_id=store_id, after=after, limit=limit)


@dataclass(frozen=True, slots=True)
class DeactivateTerminal:
    terminal_id: UUID
    actor: str
    reason: str | None = None


async def deactivate_terminal(
    cmd: DeactivateTerminal, uow: StoresUnit, *, clock: Clock
) -> Terminal:
    """Deactivates the terminal for good: it can log in no more, and its tokens are refused
    from the next request on (see refuse_stale_terminal_token). Deactivating it again changes
    nothing and is not audited twice."""
    terminal = await uow.stores.get_terminal_for_update(cmd.terminal_id)
    if terminal is None:
        raise TerminalNotFound()
    if not terminal.active:
        return terminal
    deactivated = replace(terminal, active=False, deactivated_at=clock.now())
    await uow.stores.save_terminal(deactivated)
    await uow.audit.record(
        AuditRecord(
            cmd.actor,
            "terminal.deactivated",
            f"terminal:{terminal.id}",
            {"store_id": str(terminal.store_id), "code": terminal.code, "reason": cmd.reason},
        )
    )
    return deactivated


@dataclass(frozen=True, slots=True)
class RotateTerminalSecret:
    terminal_id: UUID
    actor: str


async def rotate_terminal_secret(
    cmd: RotateTerminalSecret, uow: StoresUnit, *, random: RandomSource
) -> NewTerminal:
    """A new secret, shown once; the old secret logs in no more and the tokens issued under
    it are refused from the next request on. Two rotations at once run one after the other
    (the terminal's row is locked), each with its own version."""
    terminal = await uow.stores.get_terminal_for_update(cmd.terminal_id)
    if terminal is None:
        raise TerminalNotFound()
    if not terminal.active:
        raise TerminalInactive()
    secret = new_secret(random)
    rotated = replace(
        terminal, secret_hash=hash_secret(secret), secret_version=terminal.secret_version + 1
    )
    await uow.stores.save_terminal(rotated)
    await uow.audit.record(
        AuditRecord(
            cmd.actor,
            "terminal.secret_rotated",
            f"terminal:{terminal.id}",
            {"store_id": str(terminal.store_id), "secret_version": rotated.secret_version},
        )
    )
    return NewTerminal(rotated, secret)


class TerminalStanding(Protocol):
    """Whether a terminal's token may still be used: one indexed read per POS request."""

    async def secret_version(self, terminal_id: UUID) -> int | None:
        """The secret version of the terminal while it is active; None once deactivated (or
        for a terminal that does not exist)."""
        ...


async def refuse_stale_terminal_token(
    terminal_id: UUID, token_version: int | None, standing: TerminalStanding
) -> None:
    """The check every /v1/pos request gets before its handler runs. A signature cannot tell
    that its terminal was deactivated, or its secret rotated, since the token was issued:
    that takes the database, on every request, whatever the token cache remembers."""
    current = await standing.secret_version(terminal_id)
    if current is None or current != (token_version or 1):
        raise SessionRevoked()
