"""The unit of work's transaction as the repositories see it.

Repositories are stateless; the transaction they run in is found through a context variable
set by the unit of work (Piccolo's own is set to the same object, so that Piccolo queries
join it too). Raw statements go straight to the transaction's asyncpg connection, whose
prepared statements asyncpg caches.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING, Any
from uuid import UUID

if TYPE_CHECKING:
    from adapters.persistence.config_cache import ConfigCache, ConfigSnapshot


class TransactionClosed(RuntimeError):
    """The unit of work committed: nothing may run in it any more, and nothing autocommits."""


class ActiveTransaction:
    """One unit of work's open transaction: its connection, and the configuration it reads."""

    __slots__ = (
        "_connection",
        "at_commit",
        "cache",
        "chain_heads",
        "claimed_keys",
        "closed",
        "config",
        "epoch_seen",
        "members_written",
    )

    def __init__(self, connection: Any, cache: ConfigCache) -> None:
        self._connection = connection
        self.cache = cache
        self.closed = False
        # Writes nothing reads before the commit: sent in the COMMIT's round trip.
        self.at_commit: list[str] = []
        # Read once per unit of work: every configuration read of a transaction agrees.
        self.config: ConfigSnapshot | None = None
        # The configuration epoch as a statement of this transaction read it in passing.
        self.epoch_seen: int | None = None
        # Idempotency keys this transaction claimed, (caller, key) -> row id: the answer is
        # stored by primary key.
        self.claimed_keys: dict[tuple[str, str], int] = {}
        # Members whose account, profile or tier this transaction wrote: after the commit
        # their reads wait for a replica to replay it (adapters/persistence/replica.py).
        self.members_written: set[Any] = set()
        # The last link of the ledger chain, (seq, entry_hash), of members whose account lock
        # this transaction holds, read after the lock: their next entries are chained here
        # rather than by the row trigger (repositories/points_save.py). Forgotten when a
        # savepoint rolls back, since the entries it wrote went with it.
        self.chain_heads: dict[UUID, tuple[int, bytes]] = {}

    @property
    def connection(self) -> Any:
        # Piccolo reads this attribute for every query it runs in the transaction.
        if self.closed:
            raise TransactionClosed(
                "the unit of work has committed; a further statement would autocommit"
            )
        return self._connection


_current: ContextVar[ActiveTransaction | None] = ContextVar("loyalty_transaction", default=None)


def current() -> ActiveTransaction | None:
    return _current.get()


def active() -> ActiveTransaction:
    transaction = _current.get()
    if transaction is None:
        raise RuntimeError("no unit of work is active: repositories run inside `async with uow:`")
    return transaction


def connection() -> Any:
    """The asyncpg connection of the active unit of work."""
    return active().connection


async def configuration() -> ConfigSnapshot:
    """The configuration in force for this unit of work (see config_cache)."""
    transaction = active()
    if transaction.config is None:
        cache, db = transaction.cache, transaction.connection
        if transaction.epoch_seen is None:
            transaction.config = await cache.current(db)
        else:
            transaction.config = cache.at(transaction.epoch_seen) or await cache.load(db)
    return transaction.config


def configuration_epoch_seen(epoch: int) -> None:
    """A statement of this transaction read the configuration epoch along with its own data;
    if the cache holds that epoch, no configuration read needs a round trip of its own."""
    transaction = _current.get()
    if transaction is not None and transaction.config is None:
        transaction.epoch_seen = epoch


def member_written(member_id: Any) -> None:
    """The active transaction writes what a read of this member shows (see replica.py)."""
    active().members_written.add(member_id)


def at_commit(statement: str) -> None:
    """Runs ``statement`` (SQL without parameters: build it with ``literal``) in the same
    round trip as the unit of work's COMMIT, just before it; dropped if it never commits.

    Only for a write that nothing in the transaction reads afterwards. If it fails, the
    COMMIT does not run and the unit of work rolls back, as if it had failed at once.
    """
    active().at_commit.append(statement)


def literal(text: str) -> str:
    """``text`` as an SQL expression safe to put in a statement: only hex digits are inlined,
    whatever the text holds and however the server treats backslashes."""
    return f"convert_from(decode('{text.encode().hex()}', 'hex'), 'UTF8')"


def bytes_literal(data: bytes) -> str:
    return f"decode('{data.hex()}', 'hex')"


def configuration_changed() -> None:
    """This transaction writes configuration: its next read must see the write."""
    transaction = _current.get()
    if transaction is not None:
        transaction.config = None
        transaction.epoch_seen = None
