"""The points-ledger jobs on real PostgreSQL: set-based expiry and the release of pending points.

A fixed clock walks across the end of March 2026 in Europe/London, where summer time starts on
Sunday 29 March at 01:00 UTC: points expire exactly when the local day ends, never before.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import pytest
from litestar.testing import AsyncTestClient
from piccolo.engine.postgres import PostgresEngine

from adapters.persistence import points_expiry
from adapters.persistence.job_locks import PostgresJobLocks
from adapters.persistence.ledger_hash import hash_of_row
from adapters.persistence.points_expiry import PostgresReleasableLots, expire_points
from adapters.persistence.tables import ALL_TABLES
from adapters.persistence.unit_of_work import PostgresUnitOfWork
from adapters.system import UuidGenerator
from app.batch_jobs import EXPIRY_RUN
from app.scheduling import JOBS_BY_NAME, run_job
from app.settings import Settings
from app.use_cases.pending_points import ReleaseReport, release_pending
from app.use_cases.sales import LineInput, RecordSale, record_sale
from app.wiring.asgi import create_app
from app.wiring.cli import main as cli_main
from app.wiring.scheduler import start_jobs, stop_jobs
from domain.points import Reference
from domain.program import ExpiryKind, PointsExpiryRule, ProgramSettings
from domain.sale_dating import SaleDating
from tests.integration.factories import a_member, a_store
from tests.support.job_ports import job_ports_on

pytestmark = pytest.mark.db

UowFactory = Callable[[], PostgresUnitOfWork]
LONDON = "Europe/London"
DEADLINE = 20  # seconds: a deadlock or a lost wake-up fails the test instead of hanging it


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def program(rule: PointsExpiryRule) -> ProgramSettings:
    return ProgramSettings(
        currency="GBP",
        time_zone=LONDON,
        earn_rate=Decimal(1),
        point_value=Decimal(1),
        points_expiry=rule,
        pending_days=0,
    )


THIRTY_DAYS = program(PointsExpiryRule(ExpiryKind.DAYS, 30))
MONTH_AFTER = program(PointsExpiryRule(ExpiryKind.END_OF_MONTH, 1))


@dataclass(frozen=True)
class FixedClock:
    instant: datetime

    def now(self) -> datetime:
        return self.instant


# Arranging -----------------------------------------------------------------------------------


async def a_member_with_account(uow_factory: UowFactory, n: int) -> UUID:
    member = a_member(f"+86138001{n:05d}", card=n)
    async with uow_factory() as uow:
        assert await uow.members.add(member) is True
        await uow.points.open_account(member.id)
        await uow.commit()
    return member.id


async def earn(
    uow_factory: UowFactory,
    member_id: UUID,
    points: int,
    *,
    at: datetime,
    expires_at: datetime | None,
    pending_until: datetime | None = None,
    reference: Reference | None = None,
) -> int:
    """Credits a lot through the domain; returns the lot's id."""
    async with uow_factory() as uow:
        account = await uow.points.get_for_update(member_id)
        account.earn(
            points,
            reference=reference or Reference("sale", str(uuid4())),
            now=at,
            expires_at=expires_at,
            pending_until=pending_until,
        )
        lot = account.new_lots[-1]
        await uow.points.save(account)
        await uow.commit()
    assert lot.id is not None
    return lot.id


async def redeem(uow_factory: UowFactory, member_id: UUID, points: int, *, at: datetime) -> None:
    async with uow_factory() as uow:
        account = await uow.points.get_for_update(member_id)
        account.redeem(points, reference=Reference("sale", str(uuid4())), now=at)
        await uow.points.save(account)
        await uow.commit()


# Reading -------------------------------------------------------------------------------------


async def fetch(engine: PostgresEngine, sql: str, *args: Any) -> list[asyncpg.Record]:
    async with engine.pool.acquire() as connection:
        rows: list[asyncpg.Record] = await connection.fetch(sql, *args)
        return rows


async def remaining(engine: PostgresEngine, *lot_ids: int) -> list[int]:
    rows = await fetch(engine, "SELECT id, remaining FROM points_lots WHERE id = ANY($1)", lot_ids)
    by_id = {row["id"]: row["remaining"] for row in rows}
    return [by_id[lot_id] for lot_id in lot_ids]


async def account(engine: PostgresEngine, member_id: UUID) -> tuple[int, int, int]:
    rows = await fetch(
        engine,
        "SELECT available, pending, debt FROM points_accounts WHERE member_id = $1",
        member_id,
    )
    return (rows[0]["available"], rows[0]["pending"], rows[0]["debt"])


async def entries(engine: PostgresEngine, member_id: UUID) -> list[asyncpg.Record]:
    return await fetch(
        engine, "SELECT * FROM points_entries WHERE member_id = $1 ORDER BY seq", member_id
    )


async def expire_entries(engine: PostgresEngine, member_id: UUID) -> list[asyncpg.Record]:
    return [e for e in await entries(engine, member_id) if e["entry_type"] == "expire"]


