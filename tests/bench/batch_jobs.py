"""Batch jobs on generated data: 1,000,000 members, 3 sales each, 10,000,000 points lots.

Members and sales come from bench_tiers.py's SQL; the lots are generated here, in the order
they were earned (as a running programme inserts them). Lots are earned evenly over the last
395 days and expire at the end of the twelfth month after the month earned: at
NOW (23 November) those earned before 1 November a year ago are due, about 1.9 % of them; at
the end of November, those earned in November a year ago as well (about 760,000 more). Each
member's available balance is the sum of their lots, and each member has one opening ledger
entry for it (lots carry no movements, so `loyalty ledger verify` would not reconcile them;
the jobs timed here do not need it to).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from adapters.persistence.engine import start_engine, stop_engine
from adapters.persistence.points_expiry import expire_points
from adapters.persistence.points_liability import points_liability
from adapters.persistence.tier_review import REVIEW_WORKERS, review_tiers
from adapters.persistence.tier_simulation import simulate_tiers
from tests.bench.bench_tiers import NOW, PROPOSAL, generate

# Lots are generated in the order a running programme inserts them: by the time they were
# earned, so that ids and the table's physical order follow time, and the lots due at one
# month end lie together, as they do in production. (Until 2026-12-07 the earned times were
# random within each chunk: a month's lots were spread over every page of the table, and each
# expiry batch read and wrote about 40 % of the table's pages; docs/performance.md.)
LOTS = """
INSERT INTO points_lots (member_id, reference, earned_at, expires_at, points, remaining)
SELECT md5((1 + floor(random() * $2::int))::int::text)::uuid, 'sale:bench-' || g, earned,
       date_trunc('month', earned + interval '13 months') - interval '1 second',
       pts, pts
FROM (
    -- Lot g is earned in the g-th slot of the 395 days, at a random moment of its slot: time
    -- follows g, and so do the ids. Each lot's member is drawn at random, as before, so a
    -- member's lots due at one month end are as many as they were.
    SELECT g, $1::timestamptz - interval '395 days'
              + ((g - 1)::float8 + random()) / $5::bigint * interval '395 days' AS earned,
           (1 + floor(random() * 500))::bigint AS pts
    FROM generate_series($3::bigint, $4::bigint) AS g
) AS l
ORDER BY g
"""

# Each member's history before the lots: one opening `earn` entry, hashed as the chain trigger
# would hash a first entry, so that the entries table has the size and statistics it has in
# a running programme (an empty table makes the chain trigger's lookup a sequential scan).
OPENING_ENTRIES = """
INSERT INTO points_entries (member_id, entry_type, points, reference, posting_key, created_at,
                            seq, prev_hash, entry_hash)
SELECT member_id, 'earn', total, 'migration:opening', 'opening', at, 1, ''::bytea,
       loyalty_entry_hash(member_id, 1, 'earn', total, 'migration:opening', 'opening', at,
                          NULL, NULL, NULL, ''::bytea)
FROM (SELECT member_id, sum(points)::bigint AS total, $1::timestamptz - interval '400 days' AS at
      FROM points_lots GROUP BY member_id) AS s
"""

BALANCES = """
UPDATE points_accounts AS a SET available = s.total
FROM (SELECT member_id, sum(remaining) AS total FROM points_lots GROUP BY member_id) AS s
WHERE a.member_id = s.member_id
"""

LOT_CHUNK = 2_000_000
# Lots earned in November a year before NOW expire at the end of November: all due at once.
MONTH_END = datetime(2026, 12, 1, tzinfo=UTC)
_DUE = "SELECT count(*) FROM points_lots WHERE remaining > 0 AND NOT pending AND expires_at <= $1"


_TICK = os.sysconf("SC_CLK_TCK")
_BACKENDS = "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"


def _process_cpu(pid: int) -> float | None:
    """User + system CPU seconds of a process on this machine, from /proc."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / _TICK


async def _backend_cpu(url: str, done: asyncio.Event, present: set[int]) -> float | None:
    """CPU seconds spent by the database's backends until ``done``: their pids are sampled
    every 0.2 s (the jobs open connections of their own), each read from /proc. None when the
    server's processes are not visible here (another machine, another container)."""
    connection = await asyncpg.connect(url)
    first: dict[int, float] = {}
    last: dict[int, float] = {}
    try:
        while True:
            for row in await connection.fetch(_BACKENDS):
                spent = _process_cpu(row["pid"])
                if spent is not None:
                    first.setdefault(row["pid"], spent)
                    last[row["pid"]] = spent
            if done.is_set():
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), 0.2)
    finally:
        await connection.close()
    if not last:
        return None
    # A backend first seen during the job started during it: all its CPU counts.
    return sum(spent - (first[pid] if pid in present else 0.0) for pid, spent in last.items())


