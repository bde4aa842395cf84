"""Reads on a streaming replica, writes on the primary, and a member reads their own writes.

With ``DATABASE_REPLICA_URL`` set, the till's lookups, ``GET /v1/me``, the member search and
the reports run on a hot standby (docs/operations.md#a-read-replica). Three rules keep that
invisible to the people reading:

1. **Read your writes, per member.** A unit of work that wrote a member's account, profile or
   tier (``session.member_written``) asks the primary for its WAL insert position once it has
   committed, and this process keeps ``member -> position`` (``WritePositions``). A read of
   that member goes to the replica only once ``pg_last_wal_replay_lsn()`` has reached the
   position; it waits for that at most ``wait`` (polling), then reads the primary instead. The
   last replay position seen is cached, so a member with no recent write costs no extra round
   trip, and a member whose write the replica has already replayed costs none either.
   A read found by card or phone learns its member from the row: if that member has a newer
   write than the replica position known before the read, it is read again (after the wait)
   or on the primary.
2. **Nothing is lost to lag.** The map forgets a member only when the replica is known to have
   replayed their write, or when it grows past ``capacity``/``horizon``; then the highest
   position forgotten becomes a floor that every replica read must have reached.
3. **A lost replica is not an error.** A replica that cannot be reached, or that drops a
   connection mid-read, is marked down for ``cooldown``; the read runs on the primary, as do
   all reads until the cooldown ends.

Why an in-process map rather than a position carried in the member's token or a cookie: the
write that matters is usually made by someone else (the till's sale, a web order, a staff
adjustment), so the member's own client never sees the commit it should wait for. The map sees
every write this process commits. Its limit: a write committed by another process is not in
it, so with several service processes behind one balancer a member may read a replica that
lags behind a sale another process made, for as long as the replica lags (docs/operations.md
says what to do about it).
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar
from uuid import UUID

import asyncpg
from piccolo.engine.postgres import PostgresEngine

from adapters.persistence.engine import LoyaltyEngine, clean_connection, engine_config
from adapters.persistence.unit_of_work import PostgresUnitOfWork
from app.unit_of_work import UnitOfWork

T = TypeVar("T")

# The replica's replay position and the primary's insert position, as byte offsets.
REPLAYED = "SELECT (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint"
INSERTED = "SELECT (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::bigint"

# What a lost or stopping replica raises: refused or reset connections, a server shutting down
# (class 57: admin shutdown, cannot connect now, crash), a connection that is gone (class 08),
# a query cancelled by a conflict with recovery, a connect that timed out.
REPLICA_LOST: tuple[type[BaseException], ...] = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.SerializationError,
    asyncpg.exceptions.InternalClientError,
)


class WritePositions:
    """``member -> WAL position of their last write`` committed by this process, bounded."""

    def __init__(self, *, capacity: int = 100_000, horizon: float = 300.0) -> None:
        self._capacity = capacity
        self._horizon = horizon
        self._at: OrderedDict[UUID, tuple[int, float]] = OrderedDict()  # oldest first
        self.floor = 0  # the highest position forgotten before the replica was seen past it
        self.latest = 0  # the position of this process's last commit, member or not

    def record(self, members: Iterable[UUID], position: int) -> None:
        now = time.monotonic()
        self.latest = max(self.latest, position)
        for member in members:
            self._at.pop(member, None)
            self._at[member] = (position, now)
        while self._at:
            oldest, (at, since) = next(iter(self._at.items()))
            if len(self._at) <= self._capacity and now - since <= self._horizon:
                break
            del self._at[oldest]
            self.floor = max(self.floor, at)

    def of(self, member: UUID | None) -> int:
        """The position a replica must have replayed before it may answer for ``member``."""
        if member is None:
            return self.floor
        entry = self._at.get(member)
        return max(self.floor, entry[0]) if entry else self.floor

    def replayed(self, position: int) -> None:
        """Forgets the writes a replica has replayed: they can no longer be missed."""
        done = [member for member, (at, _) in self._at.items() if at <= position]
        for member in done:
            del self._at[member]

    def __len__(self) -> int:
        return len(self._at)


@dataclass
class ReadCounts:
    """Where reads went (tests and the metrics read these)."""

    replica: int = 0
    primary: int = 0
    waited: int = 0  # reads that waited for the replica to replay a member's write
    lagging: int = 0  # reads sent to the primary because the wait ran out
    lost: int = 0  # replica failures answered by the primary
    by_reason: dict[str, int] = field(default_factory=dict)


class ReadRouter:
    """Runs a read on the replica when it may answer, else on the primary.

    Without a replica every read runs on the primary's pool, exactly as before.
    """

    @classmethod
    def of(cls, database: PostgresEngine | ReadRouter) -> ReadRouter:
        """A router as given, or the primary-only one of an engine (tests, scripts)."""
        return database if isinstance(database, ReadRouter) else cls(database)

    def __init__(
        self,
        primary: PostgresEngine,
        replica: LoyaltyEngine | None = None,
        *,
        wait: float = 0.05,
        poll: float = 0.002,
        cooldown: float = 5.0,
        positions: WritePositions | None = None,
    ) -> None:
        self.primary = primary
        self.replica = replica
        self.positions = positions or WritePositions()
        self.counts = ReadCounts()
        self._wait = wait
        self._poll = poll
        self._cooldown = cooldown
        self._down_until = 0.0
        self._replayed = -1  # the highest replay position seen; -1: none yet

    # -- writes ------------------------------------------------------------------------

    async def committed(self, connection: Any, members: set[UUID]) -> None:
        """Called by the unit of work after each COMMIT, with the members it wrote."""
        if self.replica is None:
            return
        try:
            position = await connection.fetchval(INSERTED)
        except (OSError, asyncpg.InterfaceError, asyncpg.PostgresError):
            # The commit stands; any later insert position is past it, so ask anew.
            try:
                async with clean_connection(self.primary) as fresh:
                    position = await fresh.fetchval(INSERTED)
            except (OSError, asyncpg.InterfaceError, asyncpg.PostgresError):
                # The primary is gone too: no position to wait for, so every read goes to
                # the primary (when it is back) for the cooldown.
                self._down_until = time.monotonic() + self._cooldown
                return
        self.positions.record(members, position)

    # -- reads -------------------------------------------------------------------------

    @property
    def replica_up(self) -> bool:
        return self.replica is not None and time.monotonic() >= self._down_until

    async def run(
        self,
        read: Callable[[Any], Awaitable[T]],
        *,
        member: UUID | None = None,
        member_of: Callable[[T], UUID | None] | None = None,
        own_commits: bool = False,
        clean: bool = True,
    ) -> T:
        """``read(connection)`` on the replica if it has replayed every write of ``member``
        (or, with ``member_of``, of the member the read found) this process committed; with
        ``own_commits``, every commit of this process (the back office's reads)."""
        target = self.positions.latest if own_commits else self.positions.of(member)
        if not self.replica_up or not await self._reached(target):
            return await self._on_primary(read, clean)
        seen = self._replayed  # the read's snapshot holds at least this much
        try:
            result = await self._on_replica(read, clean)
        except REPLICA_LOST:
            self._lost()
            return await self._on_primary(read, clean)
        if member_of is not None:
            found = member_of(result)
            if found is not None and self.positions.of(found) > seen:
                # Found by card or phone, written since the position known before the read.
                return await self.run(read, member=found, own_commits=own_commits, clean=clean)
        return result

    async def units(self, query: Callable[[UnitOfWork], Awaitable[T]]) -> T:
        """``query`` in a unit of work on the replica once it has replayed every commit of
        this process (the back office's reads: staff see what they just changed), else, or
        if the replica is lost or refuses a write, in one on the primary. Read-only: the unit
        is never committed."""
        assert isinstance(self.primary, LoyaltyEngine)
        if self.replica_up and await self._reached(self.positions.latest):
            assert self.replica is not None
            try:
                async with PostgresUnitOfWork(self.replica, tables=self.primary) as uow:
                    result = await query(uow)
                self.counts.replica += 1
                return result
            except REPLICA_LOST:
                self._lost()
            except asyncpg.exceptions.ReadOnlySQLTransactionError:
                self._note("query_wrote")  # a read that writes after all: the primary's job
        self.counts.primary += 1
        async with PostgresUnitOfWork(self.primary) as uow:
            return await query(uow)

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Any]:
        """A connection for a read that streams (an export): the replica's when it is up and
        has replayed every commit of this process, else the primary's. A replica lost
        mid-stream is an error."""
        if self.replica_up and await self._reached(self.positions.latest):
            assert self.replica is not None
            assert self.replica.pool is not None
            try:
                connection = await self.replica.pool.acquire()
            except REPLICA_LOST:
                self._lost()
            else:
                try:
                    self.counts.replica += 1
                    yield connection
                finally:
                    await self.replica.pool.release(connection)
                return
        assert self.primary.pool is not None
        self.counts.primary += 1
        async with self.primary.pool.acquire() as connection:
            yield connection

    async def _reached(self, position: int) -> bool:
        """Whether the replica has replayed ``position``, waiting at most ``wait`` for it."""
        if position <= self._replayed:
            return True
        deadline = time.monotonic() + self._wait
        waited = False
        while True:
            try:
                replayed = await self._on_replica(_replayed_position, True, count=False)
            except REPLICA_LOST:
                self._lost()
                return False
            if replayed is None:  # not in recovery: promoted, or not a standby at all
                self._note("not_standby")
                return False
            if replayed > self._replayed:
                self._replayed = replayed
                self.positions.replayed(replayed)
            if position <= replayed:
                if waited:
                    self.counts.waited += 1
                return True
            if time.monotonic() + self._poll > deadline:
                self.counts.lagging += 1
                return False
            waited = True
            await asyncio.sleep(self._poll)

    async def _on_replica(
        self, read: Callable[[Any], Awaitable[T]], clean: bool, *, count: bool = True
    ) -> T:
        assert self.replica is not None
        if self.replica.pool is None:
            raise RuntimeError("the replica's connection pool is not started")
        if clean:
            async with clean_connection(self.replica) as connection:
                result = await read(connection)
        else:
            async with self.replica.pool.acquire() as connection:
                result = await read(connection)
        if count:
            self.counts.replica += 1
        return result

    async def _on_primary(self, read: Callable[[Any], Awaitable[T]], clean: bool) -> T:
        self.counts.primary += 1
        if clean:
            async with clean_connection(self.primary) as connection:
                return await read(connection)
        if self.primary.pool is None:
            raise RuntimeError("the engine's connection pool is not started")
        async with self.primary.pool.acquire() as connection:
            return await read(connection)

    def _lost(self) -> None:
        self.counts.lost += 1
        self._down_until = time.monotonic() + self._cooldown
        # A replica that comes back may be another standby, or restored: learn its position
        # afresh rather than trust the one seen before.
        self._replayed = -1

    def _note(self, reason: str) -> None:
        self.counts.by_reason[reason] = self.counts.by_reason.get(reason, 0) + 1


async def _replayed_position(connection: Any) -> int | None:
    position: int | None = await connection.fetchval(REPLAYED)
    return position


async def start_replica_engine(database_url: str, *, max_size: int) -> LoyaltyEngine:
    """The replica's pool: no connection at start (a replica that is down must not stop the
    service from starting), and a short connect timeout (a replica that does not answer is
    given up for the primary rather than waited for)."""
    engine = LoyaltyEngine(config=engine_config(database_url))
    await engine.start_connection_pool(min_size=0, max_size=max_size, timeout=2)
    return engine