async def assert_ledger_consistent(engine: PostgresEngine) -> None:
    """Hash chains intact, and balances, lots, movements and entries agree for every member."""
    chains: dict[UUID, list[asyncpg.Record]] = defaultdict(list)
    for row in await fetch(engine, "SELECT * FROM points_entries ORDER BY member_id, seq"):
        chains[row["member_id"]].append(row)
    for member_id, chain in chains.items():
        previous = b""
        for n, row in enumerate(chain, start=1):
            assert row["seq"] == n, member_id
            assert bytes(row["prev_hash"]) == previous, (member_id, n)
            assert hash_of_row(dict(row)) == bytes(row["entry_hash"]), (member_id, n)
            previous = bytes(row["entry_hash"])

    balances = await fetch(
        engine,
        """
        SELECT a.member_id, a.available, a.pending, a.debt,
            (SELECT coalesce(sum(points), 0) FROM points_entries e
             WHERE e.member_id = a.member_id) AS ledger,
            (SELECT coalesce(sum(remaining), 0) FROM points_lots l
             WHERE l.member_id = a.member_id AND NOT l.pending) AS in_lots,
            (SELECT coalesce(sum(remaining), 0) FROM points_lots l
             WHERE l.member_id = a.member_id AND l.pending) AS in_pending_lots
        FROM points_accounts a
        """,
    )
    for row in balances:
        assert row["available"] - row["debt"] == row["ledger"], dict(row)
        assert row["available"] == row["in_lots"], dict(row)
        assert row["pending"] == row["in_pending_lots"], dict(row)

    # A lot's remaining is what it was credited plus its movements, each tied to an entry of
    # the same member; an expire entry moves exactly its own points out of exactly one lot.
    lots = await fetch(
        engine,
        """
        SELECT l.id, l.points, l.remaining,
            (SELECT coalesce(sum(m.points), 0) FROM points_lot_movements m
             WHERE m.lot_id = l.id) AS moved
        FROM points_lots l
        """,
    )
    for row in lots:
        assert row["remaining"] == row["points"] + row["moved"], dict(row)
    mismatched = await fetch(
        engine,
        """
        SELECT e.id FROM points_entries e
        LEFT JOIN points_lot_movements m ON m.entry_id = e.id
        WHERE e.entry_type = 'expire'
        GROUP BY e.id, e.points, e.member_id
        HAVING count(m.id) <> 1 OR sum(m.points) <> e.points
            OR bool_or(m.member_id <> e.member_id)
        """,
    )
    assert mismatched == []


# Expiry --------------------------------------------------------------------------------------


def test_expiry_rules_end_at_local_midnight_across_the_dst_change() -> None:
    # 30 days after 26 Feb is 28 Mar: its day ends at midnight GMT, before the clocks go forward.
    assert THIRTY_DAYS.expiry_for(utc(2026, 2, 26, 10)) == utc(2026, 3, 29, 0)
    # 30 days after 27 Feb is 29 Mar, the 23-hour day: it ends at midnight BST (23:00 UTC).
    assert THIRTY_DAYS.expiry_for(utc(2026, 2, 27, 10)) == utc(2026, 3, 29, 23)
    # The end of the month after February is the end of 31 March, in summer time.
    assert MONTH_AFTER.expiry_for(utc(2026, 2, 27, 10)) == utc(2026, 3, 31, 23)
    # 23:30 UTC on 31 March is already 1 April in London: the month after is May.
    assert MONTH_AFTER.expiry_for(utc(2026, 3, 31, 23, 30)) == utc(2026, 5, 31, 23)
    assert MONTH_AFTER.expiry_for(utc(2026, 3, 31, 22, 30)) == utc(2026, 4, 30, 23)