async def _timed(
    label: str,
    seconds: dict[str, float],
    awaitable: Any,
    *,
    url: str | None = None,
    cpu: dict[str, dict[str, float | None]] | None = None,
) -> Any:
    """Runs a job, printing its wall time; given ``url`` and ``cpu``, also the CPU seconds of
    this process and of the database's backends (what a loaded machine cannot distort)."""
    done = asyncio.Event()
    sampler = None
    if url is not None and cpu is not None:
        probe = await asyncpg.connect(url)
        try:
            present = {row["pid"] for row in await probe.fetch(_BACKENDS)}
        finally:
            await probe.close()
        sampler = asyncio.create_task(_backend_cpu(url, done, present))
    started, python_started = time.perf_counter(), time.process_time()
    try:
        value = await awaitable
    finally:
        done.set()
    seconds[label] = round(time.perf_counter() - started, 2)
    line = f"  {label:<44} {seconds[label]:>8.2f} s"
    if sampler is not None and cpu is not None:
        backends = await sampler
        python = round(time.process_time() - python_started, 1)
        cpu[label] = {
            "python": python,
            "postgres": None if backends is None else round(backends, 1),
        }
        line += f"   cpu: job {python} s + postgres {cpu[label]['postgres']} s"
    print(line, flush=True)
    return value


async def generate_lots(url: str, members: int, lots: int, seconds: dict[str, float]) -> int:
    connection = await asyncpg.connect(url)
    try:
        await connection.execute("SET session_replication_role = replica")  # skip FK triggers
        started = time.perf_counter()
        # Secondary indexes are built once after the load (as a restore would), which is
        # several times faster than maintaining them row by row; they end up the same.
        indexes = await connection.fetch(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'points_lots' "
            "AND indexname <> 'points_lots_pkey'"
        )
        for index in indexes:
            await connection.execute(f'DROP INDEX "{index["indexname"]}"')
        for first in range(1, lots + 1, LOT_CHUNK):
            last = min(lots, first + LOT_CHUNK - 1)
            await connection.execute(LOTS, NOW, members, first, last, lots)
        for index in indexes:
            await connection.execute(index["indexdef"])
        seconds[f"generate {lots:,} lots"] = round(time.perf_counter() - started, 2)
        print(f"  generate {lots:,} lots {seconds[f'generate {lots:,} lots']:>30.2f} s")
        await _timed(
            "opening ledger entry per member", seconds, connection.execute(OPENING_ENTRIES, NOW)
        )
        await connection.execute("SET session_replication_role = origin")
        await _timed("set balances to the lots' sum", seconds, connection.execute(BALANCES))
        await _timed("vacuum analyze", seconds, connection.execute("VACUUM ANALYZE"))
        due: int = await connection.fetchval(_DUE, NOW)
        return due
    finally:
        await connection.close()


async def run(url: str, *, members: int, lots: int) -> dict[str, Any]:
    """Times the jobs on the (migrated, empty) database at ``url``."""
    setup: dict[str, float] = {}
    jobs: dict[str, float] = {}
    cpu: dict[str, dict[str, float | None]] = {}
    await generate(url, members, setup)
    due = await generate_lots(url, members, lots, setup)
    engine = await start_engine(url, min_size=1, max_size=REVIEW_WORKERS + 1)
    connection = await asyncpg.connect(url)
    try:
        review = await _timed(
            "review-tiers (first run)", jobs, review_tiers(engine, NOW), url=url, cpu=cpu
        )
        await _timed(
            "review-tiers (next day)",
            jobs,
            review_tiers(engine, NOW + timedelta(days=1)),
            url=url,
            cpu=cpu,
        )
        program = await connection.fetchrow("SELECT earn_rate, time_zone FROM program_settings")
        assert program is not None
        await _timed(
            "tiers simulate",
            jobs,
            simulate_tiers(
                connection, PROPOSAL, now=NOW, earn_rate=program["earn_rate"], currency_exponent=2
            ),
        )
        expiry = await _timed("expire-points", jobs, expire_points(engine, NOW), url=url, cpu=cpu)
        today = NOW.date()
        await _timed(
            "points-liability report",
            jobs,
            points_liability(
                connection,
                time_zone=program["time_zone"],
                start=today.replace(day=1),
                end=today + timedelta(days=1),
            ),
        )
        # The month's end: the lots earned in the month after the first run's are all due at
        # once, as after the end of any month under an end_of_month rule.
        month_end_due: int = await connection.fetchval(_DUE, MONTH_END)
        month_end = await _timed(
            "expire-points (month end)", jobs, expire_points(engine, MONTH_END), url=url, cpu=cpu
        )
    finally:
        await connection.close()
        await stop_engine(engine)
    return {
        "members": members,
        "sales": members * 3,
        "lots": lots,
        "lots_due": due,
        "setup_seconds": setup,
        "seconds": jobs,
        "cpu_seconds": cpu,
        "review": repr(review),
        "lots_due_month_end": month_end_due,
        "expiry": {"lots": expiry.lots, "points": expiry.points, "members": expiry.members},
        "expiry_month_end": {
            "lots": month_end.lots,
            "points": month_end.points,
            "members": month_end.members,
        },
    }
