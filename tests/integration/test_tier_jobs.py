"""The tier review on real PostgreSQL: set-based SQL that must decide what ``at_review`` decides.

Data is generated straight into the tables (members with a standing, sales with a payable and a
refunded amount); the review runs at a fixed ``now``. The window is pinned: a sale exactly
``window_days`` (of 24 hours) before ``now`` counts, one a microsecond older does not.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID, uuid4

import asyncpg
import pytest
from piccolo.engine.postgres import PostgresEngine

from adapters.persistence.engine import start_engine, stop_engine
from adapters.persistence.job_locks import ADVISORY_LOCK_CLASS
from adapters.persistence.tables import ALL_TABLES
from adapters.persistence.tier_review import review_tiers
from app.batch_jobs import ReviewReport
from app.scheduling import JOBS_BY_NAME, run_job
from app.settings import Settings
from app.wiring.cli import main as cli_main
from app.wiring.scheduler import start_jobs, stop_jobs
from domain.tier_policy import MemberTier, TierChangeReason, TierPolicy, at_review
from domain.tiers import Tier, TierLadder
from tests.support.job_ports import job_ports_on

pytestmark = pytest.mark.db

REVIEW = JOBS_BY_NAME["review-tiers"]

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
WINDOW = 365
GRACE = 30
VERSION = 2
LADDER = TierLadder.of(
    [
        Tier("member", "Member", 0, 0, Decimal(1)),
        Tier("silver", "Silver", 10, 10_000, Decimal("1.5")),
        Tier("gold", "Gold", 20, 50_000, Decimal(2)),
        Tier("platinum", "Platinum", 30, 200_000, Decimal("3.25")),
    ]
)
POLICY = TierPolicy(window_days=WINDOW, grace_days=GRACE, ladder=LADDER, version=VERSION)
# What an admin saves next: the same ladder as a new version (12,000 of spend is silver).
NEXT_POLICY = TierPolicy(window_days=WINDOW, grace_days=GRACE, ladder=LADDER, version=VERSION + 1)


@pytest.fixture
async def db(clean_db: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(clean_db)
    try:
        await configure(connection, POLICY)
        yield connection
    finally:
        await connection.close()


async def configure(connection: asyncpg.Connection, policy: TierPolicy) -> None:
    """The ladder in `tiers`, the policy as the version in force."""
    for tier in policy.ladder.tiers:
        await connection.execute(
            "INSERT INTO tiers (code, name, rank, threshold, earn_multiplier) "
            "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (code) DO UPDATE SET name = $2, "
            "rank = $3, threshold = $4, earn_multiplier = $5",
            tier.code,
            tier.name,
            tier.rank,
            tier.threshold,
            tier.earn_multiplier,
        )
    tiers = [
        {"code": t.code, "rank": t.rank, "threshold": t.threshold} for t in policy.ladder.tiers
    ]
    await connection.execute(
        "INSERT INTO tier_policies (version, window_days, grace_days, tiers, actor, created_at) "
        "VALUES ($1, $2, $3, $4::jsonb, 'test', $5)",
        policy.version,
        policy.window_days,
        policy.grace_days,
        json.dumps(tiers),
        NOW - timedelta(days=400),
    )
    await connection.execute(
        "INSERT INTO stores (id, code, name, created_at) VALUES ($1, 'S1', 'Store', $2)",
        STORE,
        NOW - timedelta(days=1000),
    )


STORE = UUID("00000000-0000-0000-0000-00000000510e")
_phones = iter(range(10_000_000, 99_999_999))


async def a_member(
    db: asyncpg.Connection,
    tier: str = "member",
    *,
    short_since: datetime | None = None,
    manual_until: datetime | None = None,
    account: bool = True,
) -> UUID:
    member_id = uuid4()
    await db.execute(
        "INSERT INTO members (id, phone, tier_code, enrolled_at, tier_short_since, "
        "tier_manual_until) VALUES ($1, $2, $3, $4, $5, $6)",
        member_id,
        f"+86138{next(_phones)}",
        tier,
        NOW - timedelta(days=900),
        short_since,
        manual_until,
    )
    if account:
        await db.execute(
            "INSERT INTO points_accounts (member_id, updated_at) VALUES ($1, $2)",
            member_id,
            NOW - timedelta(days=900),
        )
    return member_id


async def a_sale(
    db: asyncpg.Connection, member_id: UUID, payable: int, at: datetime, *, refunded: int = 0
) -> None:
    await db.execute(
        "INSERT INTO sales (id, store_id, receipt_id, member_id, currency, occurred_at, "
        "recorded_at, subtotal, payable, refunded_amount) "
        "VALUES ($1, $2, $3, $4, 'CNY', $5, $5, $6, $6, $7)",
        uuid4(),
        STORE,
        uuid4().hex,
        member_id,
        at,
        payable,
        refunded,
    )


async def standing(db: asyncpg.Connection, member_id: UUID) -> MemberTier:
    row = await db.fetchrow(
        "SELECT tier_code, tier_short_since, tier_manual_until FROM members WHERE id = $1",
        member_id,
    )
    assert row is not None
    return MemberTier(row["tier_code"], row["tier_short_since"], row["tier_manual_until"])


async def history(
    db: asyncpg.Connection, member_id: UUID | None = None
) -> list[tuple[object, ...]]:
    rows = await db.fetch(
        "SELECT member_id, from_code, to_code, reason, at, actor, note, policy_version "
        "FROM tier_changes WHERE $1::uuid IS NULL OR member_id = $1 ORDER BY id",
        member_id,
    )
    return [tuple(r) for r in rows]


def report(**counts: int) -> ReviewReport:
    return ReviewReport(**{"batches": 1, **counts})  # type: ignore[arg-type]


# Upgrades and downgrades -----------------------------------------------------------------------


async def test_members_move_up_to_the_tier_they_qualify_for(db: asyncpg.Connection) -> None:
    gold = await a_member(db)
    silver = await a_member(db, "silver")
    stays = await a_member(db)
    await a_sale(db, gold, 30_000, NOW - timedelta(days=100))
    await a_sale(db, gold, 20_000, NOW - timedelta(days=1))
    await a_sale(db, silver, 250_000, NOW - timedelta(hours=1))
    await a_sale(db, stays, 9_999, NOW - timedelta(days=3))

    result = await review_tiers(db, NOW)

    assert result == report(members_reviewed=3, upgraded=2)
    assert await standing(db, gold) == MemberTier("gold")
    assert await standing(db, silver) == MemberTier("platinum")
    assert await standing(db, stays) == MemberTier("member")
    assert await history(db, gold) == [
        (gold, "member", "gold", "qualified", NOW, None, None, VERSION)
    ]
    assert await history(db, silver) == [
        (silver, "silver", "platinum", "qualified", NOW, None, None, VERSION)
    ]


async def test_a_member_found_short_drops_only_once_the_grace_period_is_over(
    db: asyncpg.Connection,
) -> None:
    member_id = await a_member(db, "gold")
    await a_sale(db, member_id, 20_000, NOW - timedelta(days=10))  # silver's worth

    assert await review_tiers(db, NOW) == report(members_reviewed=1, grace_started=1)
    assert await standing(db, member_id) == MemberTier("gold", short_since=NOW)

    almost = NOW + timedelta(days=GRACE) - timedelta(microseconds=1)
    assert await review_tiers(db, almost) == report(members_reviewed=1)
    assert await standing(db, member_id) == MemberTier("gold", short_since=NOW)

    over = NOW + timedelta(days=GRACE)
    assert await review_tiers(db, over) == report(members_reviewed=1, downgraded=1)
    assert await standing(db, member_id) == MemberTier("silver")
    assert await history(db, member_id) == [
        (member_id, "gold", "silver", "review", over, None, None, VERSION)
    ]


async def test_without_a_grace_period_the_first_review_drops_a_member_found_short(
    db: asyncpg.Connection,
) -> None:
    await db.execute(
        "INSERT INTO tier_policies (version, window_days, grace_days, tiers, actor, created_at) "
        "VALUES ($1, $2, 0, '[]', 'test', $3)",
        VERSION + 1,
        WINDOW,
        NOW - timedelta(days=1),
    )
    member_id = await a_member(db, "gold")
    await a_sale(db, member_id, 20_000, NOW - timedelta(days=10))  # silver's worth

    assert await review_tiers(db, NOW) == report(members_reviewed=1, downgraded=1)
    assert await standing(db, member_id) == MemberTier("silver")
    assert at_review(
        TierPolicy(WINDOW, 0, LADDER), MemberTier("gold"), 20_000, NOW
    ).standing == MemberTier("silver")


async def test_grace_days_are_24_hours_not_calendar_days_in_the_session_time_zone(
    db: asyncpg.Connection,
) -> None:
    # Europe/London's clocks go back on 25 October 2026: a calendar day there lasts 25 hours.
    await db.execute("SET TimeZone = 'Europe/London'")
    start = datetime(2026, 10, 10, 12, tzinfo=UTC)
    member_id = await a_member(db, "silver", short_since=start)
    over = start + timedelta(days=GRACE)
    assert await review_tiers(db, over) == report(members_reviewed=1, downgraded=1)
    assert await standing(db, member_id) == MemberTier("member")


async def test_qualifying_again_clears_the_grace_period(db: asyncpg.Connection) -> None:
    member_id = await a_member(db, "gold")
    upgraded = await a_member(db, "silver")
    await a_sale(db, member_id, 20_000, NOW - timedelta(days=10))
    await a_sale(db, upgraded, 5_000, NOW - timedelta(days=10))
    assert await review_tiers(db, NOW) == report(members_reviewed=2, grace_started=2)

    later = NOW + timedelta(days=5)
    await a_sale(db, member_id, 30_000, later - timedelta(hours=1))  # gold again
    await a_sale(db, upgraded, 60_000, later - timedelta(hours=1))  # above silver
    assert await review_tiers(db, later) == report(members_reviewed=2, upgraded=1, grace_cleared=2)
    assert await standing(db, member_id) == MemberTier("gold")
    assert await standing(db, upgraded) == MemberTier("gold")

    # Found short again later, the grace period starts afresh.
    gone = later + timedelta(days=WINDOW) + timedelta(days=1)
    assert await review_tiers(db, gone) == report(members_reviewed=2, grace_started=2)
    assert await standing(db, member_id) == MemberTier("gold", short_since=gone)


async def test_a_tier_set_by_hand_holds_until_its_end_date_then_is_reviewed(
    db: asyncpg.Connection,
) -> None:
    until = NOW + timedelta(days=10)
    member_id = await a_member(db, "gold", manual_until=until)
    upgraded = await a_member(db, "silver", manual_until=until)
    await a_sale(db, upgraded, 60_000, NOW - timedelta(days=1))

    assert await review_tiers(db, NOW) == report(members_reviewed=2, upgraded=1)
    assert await standing(db, member_id) == MemberTier("gold", manual_until=until)
    # moving up keeps the end date, as on_purchase does
    assert await standing(db, upgraded) == MemberTier("gold", manual_until=until)

    before_end = until - timedelta(microseconds=1)
    assert await review_tiers(db, before_end) == report(members_reviewed=2)
    assert await standing(db, member_id) == MemberTier("gold", manual_until=until)

    # At the end date the manual tier is over: the grace period starts, the end date goes.
    assert await review_tiers(db, until) == report(members_reviewed=2, grace_started=1)
    assert await standing(db, member_id) == MemberTier("gold", short_since=until)

    dropped = until + timedelta(days=GRACE)
    assert await review_tiers(db, dropped) == report(members_reviewed=2, downgraded=1)
    assert await standing(db, member_id) == MemberTier("member")


async def test_refunds_lower_the_qualifying_value(db: asyncpg.Connection) -> None:
    refunded = await a_member(db)
    whole = await a_member(db)
    await a_sale(db, refunded, 60_000, NOW - timedelta(days=2), refunded=20_000)
    await a_sale(db, whole, 60_000, NOW - timedelta(days=2), refunded=10_000)

    await review_tiers(db, NOW)

    assert (await standing(db, refunded)).tier_code == "silver"  # 40,000
    assert (await standing(db, whole)).tier_code == "gold"  # 50,000


async def test_the_window_includes_a_sale_exactly_window_days_ago_and_nothing_older(
    db: asyncpg.Connection,
) -> None:
    edge = NOW - timedelta(days=WINDOW)
    counted = await a_member(db)
    too_old = await a_member(db)
    second_older = await a_member(db)
    await a_sale(db, counted, 10_000, edge)
    await a_sale(db, too_old, 10_000, edge - timedelta(microseconds=1))
    await a_sale(db, second_older, 10_000, edge - timedelta(seconds=1))

    assert await review_tiers(db, NOW) == report(members_reviewed=3, upgraded=1)
    assert (await standing(db, counted)).tier_code == "silver"
    assert (await standing(db, too_old)).tier_code == "member"
    assert (await standing(db, second_older)).tier_code == "member"


async def test_history_rows_carry_the_policy_version_in_force(db: asyncpg.Connection) -> None:
    member_id = await a_member(db)
    await a_sale(db, member_id, 10_000, NOW - timedelta(days=1))
    newer = TierPolicy(window_days=WINDOW, grace_days=GRACE, ladder=LADDER, version=7)
    await db.execute(
        "INSERT INTO tier_policies (version, window_days, grace_days, tiers, actor, created_at) "
        "VALUES ($1, $2, $3, '[]'::jsonb, 'test', $4)",
        newer.version,
        WINDOW,
        GRACE,
        NOW - timedelta(days=1),
    )
    await review_tiers(db, NOW)
    assert await history(db) == [(member_id, "member", "silver", "qualified", NOW, None, None, 7)]


async def test_the_window_and_grace_come_from_the_latest_policy_version(
    db: asyncpg.Connection,
) -> None:
    member_id = await a_member(db, "silver", short_since=NOW - timedelta(days=3))
    await a_sale(db, member_id, 10_000, NOW - timedelta(days=20))
    await db.execute(
        "INSERT INTO tier_policies (version, window_days, grace_days, tiers, actor, created_at) "
        "VALUES (3, 10, 2, '[]'::jsonb, 'test', $1)",
        NOW - timedelta(days=1),
    )
    # 10-day window: the sale no longer counts; 2 days of grace have run out.
    assert await review_tiers(db, NOW) == report(members_reviewed=1, downgraded=1)
    assert await history(db) == [(member_id, "silver", "member", "review", NOW, None, None, 3)]


async def test_running_the_review_twice_changes_nothing_the_second_time(
    db: asyncpg.Connection,
) -> None:
    rng = random.Random(4)
    for _ in range(60):
        member_id = await a_member(db, rng.choice(["member", "silver", "gold", "platinum"]))
        for _ in range(rng.randint(0, 3)):
            await a_sale(
                db, member_id, rng.randint(0, 120_000), NOW - timedelta(days=rng.randint(0, 400))
            )

    first = await review_tiers(db, NOW, batch_size=7)
    members = await db.fetch("SELECT * FROM members ORDER BY id")
    changes = await history(db)

    second = await review_tiers(db, NOW, batch_size=7)

    assert first.upgraded + first.grace_started > 0
    assert second == ReviewReport(members_reviewed=60, batches=9)
    assert await db.fetch("SELECT * FROM members ORDER BY id") == members
    assert await history(db) == changes


@pytest.mark.parametrize("workers", [1, 3], ids=["one_connection", "three_workers"])
async def test_the_sql_review_decides_what_the_domain_decides_member_by_member(
    db: asyncpg.Connection, workers: int, clean_db: str
) -> None:
    rng = random.Random(20261123)
    codes = [t.code for t in LADDER.tiers]
    offsets = [None, -60, -31, -30, -29, -1, 0, 1, 5]  # days from NOW
    expected: dict[UUID, tuple[MemberTier, TierChangeReason | None, str | None]] = {}
    by_code = {t.code: t for t in LADDER.tiers}
    for _ in range(400):
        short = rng.choice(offsets)
        manual = rng.choice(offsets)
        before = MemberTier(
            rng.choice(codes),
            short_since=NOW + timedelta(days=short) if short is not None and short <= 0 else None,
            manual_until=NOW + timedelta(days=manual) if manual is not None else None,
        )
        member_id = await a_member(
            db,
            before.tier_code,
            short_since=before.short_since,
            manual_until=before.manual_until,
            account=rng.random() < 0.9,  # the review does not need an account to lock
        )
        value = 0
        for _ in range(rng.choice([0, 1, 2, 4])):
            at = NOW - timedelta(days=rng.choice([0, 10, 200, WINDOW]), seconds=rng.choice([0, 1]))
            payable = rng.choice([0, 5_000, 9_999, 10_000, 40_000, 50_000, 150_000, 200_000])
            refunded = rng.choice([0, 0, payable // 2, payable])
            await a_sale(db, member_id, payable, at, refunded=refunded)
            if at >= POLICY.window_start(NOW):
                value += payable - refunded
        decision = at_review(POLICY, before, value, NOW)
        change = decision.change
        expected[member_id] = (
            decision.standing,
            change.reason if change else None,
            change.from_code if change else None,
        )
        if change is not None:
            assert by_code[change.to_code] is not None

    if workers == 1:
        result = await review_tiers(db, NOW, batch_size=53)
    else:  # the workers share the batches over a pool
        engine = await start_engine(clean_db, min_size=1, max_size=workers)
        try:
            result = await review_tiers(engine, NOW, batch_size=53, workers=workers)
        finally:
            await stop_engine(engine)

    changes = {row[0]: row for row in await history(db)}
    mismatches = []
    for member_id, (after, reason, from_code) in expected.items():
        got = await standing(db, member_id)
        row = changes.get(member_id)
        got_change = (row[3], row[1]) if row else (None, None)
        if got != after or got_change != (reason, from_code):
            mismatches.append((member_id, after, got, (reason, from_code), got_change))
    assert mismatches == []
    assert result.members_reviewed == 400
    assert result.upgraded == sum(1 for e in expected.values() if e[1] == "qualified")
    assert result.downgraded == sum(1 for e in expected.values() if e[1] == "review")
    assert result.upgraded > 10
    assert result.downgraded > 10
    assert result.grace_started > 10


async def test_no_members_no_batches(db: asyncpg.Connection) -> None:
    assert await review_tiers(db, NOW) == ReviewReport()


async def test_naive_now_and_bad_batch_size_are_refused(db: asyncpg.Connection) -> None:
    with pytest.raises(ValueError):
        await review_tiers(db, NOW.replace(tzinfo=None))
    with pytest.raises(ValueError):
        await review_tiers(db, NOW, batch_size=0)


# Locks, the scheduler and the command line -----------------------------------------------------


class FixedClock:
    def __init__(self, instant: datetime) -> None:
        self.instant = instant

    def now(self) -> datetime:
        return self.instant


async def test_only_one_review_runs_at_a_time(
    engine: PostgresEngine, db: asyncpg.Connection, clean_db: str
) -> None:
    member_id = await a_member(db)
    await a_sale(db, member_id, 10_000, NOW - timedelta(days=1))
    ports = job_ports_on(engine, FixedClock(NOW))
    assert REVIEW.lock is not None
    other = await asyncpg.connect(clean_db)
    try:
        assert await other.fetchval(
            "SELECT pg_try_advisory_lock($1, $2)", ADVISORY_LOCK_CLASS, REVIEW.lock
        )
        assert await run_job(REVIEW, ports) is None
    finally:
        await other.close()  # the lock goes with its session
    assert (await standing(db, member_id)).tier_code == "member"
    ran = await run_job(REVIEW, ports)
    assert ran is not None
    assert ran.facts["upgraded"] == 1
    # released after the run: it can be taken again
    async with ports.locks.hold(REVIEW.lock) as held:
        assert held


async def test_a_sale_holding_the_account_makes_the_review_wait_and_count_it(
    db: asyncpg.Connection, clean_db: str
) -> None:
    member_id = await a_member(db, "gold", short_since=NOW - timedelta(days=GRACE + 1))
    sale = await asyncpg.connect(clean_db)
    reviewer = await asyncpg.connect(clean_db)
    try:
        transaction = sale.transaction()
        await transaction.start()
        await sale.execute(
            "SELECT 1 FROM points_accounts WHERE member_id = $1 FOR UPDATE", member_id
        )
        review = asyncio.create_task(review_tiers(reviewer, NOW))
        await asyncio.sleep(0.3)
        assert not review.done()
        await a_sale(sale, member_id, 60_000, NOW - timedelta(minutes=1))
        await transaction.commit()
        result = await asyncio.wait_for(review, 20)
    finally:
        await sale.close()
        await reviewer.close()
    assert result.downgraded == 0
    assert result.grace_cleared == 1
    assert await standing(db, member_id) == MemberTier("gold")


async def test_a_tier_set_by_hand_while_the_review_waits_is_kept(
    db: asyncpg.Connection, clean_db: str
) -> None:
    # Found short long ago: the review decides to drop the member, then waits for the account
    # that an admin holds while setting the tier by hand (as set_member_tier does).
    member_id = await a_member(db, "gold", short_since=NOW - timedelta(days=GRACE + 1))
    await a_sale(db, member_id, 20_000, NOW - timedelta(days=10))  # silver's worth
    until = NOW + timedelta(days=30)
    admin = await asyncpg.connect(clean_db)
    reviewer = await asyncpg.connect(clean_db)
    try:
        transaction = admin.transaction()
        await transaction.start()
        await admin.execute(
            "SELECT 1 FROM points_accounts WHERE member_id = $1 FOR UPDATE", member_id
        )
        review = asyncio.create_task(review_tiers(reviewer, NOW))
        await asyncio.sleep(0.3)
        assert not review.done()
        await admin.execute(
            "UPDATE members SET tier_code = 'platinum', tier_short_since = NULL, "
            "tier_manual_until = $2 WHERE id = $1",
            member_id,
            until,
        )
        await transaction.commit()
        result = await asyncio.wait_for(review, 20)
    finally:
        await admin.close()
        await reviewer.close()
    assert result == report(members_reviewed=1)
    assert await standing(db, member_id) == MemberTier("platinum", manual_until=until)
    assert await history(db, member_id) == []


async def test_a_policy_saved_while_the_review_waits_is_the_one_applied(
    db: asyncpg.Connection, clean_db: str
) -> None:
    # Both qualify for silver over 365 days when the review first decides.
    dropped_out = await a_member(db)
    await a_sale(db, dropped_out, 10_000, NOW - timedelta(days=20))
    still_in = await a_member(db)
    await a_sale(db, still_in, 10_000, NOW - timedelta(days=5))
    holder = await asyncpg.connect(clean_db)
    reviewer = await asyncpg.connect(clean_db)
    try:
        transaction = holder.transaction()
        await transaction.start()
        await holder.execute(
            "SELECT 1 FROM points_accounts WHERE member_id = ANY($1::uuid[]) FOR UPDATE",
            [dropped_out, still_in],
        )
        review = asyncio.create_task(review_tiers(reviewer, NOW))
        await asyncio.sleep(0.3)
        assert not review.done()
        # A 15-day window: only the sale 5 days ago still counts.
        await db.execute(
            "INSERT INTO tier_policies (version, window_days, grace_days, tiers, actor, "
            "created_at) VALUES ($1, 15, $2, '[]'::jsonb, 'test', $3)",
            VERSION + 1,
            GRACE,
            NOW - timedelta(minutes=1),
        )
        await transaction.commit()
        result = await asyncio.wait_for(review, 20)
    finally:
        await holder.close()
        await reviewer.close()
    assert result == report(members_reviewed=2, upgraded=1)
    assert await standing(db, dropped_out) == MemberTier("member")
    assert await history(db) == [
        (still_in, "member", "silver", "qualified", NOW, None, None, VERSION + 1)
    ]


async def test_the_scheduler_reviews_at_start_up_and_stops_cleanly(
    engine: PostgresEngine, db: asyncpg.Connection
) -> None:
    member_id = await a_member(db)
    await a_sale(db, member_id, 10_000, NOW - timedelta(days=1))
    ports = job_ports_on(engine, FixedClock(NOW))
    tasks = start_jobs(ports, Settings(), [REVIEW])
    try:
        for _ in range(400):
            if (await standing(db, member_id)).tier_code == "silver":
                break
            await asyncio.sleep(0.05)
    finally:
        await stop_jobs(tasks)
    assert all(task.cancelled() for task in tasks)
    assert (await standing(db, member_id)).tier_code == "silver"
    assert await ports.tier_review.review_tiers(NOW, batch_size=1000) == ReviewReport(
        members_reviewed=1, batches=1
    )


async def test_the_cli_reviews_and_says_what_it_did(
    db: asyncpg.Connection,
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    member_id = await a_member(db)
    await a_sale(db, member_id, 60_000, datetime.now(UTC) - timedelta(days=1))
    monkeypatch.setenv("DATABASE_URL", db_url)
    bound = {table: table._meta._db for table in ALL_TABLES}
    try:
        code = await asyncio.to_thread(cli_main, ["jobs", "review-tiers"])
        again = await asyncio.to_thread(cli_main, ["jobs", "review-tiers", "--batch-size", "5"])
    finally:
        for table, db_ in bound.items():
            table._meta._db = db_
    out = capsys.readouterr().out.splitlines()
    assert (code, again) == (0, 0)
    assert out == [
        "reviewed 1 members: 1 upgraded, 0 downgraded, grace started for 0, cleared for 0 "
        "(1 batches)",
        "reviewed 1 members: 0 upgraded, 0 downgraded, grace started for 0, cleared for 0 "
        "(1 batches)",
    ]
    assert (await standing(db, member_id)).tier_code == "gold"