async def test_lots_expire_exactly_when_their_local_day_ends_across_dst_and_month_end(
    engine: PostgresEngine, uow_factory: UowFactory
) -> None:
    members = [await a_member_with_account(uow_factory, n) for n in (1, 2)]
    earned = [
        ("before-dst", THIRTY_DAYS, utc(2026, 2, 26, 10)),
        ("dst-day", THIRTY_DAYS, utc(2026, 2, 27, 10)),
        ("march", MONTH_AFTER, utc(2026, 2, 27, 10)),
        ("april", MONTH_AFTER, utc(2026, 3, 31, 22, 30)),
        ("may", MONTH_AFTER, utc(2026, 3, 31, 23, 30)),
    ]
    lots: dict[str, list[int]] = defaultdict(list)
    points: dict[int, int] = {}
    expiry: dict[int, datetime | None] = {}
    for m, member_id in enumerate(members):
        for k, (name, rules, at) in enumerate(earned):
            amount = (k + 1) * 10 ** (m + 1)  # 10, 20, ... and 100, 200, ...
            lot_id = await earn(
                uow_factory, member_id, amount, at=at, expires_at=rules.expiry_for(at)
            )
            lots[name].append(lot_id)
            points[lot_id] = amount
            expiry[lot_id] = rules.expiry_for(at)
    expired_at: dict[int, datetime] = {}

    async def run_at(now: datetime, *, expect: list[str]) -> None:
        report = await expire_points(engine, now)
        newly = [lot_id for name in expect for lot_id in lots[name]]
        assert (report.lots, report.points) == (len(newly), sum(points[i] for i in newly)), now
        assert report.members == (len(members) if expect else 0)
        expired_at.update(dict.fromkeys(newly, now))
        for lot_id in points:
            [left] = await remaining(engine, lot_id)
            assert left == (0 if lot_id in expired_at else points[lot_id]), (now, lot_id)
        for m, member_id in enumerate(members):
            left = sum(p for lot_id, p in points.items() if lot_id in lots_of[m] - set(expired_at))
            assert await account(engine, member_id) == (left, 0, 0)

    lots_of = [{ids[m] for ids in lots.values()} for m in range(len(members))]
    just_before = timedelta(microseconds=1)
    await run_at(utc(2026, 3, 29, 0) - just_before, expect=[])
    await run_at(utc(2026, 3, 29, 0), expect=["before-dst"])
    await run_at(utc(2026, 3, 29, 23) - just_before, expect=[])
    await run_at(utc(2026, 3, 29, 23), expect=["dst-day"])
    await run_at(utc(2026, 3, 29, 23), expect=[])
    await run_at(utc(2026, 3, 31, 23) - just_before, expect=[])
    await run_at(utc(2026, 3, 31, 23), expect=["march"])
    await run_at(utc(2026, 4, 1, 12), expect=[])  # run twice: nothing expires twice
    await run_at(utc(2026, 4, 30, 23), expect=["april"])
    await run_at(utc(2026, 5, 31, 23) - just_before, expect=[])
    await run_at(utc(2026, 5, 31, 23), expect=["may"])
    await run_at(utc(2026, 6, 1), expect=[])

    for m, member_id in enumerate(members):
        found = await expire_entries(engine, member_id)
        assert len(found) == len(earned)  # one per lot, never two
        by_lot = {int(e["posting_key"].rsplit(":", 1)[1]): e for e in found}
        assert set(by_lot) == lots_of[m]
        for lot_id, entry in by_lot.items():
            assert entry["points"] == -points[lot_id]
            assert entry["reference"].startswith("expiry_run:")
            assert entry["posting_key"] == f"{entry['reference']}:lot:{lot_id}"
            assert entry["created_at"] == expired_at[lot_id]
            assert entry["expires_at"] == expiry[lot_id] == expired_at[lot_id]
        assert await account(engine, member_id) == (0, 0, 0)
    await assert_ledger_consistent(engine)


async def test_running_the_job_twice_expires_nothing_twice(
    engine: PostgresEngine, uow_factory: UowFactory
) -> None:
    member_id = await a_member_with_account(uow_factory, 1)
    at = utc(2026, 1, 10)
    await earn(uow_factory, member_id, 40, at=at, expires_at=utc(2026, 2, 1))
    await earn(uow_factory, member_id, 60, at=at, expires_at=utc(2026, 2, 1))

    first = await expire_points(engine, utc(2026, 2, 2))
    second = await expire_points(engine, utc(2026, 2, 2))

    assert (first.lots, first.points, first.members, first.batches) == (2, 100, 1, 1)
    assert (second.lots, second.points, second.members, second.batches) == (0, 0, 0, 0)
    assert first.run_id != second.run_id
    assert len(await expire_entries(engine, member_id)) == 2
    assert await account(engine, member_id) == (0, 0, 0)
    await assert_ledger_consistent(engine)


async def test_a_lot_partly_spent_expires_only_what_is_left(
    engine: PostgresEngine, uow_factory: UowFactory
) -> None:
    member_id = await a_member_with_account(uow_factory, 1)
    soon = await earn(uow_factory, member_id, 100, at=utc(2026, 1, 5), expires_at=utc(2026, 2, 1))
    later = await earn(uow_factory, member_id, 50, at=utc(2026, 1, 6), expires_at=utc(2026, 9, 1))
    await redeem(uow_factory, member_id, 30, at=utc(2026, 1, 20))  # soonest-expiring first

    report = await expire_points(engine, utc(2026, 2, 1))

    assert (report.lots, report.points) == (1, 70)
    assert await remaining(engine, soon, later) == [0, 50]
    assert await account(engine, member_id) == (50, 0, 0)
    assert [(e["entry_type"], e["points"]) for e in await entries(engine, member_id)] == [
        ("earn", 100),
        ("earn", 50),
        ("redeem", -30),
        ("expire", -70),
    ]
    movements = await fetch(
        engine,
        "SELECT lot_id, points FROM points_lot_movements WHERE member_id = $1 ORDER BY id",
        member_id,
    )
    assert [(m["lot_id"], m["points"]) for m in movements] == [(soon, -30), (soon, -70)]
    await assert_ledger_consistent(engine)


