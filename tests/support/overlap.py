"""Proof that a race really raced: requests that overlapped in the database wait on each
other's locks. A burst in which none ever waited may have run one request after another, and
then it proved nothing.

`race` starts a burst behind a gate: a connection of its own holds the table every request of
the burst writes first (the idempotency keys of the tills' and admins' writes, the webhook
events, the login challenges) in EXCLUSIVE mode, which lets plain reads through and stops
every write and every row lock.
It opens the gate only once every request of the burst waits on it, as pg_locks shows: all of
them were in flight in the database at one instant. They then race for the rows they share.
Meanwhile `lock_waits` samples pg_locks from a thread of its own and records how many waited,
on what, and for how long; each race test asserts on that record and prints it on failure.

Every TCP and in-process race test goes through here (tests/e2e/test_*races*.py,
tests/integration/test_*races*.py). Sampling alone was tried first: on a busy 2-core machine a
sale's transaction of a few milliseconds often finished between two samples, so a real race
could not be told from a serial one.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TypeVar

import asyncpg

# pg_locks, not pg_stat_activity alone: the latter is a snapshot kept for a transaction, and
# pg_locks names the lock waited on. Only this database's backends count: the server is shared.
WAITING = """
SELECT l.locktype, count(*) AS n
FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE NOT l.granted AND a.datname = current_database() AND a.pid <> pg_backend_pid()
GROUP BY l.locktype
"""


@dataclass
class LockWaits:
    samples: int = 0
    most: int = 0  # the most backends seen waiting at one instant
    now: int = 0  # how many waited at the latest sample
    seen: int = 0  # samples in which at least one backend waited
    kinds: Counter[str] = field(default_factory=Counter)  # locktype -> samples it was waited on
    seconds: float = 0.0

    def record(self, rows: list[asyncpg.Record]) -> int:
        self.samples += 1
        waiting = int(sum(r["n"] for r in rows))
        self.now = waiting
        if waiting:
            self.seen += 1
            self.most = max(self.most, waiting)
            self.kinds.update(r["locktype"] for r in rows)
        return waiting

    def describe(self) -> str:
        kinds = ", ".join(f"{k} in {n}" for k, n in self.kinds.most_common()) or "none"
        return (
            f"{self.samples} samples over {self.seconds:.2f}s; at most {self.most} backends "
            f"waiting at once, in {self.seen} samples; lock types waited on: {kinds}"
        )

    def assert_overlapped(self, burst: str, at_least: int = 1) -> None:
        assert self.most >= at_least, (
            f"{burst}: fewer than {at_least} request(s) ever waited on another's lock, so they "
            f"may not have overlapped ({self.describe()})"
        )


async def waiting_for_a_lock(connection: asyncpg.Connection) -> int:
    """How many of this database's backends (other than ``connection``'s) wait on a lock.

    Inside a transaction PostgreSQL keeps the pg_stat_activity it first read: the snapshot is
    dropped first, so that backends that started since are seen."""
    await connection.execute("SELECT pg_stat_clear_snapshot()")
    rows = await connection.fetch(WAITING)
    return int(sum(r["n"] for r in rows))


@asynccontextmanager
async def lock_waits(db_url: str, interval: float = 0.001) -> AsyncIterator[LockWaits]:
    """Samples lock waits until the block ends: `async with lock_waits(url) as waits: ...`.

    The sampler runs in a thread with its own event loop and connection, so that it keeps
    sampling while the burst keeps the test's own event loop busy."""
    waits = LockWaits()
    ready = threading.Event()
    done = threading.Event()
    failure: list[BaseException] = []

    async def sample() -> None:
        connection = await asyncpg.connect(db_url)
        try:
            statement = await connection.prepare(WAITING)
            ready.set()
            while not done.is_set():
                waits.record(await statement.fetch())
                await asyncio.sleep(interval)
        finally:
            await connection.close()

    def run() -> None:
        try:
            asyncio.run(sample())
        except BaseException as error:  # reported in the test's own thread
            failure.append(error)
            ready.set()

    sampler = threading.Thread(target=run, name="lock-waits", daemon=True)
    sampler.start()
    await asyncio.to_thread(ready.wait, 10)
    if failure:
        raise failure[0]
    started = time.monotonic()
    try:
        yield waits
    finally:
        done.set()
        await asyncio.to_thread(sampler.join, 10)
        waits.seconds = time.monotonic() - started
    if failure:
        raise failure[0]


T = TypeVar("T")


async def race(
    db_url: str,
    burst: Sequence[Awaitable[T]],
    *,
    gate: str,
    queued: int | None = None,
    patience: float = 30,
) -> tuple[list[T], LockWaits]:
    """Runs ``burst`` at once behind ``gate`` (a table name) and returns its results, in
    order, with the record of the lock waits it caused. The gate opens when ``queued``
    requests wait on it (all of them by default; fewer when a pool smaller than the burst
    holds the rest back before they reach the database)."""
    async with lock_waits(db_url) as waits:
        keeper = await asyncpg.connect(db_url)
        try:
            transaction = keeper.transaction()
            await transaction.start()
            # EXCLUSIVE: plain reads pass, writes and SELECT ... FOR UPDATE wait.
            await keeper.execute(f'LOCK TABLE "{gate}" IN EXCLUSIVE MODE')
            tasks = [asyncio.ensure_future(request) for request in burst]
            expected = len(tasks) if queued is None else queued
            deadline = time.monotonic() + patience
            # The sampler's count, not the keeper's: in its transaction, the keeper would see
            # pg_stat_activity as it was when the transaction first read it.
            while waits.now < expected:
                finished = [t for t in tasks if t.done()]
                if finished or time.monotonic() > deadline:
                    await transaction.rollback()
                    await asyncio.gather(*tasks, return_exceptions=True)
                    raise AssertionError(
                        f"the burst never queued whole at the {gate} gate: {len(finished)} of "
                        f"{len(tasks)} requests finished without writing {gate} first "
                        f"({waits.describe()})"
                    )
                await asyncio.sleep(0.002)
            await transaction.commit()
        finally:
            await keeper.close()
        results = list(await asyncio.gather(*tasks))
    return results, waits
