"""Points-ledger batch jobs on PostgreSQL: set-based expiry, and the members due a release.

Lock order, the same as every other writer of the ledger: a member's ``points_accounts`` row
first, then their lots and entries. The expiry job locks all the accounts of a batch in
ascending member id order, in one statement, before it touches any lot, so that it can wait
for a sale but never deadlock with one (a sale locks a single account).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import datetime
from typing import TypeAlias
from uuid import UUID, uuid4

import asyncpg
import structlog

from adapters.persistence import ledger_hash
from adapters.persistence.connections import Database, connection_for
from app.batch_jobs import EXPIRY_RUN, ExpiryReport
from domain.points import Reference

log = structlog.get_logger("loyalty.jobs")

EXPIRY_BATCH_SIZE = 50_000
EXPIRY_WORKERS = 2
EXPIRY_WORK_MEM = "64MB"  # per sort of a batch; at most EXPIRY_WORKERS batches at once


# Every lot due at the start of the run, per member in member id order: read once (from the
# partial index on expires_at), held server-side and fetched a batch at a time, so that no
# batch searches the lots again. Lots that fall due while the job runs are the next run's.
_DECLARE_DUE = """
DECLARE expiry_due_lots NO SCROLL CURSOR WITH HOLD FOR
SELECT member_id, array_agg(id ORDER BY id) AS lots
FROM points_lots
WHERE remaining > 0 AND NOT pending AND expires_at <= $1
GROUP BY member_id
ORDER BY member_id
"""
_FETCH_DUE = "FETCH 1000 FROM expiry_due_lots"
_CLOSE_DUE = "CLOSE expiry_due_lots"

# The lock order: accounts before lots and entries, ascending member id. The sort runs below
# the row locking, so the rows are locked in this order.
_LOCK_ACCOUNTS = """
SELECT member_id FROM points_accounts
WHERE member_id = ANY($1::uuid[])
ORDER BY member_id
FOR UPDATE
"""

# Read after the lock, so what a sale did to these lots before it let go of the account is
# seen, and the member's last entry (the head of the chain) cannot move until the commit.
_LOCKED_DUE_LOTS = """
WITH due AS MATERIALIZED (
    SELECT lot.id, lot.member_id, lot.remaining, lot.expires_at
    FROM points_lots AS lot
    WHERE lot.id = ANY($2::bigint[])
      AND lot.remaining > 0 AND NOT lot.pending AND lot.expires_at <= $1
)
SELECT due.id, due.member_id, due.remaining, due.expires_at, head.seq, head.entry_hash
FROM due
JOIN (
    -- One look at the head of each member's chain, not one per lot.
    SELECT member.member_id, last.seq, last.entry_hash
    FROM (SELECT DISTINCT member_id FROM due) AS member
    LEFT JOIN LATERAL (
        SELECT seq, entry_hash FROM points_entries AS entry
        WHERE entry.member_id = member.member_id
        ORDER BY seq DESC
        LIMIT 1
    ) AS last ON true
) AS head ON head.member_id = due.member_id
ORDER BY due.member_id, due.id
"""

# What PointsAccount.expire does, for every due lot of the batch at once: one `expire` entry
# per lot, chained by the job (the statement trigger checks every link and hash), one movement
# per lot, the lot emptied, the member's available balance reduced by the sum. Entry ids are
# drawn in the order of the arrays (member, then lot), so a member's entries keep id order =
# seq order. A lot emptied only if it still holds what was read: a change made without the
# account lock leaves it out, and the counts below then fail the batch.
_EXPIRE_LOCKED = """
WITH due AS MATERIALIZED (
    SELECT d.lot_id, d.member_id, d.points, d.expires_at, d.seq, d.prev_hash, d.entry_hash,
           nextval('points_entries_id_seq') AS entry_id
    FROM unnest($3::bigint[], $4::uuid[], $5::bigint[], $6::timestamptz[], $7::bigint[],
                $8::bytea[], $9::bytea[])
        WITH ORDINALITY AS d (lot_id, member_id, points, expires_at, seq, prev_hash, entry_hash, n)
    ORDER BY d.n
),
entries AS (
    INSERT INTO points_entries (id, member_id, entry_type, points, reference, posting_key,
                                created_at, expires_at, seq, prev_hash, entry_hash)
    SELECT entry_id, member_id, 'expire', -points, $2::text, $2::text || ':lot:' || lot_id,
           $1::timestamptz, expires_at, seq, prev_hash, entry_hash
    FROM due
    ORDER BY entry_id
    RETURNING 1
),
moved AS (
    INSERT INTO points_lot_movements (member_id, entry_id, lot_id, points)
    SELECT member_id, entry_id, lot_id, -points FROM due ORDER BY entry_id
    RETURNING 1
),
emptied AS (
    UPDATE points_lots AS lot SET remaining = 0
    FROM (SELECT lot_id, points FROM due ORDER BY lot_id) AS due
    WHERE lot.id = due.lot_id AND lot.remaining = due.points
    RETURNING 1
),
per_member AS (
    SELECT member_id, sum(points) AS points FROM due GROUP BY member_id
),
accounts AS (
    UPDATE points_accounts AS account
    SET available = account.available - per_member.points, updated_at = $1
    FROM per_member WHERE account.member_id = per_member.member_id
    RETURNING 1
),
-- Integrators hear of every expired lot, as of an entry posted one by one
-- (domain.integration_events.points_events), in the same transaction.
announced AS (
    INSERT INTO integration_events (id, event_type, occurred_at, data, member_id)
    SELECT gen_random_uuid(), 'points.expired', $1::timestamptz,
           jsonb_build_object('member_id', member_id, 'points', -points,
                              'entry_type', 'expire', 'reference', $2::text,
                              'expires_at', expires_at),
           member_id
    FROM due ORDER BY entry_id
    RETURNING 1
)
SELECT
    (SELECT count(*) FROM entries) AS lots,
    (SELECT count(*) FROM moved) AS movements,
    (SELECT count(*) FROM emptied) AS emptied,
    (SELECT coalesce(sum(points), 0)::bigint FROM per_member) AS points,
    (SELECT count(*) FROM accounts) AS members