async def test_pending_lots_never_expire_and_lots_that_never_expire_stay(
    engine: PostgresEngine, uow_factory: UowFactory
) -> None:
    member_id = await a_member_with_account(uow_factory, 1)
    pending = await earn(
        uow_factory,
        member_id,
        80,
        at=utc(2026, 1, 5),
        expires_at=utc(2026, 1, 20),
        pending_until=utc(2026, 3, 1),
    )
    forever = await earn(uow_factory, member_id, 25, at=utc(2026, 1, 5), expires_at=None)

    report = await expire_points(engine, utc(2026, 2, 1))

    assert (report.lots, report.points) == (0, 0)
    assert await remaining(engine, pending, forever) == [80, 25]
    assert await account(engine, member_id) == (25, 80, 0)
    assert await expire_entries(engine, member_id) == []


async def test_the_sql_job_writes_exactly_what_the_domain_would(
    engine: PostgresEngine, uow_factory: UowFactory
) -> None:
    by_domain, by_sql = [await a_member_with_account(uow_factory, n) for n in (1, 2)]
    for member_id in (by_domain, by_sql):
        for k, (expires_at, amount) in enumerate(
            [(utc(2026, 3, 1), 30), (utc(2026, 2, 1), 20), (utc(2026, 5, 1), 50), (None, 5)]
        ):
            await earn(
                uow_factory, member_id, amount, at=utc(2026, 1, 1 + k), expires_at=expires_at
            )
        await redeem(uow_factory, member_id, 25, at=utc(2026, 1, 10))  # the 20, then 5 of 30
    now = utc(2026, 3, 2, 8, 15, 30, 123456)
    run_id = uuid4()
    reference = Reference("expiry_run", str(run_id))

    async with uow_factory() as uow:  # the domain's way, first: the SQL job then finds only one
        points = await uow.points.get_for_update(by_domain)
        for lot in sorted(points.lots, key=lambda lot: lot.id or 0):
            if lot.expires_at is not None and lot.expires_at <= now:
                points.expire(lot, reference=reference, now=now)
        await uow.points.save(points)
        await uow.commit()
    report = await expire_points(engine, now, run_id=run_id)

    assert (report.lots, report.points, report.members) == (1, 25, 1)

    async def shape(member_id: UUID) -> tuple[Any, ...]:
        lots = await fetch(
            engine, "SELECT * FROM points_lots WHERE member_id = $1 ORDER BY id", member_id
        )
        lot_index = {row["id"]: n for n, row in enumerate(lots)}
        ledger = await entries(engine, member_id)
        entry_index = {row["id"]: n for n, row in enumerate(ledger)}
        movements = await fetch(
            engine, "SELECT * FROM points_lot_movements WHERE member_id = $1 ORDER BY id", member_id
        )

        def key(posting_key: str) -> str:  # lot ids differ between the two members
            head, lot, lot_id = posting_key.rpartition(":lot:")
            return f"{head}{lot}#{lot_index[int(lot_id)]}" if lot else posting_key

        return (
            await account(engine, member_id),
            [
                (
                    r["seq"],
                    r["entry_type"],
                    r["points"],
                    r["reference"],
                    key(r["posting_key"]),
                    r["created_at"],
                    r["expires_at"],
                    r["actor"],
                    r["reason"],
                )
                for r in ledger
                if r["entry_type"] == "expire"
            ],
            [(r["points"], r["remaining"], r["expires_at"], r["pending"]) for r in lots],
            [(entry_index[r["entry_id"]], lot_index[r["lot_id"]], r["points"]) for r in movements],
        )

    sql_shape = await shape(by_sql)
    assert sql_shape == await shape(by_domain)
    balances, expired, lots, _ = sql_shape
    assert balances == (55, 0, 0)
    assert expired == [
        (6, "expire", -25, str(reference), f"{reference}:lot:#0", now, utc(2026, 3, 1), None, None)
    ]
    assert [left for _, left, _, _ in lots] == [0, 0, 50, 5]
    await assert_ledger_consistent(engine)


async def test_small_batches_lock_whole_members_and_cover_everyone(
    engine: PostgresEngine, uow_factory: UowFactory
) -> None:
    members = [await a_member_with_account(uow_factory, n) for n in range(1, 6)]
    for member_id in members:
        for k in range(3):
            await earn(
                uow_factory, member_id, 10 + k, at=utc(2026, 1, 1), expires_at=utc(2026, 2, 1)
            )

    report = await expire_points(engine, utc(2026, 2, 1), batch_size=2)

    # A member's lots are never split: two lots' worth of candidates is one member per batch.
    assert (report.lots, report.points, report.members, report.batches) == (15, 165, 5, 5)
    for member_id in members:
        assert await account(engine, member_id) == (0, 0, 0)
        assert len(await expire_entries(engine, member_id)) == 3
    await assert_ledger_consistent(engine)


async def test_a_failed_batch_writes_nothing_and_the_next_run_on_the_connection_expires_it(
    engine: PostgresEngine, uow_factory: UowFactory
) -> None:
    # Batches go in member id order: the fine member's first, then the blocked one's.
    fine, blocked = sorted([await a_member_with_account(uow_factory, n) for n in (1, 2)])
    lots = {
        member_id: await earn(
            uow_factory, member_id, 10, at=utc(2026, 1, 1), expires_at=utc(2026, 2, 1)
        )
        for member_id in (blocked, fine)
    }
    run_id = uuid4()
    taken = f"{Reference(EXPIRY_RUN, str(run_id))}:lot:{lots[blocked]}"
    async with engine.pool.acquire() as connection:
        # Someone already posted the key the job would post for this lot.
        await connection.execute(
            "INSERT INTO points_entries (member_id, entry_type, points, reference, posting_key,"
            " created_at) VALUES ($1, 'earn', 1, 'sale:x', $2, now())",
            blocked,
            taken,
        )

        with pytest.raises(asyncpg.UniqueViolationError):
            await expire_points(connection, utc(2026, 2, 2), batch_size=1, run_id=run_id)
        assert await remaining(engine, lots[fine], lots[blocked]) == [0, 10]
        assert await expire_entries(engine, blocked) == []

        report = await expire_points(connection, utc(2026, 2, 2))  # the cursor was closed

    assert (report.lots, report.points, report.members) == (1, 10, 1)
    assert await remaining(engine, lots[blocked]) == [0]


class _Interrupted(Exception):
    """The job's process stopping between two batches (a deploy, a kill)."""