"""

_RELEASE_CANDIDATES = """
SELECT member_id FROM (
    SELECT member_id FROM points_lots
    WHERE pending AND NOT frozen AND release_at <= $1
      AND ($2::uuid IS NULL OR member_id > $2::uuid)
    ORDER BY member_id
    LIMIT $3
) AS due
GROUP BY member_id
ORDER BY member_id
"""


class _DueLots:
    """The lots due at the start of the run, fetched from a held cursor a batch at a time.

    Workers share it: ``next_batch`` hands each one whole members, in member id order, until
    its batch holds ``batch_size`` lots; members never appear in two batches.
    """

    def __init__(self, connection: asyncpg.Connection, batch_size: int) -> None:
        self._connection = connection
        self._batch_size = batch_size
        self._rows: deque[asyncpg.Record] = deque()
        self._exhausted = False
        self._turn = asyncio.Lock()

    async def open(self, now: datetime) -> None:
        async with self._connection.transaction():
            # A cursor is planned for its first rows (cursor_tuple_fraction 0.1): that walks an
            # index in member order through every open lot (31 s on the bench's 10M lots)
            # instead of reading the due ones and sorting them (2 s).
            await self._connection.execute("SET LOCAL cursor_tuple_fraction = 1")
            await self._connection.execute(_DECLARE_DUE, now)

    async def close(self) -> None:
        await self._connection.execute(_CLOSE_DUE)

    async def next_batch(self) -> tuple[list[UUID], list[int]]:
        members: list[UUID] = []
        lots: list[int] = []
        async with self._turn:
            while len(lots) < self._batch_size:
                if not self._rows:
                    if self._exhausted:
                        break
                    self._rows.extend(await self._connection.fetch(_FETCH_DUE))
                    self._exhausted = not self._rows
                    continue
                member_id, member_lots = self._rows.popleft()
                members.append(member_id)
                lots.extend(member_lots)
        return members, lots


@dataclass(slots=True)
class _ExpiryTotals:
    lots: int = 0
    points: int = 0
    members: int = 0
    batches: int = 0


_ExpiryColumns: TypeAlias = tuple[
    list[int], list[UUID], list[int], list[datetime], list[int], list[bytes], list[bytes]
]


def _chain_expiries(
    rows: Sequence[asyncpg.Record], *, locked: set[UUID], now: datetime, reference: str
) -> _ExpiryColumns:
    """The expire entries of the batch, numbered and hashed after each member's last entry.

    ``rows`` are in (member, lot) order with the member's head (seq, entry_hash) on each; the
    hash is ledger_hash's, which is byte-identical to loyalty_entry_hash (the insert's
    statement trigger recomputes it, and refuses the batch if the two ever disagree).
    """
    columns: _ExpiryColumns = ([], [], [], [], [], [], [])
    lot_ids, member_ids, amounts, expiries, seqs, prev_hashes, hashes = columns
    hash_entry = ledger_hash.batch_hasher(entry_type="expire", reference=reference, created_at=now)
    member: UUID | None = None
    seq = 0
    prev_hash = b""
    for lot_id, member_id, remaining, expires_at, head_seq, head_hash in rows:
        if member_id not in locked:
            continue
        if member_id != member:
            member = member_id
            seq = head_seq or 0
            prev_hash = bytes(head_hash) if head_hash is not None else b""
        seq += 1
        entry_hash = hash_entry(
            member_id, seq, -remaining, f"{reference}:lot:{lot_id}", expires_at, prev_hash
        )
        lot_ids.append(lot_id)
        member_ids.append(member_id)
        amounts.append(remaining)
        expiries.append(expires_at)
        seqs.append(seq)
        prev_hashes.append(prev_hash)
        hashes.append(entry_hash)
        prev_hash = entry_hash
    return columns


async def _expire_batch(
    connection: asyncpg.Connection,
    candidates: list[UUID],
    lot_ids: list[int],
    *,
    now: datetime,
    reference: str,
    totals: _ExpiryTotals,
) -> None:
    """One transaction: lock the accounts, read the due lots and chain heads, write it all."""
    async with connection.transaction():
        # The write statement's estimated cost is far above JIT's threshold, and compiling it
        # (~0.1 s a batch) buys nothing: its time goes to index, heap and trigger work.
        await connection.execute("SET LOCAL jit = off")
        # The write sorts the batch four times (entries, movements, lots, events): in memory,
        # not in temporary files (a 50,000-lot batch spilled about 25 MB at the default 4 MB).
        await connection.execute(f"SET LOCAL work_mem = '{EXPIRY_WORK_MEM}'")
        locked = {row["member_id"] for row in await connection.fetch(_LOCK_ACCOUNTS, candidates)}
        rows = await connection.fetch(_LOCKED_DUE_LOTS, now, lot_ids)
        columns = _chain_expiries(rows, locked=locked, now=now, reference=reference)
        result = await connection.fetchrow(_EXPIRE_LOCKED, now, reference, *columns)
        assert result is not None
        expected = len(columns[0])
        if not result["lots"] == result["movements"] == result["emptied"] == expected:
            raise RuntimeError(
                f"expiry batch wrote inconsistent rows: {dict(result)}, {expected} lots read"
            )
    totals.batches += 1
    totals.lots += result["lots"]
    totals.points += result["points"]
    totals.members += result["members"]
    if len(locked) < len(candidates):
        log.warning(
            "expiry.lots_without_account",
            members=[str(m) for m in sorted(set(candidates) - locked)],
        )


async def expire_points(
    database: Database,
    now: datetime,
    batch_size: int = EXPIRY_BATCH_SIZE,
    *,
    run_id: UUID | None = None,
    workers: int = EXPIRY_WORKERS,
) -> ExpiryReport:
    """Expires what is left of every lot whose expiry is at or before ``now``.

    The due lots are read once; then each batch is one transaction: lock the members'
    accounts, read their due lots and the heads of their chains, write every entry, movement,
    lot and balance in one statement. A batch holds about ``batch_size`` lots (a member's lots
    are never split across batches). Given an engine, ``workers`` connections of its pool run
    batches side by side (their members are disjoint, so they never wait on each other); given
    a connection, it runs them one after another, and the connection must not be inside a
    transaction (each batch commits). Running it again expires nothing twice: an expired lot
    has nothing remaining.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if batch_size < 1 or workers < 1:
        raise ValueError("batch_size and workers must be at least 1")
    run_id = run_id or uuid4()
    reference = str(Reference(EXPIRY_RUN, str(run_id)))
    totals = _ExpiryTotals()

    async def work(due: _DueLots, connection: asyncpg.Connection) -> None:
        while True:
            candidates, lot_ids = await due.next_batch()
            if not candidates:
                return
            await _expire_batch(
                connection, candidates, lot_ids, now=now, reference=reference, totals=totals
            )

    async with connection_for(database) as reader:
        due = _DueLots(reader, batch_size)
        await due.open(now)
        try:
            if isinstance(database, asyncpg.Connection) or workers == 1:
                await work(due, reader)
            else:
                # The reader only fetches from the cursor. Each worker opens a connection of its
                # own rather than taking one from the pool the tills share (and a small pool
                # could not wait for a job that holds part of it).
                async with AsyncExitStack() as stack:
                    connections = []
                    for _ in range(workers):
                        connection = await database.get_new_connection()
                        stack.push_async_callback(connection.close)
                        connections.append(connection)
                    try:
                        async with asyncio.TaskGroup() as group:
                            for connection in connections:
                                group.create_task(work(due, connection))
                    except ExceptionGroup as failed:
                        # Callers see the error of the batch that failed (its transaction rolled
                        # back, the other workers' batches are cancelled and rolled back).
                        raise failed.exceptions[0] from None
        finally:
            await due.close()
    return ExpiryReport(
        lots=totals.lots,
        points=totals.points,
        members=totals.members,
        batches=totals.batches,
        run_id=run_id,
    )


class PostgresReleasableLots:
    """The release job's read model: members with pending lots due, in member id order."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def members_due(self, now: datetime, *, after: UUID | None, limit: int) -> Sequence[UUID]:
        async with connection_for(self._database) as connection:
            rows = await connection.fetch(_RELEASE_CANDIDATES, now, after, limit)
        return [row["member_id"] for row in rows]