async def test_an_expiry_interrupted_between_batches_resumes_without_expiring_twice(
    engine: PostgresEngine, uow_factory: UowFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    members = [await a_member_with_account(uow_factory, n) for n in range(1, 7)]
    lots = [
        await earn(uow_factory, member_id, 10 + k, at=utc(2026, 1, 1), expires_at=utc(2026, 2, 1))
        for member_id in members
        for k in range(2)
    ]
    original = points_expiry._expire_batch
    committed = 0

    async def stop_after_two_batches(*args: Any, **kwargs: Any) -> None:
        nonlocal committed
        if committed == 2:
            raise _Interrupted
        await original(*args, **kwargs)  # commits the batch
        committed += 1

    monkeypatch.setattr(points_expiry, "_expire_batch", stop_after_two_batches)
    with pytest.raises(_Interrupted):
        await expire_points(engine, utc(2026, 2, 1), batch_size=2, workers=1)
    monkeypatch.setattr(points_expiry, "_expire_batch", original)
    # Two batches of one member (two lots) each were written and kept; the rest was not.
    assert sorted(await remaining(engine, *lots)).count(0) == 4

    # The next run (a new run id, as the scheduler starts it) finds only what is left.
    report = await expire_points(engine, utc(2026, 2, 1), batch_size=2, workers=2)

    assert (report.lots, report.members) == (8, 4)
    assert await remaining(engine, *lots) == [0] * len(lots)
    for member_id in members:
        assert await account(engine, member_id) == (0, 0, 0)
        expired = await expire_entries(engine, member_id)
        assert len(expired) == 2  # one per lot, never a second
    await assert_ledger_consistent(engine)


async def test_a_failed_batch_stops_the_workers_and_surfaces_its_own_error(
    engine: PostgresEngine, uow_factory: UowFactory
) -> None:
    members = [await a_member_with_account(uow_factory, n) for n in range(1, 7)]
    lots = {
        member_id: await earn(
            uow_factory, member_id, 10, at=utc(2026, 1, 1), expires_at=utc(2026, 2, 1)
        )
        for member_id in members
    }
    blocked = members[3]
    run_id = uuid4()
    async with engine.pool.acquire() as connection:
        await connection.execute(
            "INSERT INTO points_entries (member_id, entry_type, points, reference, posting_key,"
            " created_at) VALUES ($1, 'earn', 1, 'sale:x', $2, now())",
            blocked,
            f"{Reference(EXPIRY_RUN, str(run_id))}:lot:{lots[blocked]}",
        )

    with pytest.raises(asyncpg.UniqueViolationError):  # not an ExceptionGroup
        await expire_points(engine, utc(2026, 2, 2), batch_size=1, run_id=run_id, workers=3)
    assert await remaining(engine, lots[blocked]) == [10]
    assert await expire_entries(engine, blocked) == []

    await expire_points(engine, utc(2026, 2, 2), workers=3)  # what the failure left behind
    assert await remaining(engine, *lots.values()) == [0] * len(members)
    for member_id in members:
        assert len(await expire_entries(engine, member_id)) == 1


# Release -------------------------------------------------------------------------------------


async def release(uow_factory: UowFactory, engine: PostgresEngine, now: datetime) -> ReleaseReport:
    return await release_pending(
        uow_factory, FixedClock(now), PostgresReleasableLots(engine), batch_size=2
    )


async def test_release_posts_earn_entries_when_the_pending_period_is_over(
    engine: PostgresEngine, uow_factory: UowFactory
) -> None:
    member_id = await a_member_with_account(uow_factory, 1)
    order = Reference("sale", str(uuid4()))
    due = await earn(
        uow_factory,
        member_id,
        120,
        at=utc(2026, 3, 1),
        expires_at=utc(2027, 1, 1),
        pending_until=utc(2026, 3, 15),
        reference=order,
    )
    not_yet = await earn(
        uow_factory,
        member_id,
        30,
        at=utc(2026, 3, 10),
        expires_at=utc(2027, 1, 1),
        pending_until=utc(2026, 3, 24),
    )
    assert await account(engine, member_id) == (0, 150, 0)

    early = await release(uow_factory, engine, utc(2026, 3, 15) - timedelta(microseconds=1))
    assert (early.lots, early.points) == (0, 0)

    report = await release(uow_factory, engine, utc(2026, 3, 15))
    again = await release(uow_factory, engine, utc(2026, 3, 16))

    assert (report.lots, report.points, report.debt_paid, report.members) == (1, 120, 0, 1)
    assert (again.lots, again.points) == (0, 0)
    assert report.failed == ()
    assert await account(engine, member_id) == (120, 30, 0)
    [earned] = await entries(engine, member_id)
    assert (earned["entry_type"], earned["points"], earned["reference"]) == (
        "earn",
        120,
        str(order),
    )
    assert earned["posting_key"] == f"{order}:earn"
    assert earned["created_at"] == utc(2026, 3, 15)
    assert earned["expires_at"] == utc(2027, 1, 1)
    rows = await fetch(
        engine,
        "SELECT id, pending, release_at FROM points_lots WHERE id = ANY($1) ORDER BY id",
        [due, not_yet],
    )
    assert [(r["pending"], r["release_at"]) for r in rows] == [
        (False, None),
        (True, utc(2026, 3, 24)),
    ]
    await assert_ledger_consistent(engine)


async def test_release_pays_the_debt_first(engine: PostgresEngine, uow_factory: UowFactory) -> None:
    member_id = await a_member_with_account(uow_factory, 1)
    sale = Reference("sale", str(uuid4()))
    await earn(uow_factory, member_id, 100, at=utc(2026, 3, 1), expires_at=None, reference=sale)
    await redeem(uow_factory, member_id, 80, at=utc(2026, 3, 2))
    async with uow_factory() as uow:  # the sale is refunded after its points were spent
        points = await uow.points.get_for_update(member_id)
        points.reverse(100, reference=Reference("refund", "r1"), now=utc(2026, 3, 3), source=sale)
        await uow.points.save(points)
        await uow.commit()
    assert await account(engine, member_id) == (0, 0, 80)
    first = await earn(
        uow_factory,
        member_id,
        50,
        at=utc(2026, 3, 4),
        expires_at=utc(2027, 1, 1),
        pending_until=utc(2026, 3, 10),
    )
    second = await earn(
        uow_factory,
        member_id,
        100,
        at=utc(2026, 3, 5),
        expires_at=utc(2027, 2, 1),
        pending_until=utc(2026, 3, 10),
    )

    report = await release(uow_factory, engine, utc(2026, 3, 10))

    assert (report.lots, report.points, report.debt_paid) == (2, 150, 80)
    assert await account(engine, member_id) == (70, 0, 0)
    assert await remaining(engine, first, second) == [0, 70]
    ledger = await entries(engine, member_id)
    assert [(e["entry_type"], e["points"]) for e in ledger][-2:] == [("earn", 50), ("earn", 100)]
    movements = await fetch(
        engine,
        "SELECT lot_id, points FROM points_lot_movements WHERE lot_id = ANY($1) ORDER BY id",
        [first, second],
    )
    assert [(m["lot_id"], m["points"]) for m in movements] == [(first, -50), (second, -30)]
    await assert_ledger_consistent(engine)


async def test_a_member_whose_release_fails_is_rolled_back_and_reported_the_others_go_on(
    engine: PostgresEngine, uow_factory: UowFactory
) -> None:
    broken, fine = [await a_member_with_account(uow_factory, n) for n in (1, 2)]
    order = Reference("sale", str(uuid4()))
    # Its earn entry exists already, so releasing a pending lot of the same order would post
    # the same posting key twice: the database refuses, and only this member is rolled back.
    await earn(uow_factory, broken, 5, at=utc(2026, 3, 1), expires_at=None, reference=order)
    await earn(
        uow_factory,
        broken,
        10,
        at=utc(2026, 3, 1),
        expires_at=None,
        pending_until=utc(2026, 3, 5),
        reference=order,
    )
    await earn(
        uow_factory, fine, 20, at=utc(2026, 3, 1), expires_at=None, pending_until=utc(2026, 3, 5)
    )

    report = await release(uow_factory, engine, utc(2026, 3, 5))

    assert (report.lots, report.points, report.members) == (1, 20, 1)
    assert [f.member_id for f in report.failed] == [broken]
    assert "UniqueViolation" in report.failed[0].error
    assert await account(engine, broken) == (5, 10, 0)
    assert await account(engine, fine) == (20, 0, 0)
    await assert_ledger_consistent(engine)


async def test_points_released_after_their_expiry_are_expired_by_the_next_run(
    engine: PostgresEngine, uow_factory: UowFactory
) -> None:
    member_id = await a_member_with_account(uow_factory, 1)
    await earn(
        uow_factory,
        member_id,
        40,
        at=utc(2026, 3, 1),
        expires_at=utc(2026, 3, 5),
        pending_until=utc(2026, 3, 15),
    )
    assert (await expire_points(engine, utc(2026, 3, 16))).lots == 0  # pending: never expires

    await release(uow_factory, engine, utc(2026, 3, 16))
    report = await expire_points(engine, utc(2026, 3, 16))

    assert (report.lots, report.points) == (1, 40)
    assert [(e["entry_type"], e["points"]) for e in await entries(engine, member_id)] == [
        ("earn", 40),
        ("expire", -40),
    ]
    assert await account(engine, member_id) == (0, 0, 0)
    await assert_ledger_consistent(engine)


# Concurrency ---------------------------------------------------------------------------------


async def test_a_sale_holding_the_account_makes_the_job_wait_and_no_point_is_lost(
    engine: PostgresEngine, uow_factory: UowFactory
) -> None:
    member_id = await a_member_with_account(uow_factory, 1)
    due = await earn(uow_factory, member_id, 100, at=utc(2026, 1, 1), expires_at=utc(2026, 2, 1))
    kept = await earn(uow_factory, member_id, 50, at=utc(2026, 1, 2), expires_at=utc(2026, 9, 1))
    now = utc(2026, 2, 1, 0, 0, 5)

    # A till began the sale a second before the lot's expiry and holds the account's row lock.
    async with uow_factory() as uow:
        points = await uow.points.get_for_update(member_id)
        points.redeem(30, reference=Reference("sale", "till-1"), now=utc(2026, 1, 31, 23, 59, 59))
        job = asyncio.create_task(expire_points(engine, now))
        await asyncio.sleep(0.3)
        assert not job.done()  # waiting for the account, not writing around the sale
        await uow.points.save(points)
        await uow.commit()
    report = await asyncio.wait_for(job, DEADLINE)

    assert (report.lots, report.points) == (1, 70)  # what the sale left of the lot
    assert await remaining(engine, due, kept) == [0, 50]
    assert await account(engine, member_id) == (50, 0, 0)
    assert [(e["entry_type"], e["points"]) for e in await entries(engine, member_id)] == [
        ("earn", 100),
        ("earn", 50),
        ("redeem", -30),
        ("expire", -70),
    ]
    await assert_ledger_consistent(engine)


async def test_sales_racing_the_job_neither_deadlock_nor_lose_points(
    engine: PostgresEngine, uow_factory: UowFactory
) -> None:
    store = a_store()
    async with uow_factory() as uow:
        assert await uow.stores.add_store(store) is True
        await uow.commit()
    members = [await a_member_with_account(uow_factory, n) for n in range(1, 9)]
    for member_id in members:
        for _ in range(4):
            await earn(uow_factory, member_id, 25, at=utc(2026, 1, 1), expires_at=utc(2026, 2, 1))
        await earn(uow_factory, member_id, 40, at=utc(2026, 1, 1), expires_at=None)
    now = utc(2026, 2, 1, 9)
    clock = FixedClock(now)

    async def sale(n: int, member_id: UUID) -> None:
        async with uow_factory() as uow:
            await record_sale(
                RecordSale(
                    store_id=store.id,
                    terminal_id=None,
                    receipt_id=f"R-{n}",
                    lines=[LineInput(sku="SKU", quantity=1, unit_price=10_000)],
                    member_id=member_id,
                    redeem_points=30,  # never more than the lot that does not expire
                ),
                uow,
                clock=clock,
                ids=UuidGenerator(),
                dating=SaleDating(),
            )
            await uow.commit()

    # Sales in the opposite order to the job's lock order, one lot per batch.
    work = [expire_points(engine, now, batch_size=1)] + [
        sale(n, member_id) for n, member_id in enumerate(reversed(members))
    ]
    report, *_ = await asyncio.wait_for(asyncio.gather(*work), DEADLINE)

    # A sale that got the account first spent 30 of the points about to expire (soonest first)
    # and the job expired the other 70; a sale that came second spent the everlasting points.
    for member_id in members:
        [sold] = await fetch(
            engine, "SELECT points_earned FROM sales WHERE member_id = $1", member_id
        )
        by_type: dict[str, int] = defaultdict(int)
        for e in await entries(engine, member_id):
            by_type[e["entry_type"]] += e["points"]
        assert by_type["redeem"] == -30
        assert by_type["earn"] == 100 + 40 + sold["points_earned"]
        assert by_type["expire"] in (-100, -70)
        available, pending, debt = await account(engine, member_id)
        assert available == sum(by_type.values())
        assert pending == debt == 0
        assert available == sold["points_earned"] + (40 if by_type["expire"] == -70 else 10)
    expired = [e["points"] for m in members for e in await expire_entries(engine, m)]
    assert report.points == -sum(expired)
    assert report.members == len(members)
    assert (await expire_points(engine, now)).lots == 0
    leftover = await fetch(
        engine,
        "SELECT id FROM points_lots WHERE remaining > 0 AND NOT pending AND expires_at <= $1",
        now,
    )
    assert leftover == []
    await assert_ledger_consistent(engine)


# Scheduling ----------------------------------------------------------------------------------


async def test_only_one_worker_holds_a_job_at_a_time(engine: PostgresEngine) -> None:
    locks = PostgresJobLocks(engine)
    expiry, release = JOBS_BY_NAME["expire-points"], JOBS_BY_NAME["release-pending"]
    assert expiry.lock is not None
    assert release.lock is not None
    async with locks.hold(expiry.lock) as first:
        assert first
        async with locks.hold(expiry.lock) as second:
            assert not second
        assert await run_job(expiry, job_ports_on(engine, FixedClock(utc(2026, 1, 1)))) is None
        async with locks.hold(release.lock) as other_job:
            assert other_job
    async with locks.hold(expiry.lock) as again:
        assert again


async def test_the_in_process_scheduler_runs_both_jobs_and_stops_cleanly(
    engine: PostgresEngine, uow_factory: UowFactory
) -> None:
    member_id = await a_member_with_account(uow_factory, 1)
    await earn(uow_factory, member_id, 10, at=utc(2026, 1, 1), expires_at=utc(2026, 2, 1))
    await earn(
        uow_factory,
        member_id,
        20,
        at=utc(2026, 1, 1),
        expires_at=None,
        pending_until=utc(2026, 1, 15),
    )

    ports = job_ports_on(engine, FixedClock(utc(2026, 3, 1)))
    points_jobs = [JOBS_BY_NAME["release-pending"], JOBS_BY_NAME["expire-points"]]
    tasks = start_jobs(ports, Settings(jobs_interval_seconds=3600), points_jobs)
    try:
        for _ in range(DEADLINE * 20):
            if await account(engine, member_id) == (20, 0, 0):
                break
            await asyncio.sleep(0.05)
    finally:
        await stop_jobs(tasks)

    assert all(task.cancelled() for task in tasks)
    async with PostgresJobLocks(engine).hold(1) as lock:  # released on the way out
        assert lock
    await assert_ledger_consistent(engine)


# The command line ----------------------------------------------------------------------------


async def test_the_cli_jobs_expire_and_release_and_say_what_they_did(
    engine: PostgresEngine,
    uow_factory: UowFactory,
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    member_id = await a_member_with_account(uow_factory, 1)
    await earn(uow_factory, member_id, 15, at=utc(2019, 6, 1), expires_at=utc(2020, 1, 1))
    await earn(uow_factory, member_id, 7, at=utc(2019, 6, 1), expires_at=utc(2999, 1, 1))
    await earn(
        uow_factory,
        member_id,
        9,
        at=utc(2019, 6, 1),
        expires_at=None,
        pending_until=utc(2019, 6, 15),
    )
    monkeypatch.setenv("DATABASE_URL", db_url)
    bound = {table: table._meta._db for table in ALL_TABLES}
    try:  # the CLI binds the tables to an engine of its own, then closes it
        release_code = await asyncio.to_thread(cli_main, ["jobs", "release-pending"])
        expire_code = await asyncio.to_thread(cli_main, ["jobs", "expire-points"])
        again_code = await asyncio.to_thread(cli_main, ["jobs", "expire-points"])
    finally:
        for table, db in bound.items():
            table._meta._db = db

    out = capsys.readouterr().out.splitlines()
    assert (release_code, expire_code, again_code) == (0, 0, 0)
    assert (
        out[0] == "released 1 pending lots of 1 members: 9 points earned, 0 of them paid off debt"
    )
    assert out[1].startswith("expired 15 points in 1 lots of 1 members (1 batches, reference ")
    assert out[2].startswith("expired 0 points in 0 lots of 0 members (0 batches, reference ")
    assert await account(engine, member_id) == (16, 0, 0)
    await assert_ledger_consistent(engine)


async def test_the_service_runs_the_jobs_in_process_when_told_to(
    engine: PostgresEngine, uow_factory: UowFactory, db_url: str
) -> None:
    member_id = await a_member_with_account(uow_factory, 1)
    await earn(uow_factory, member_id, 10, at=utc(2026, 1, 1), expires_at=utc(2026, 2, 1))
    settings = Settings(db_pool_min=1, db_pool_max=4, jobs_in_process=True)
    app = create_app(settings, database_url=db_url, clock=FixedClock(utc(2026, 3, 1)))
    bound = {table: table._meta._db for table in ALL_TABLES}
    try:  # the app binds the tables to its own engine while it runs
        async with AsyncTestClient(app=app) as client:
            for _ in range(DEADLINE * 20):
                if await account(engine, member_id) == (0, 0, 0):
                    break
                await asyncio.sleep(0.05)
            assert (await client.get("/health")).status_code == 200
    finally:
        for table, db in bound.items():
            table._meta._db = db

    assert len(await expire_entries(engine, member_id)) == 1
    async with PostgresJobLocks(engine).hold(1) as lock:  # the app let go of it on shutdown
        assert lock
