"""Benchmark: the tier review and the tier simulation on 1,000,000 members.

Run with `make bench` or `.venv/bin/python tests/bench/bench_tiers.py [--members N]`. It creates
a scratch database on the server the tests use (tests/support/database.py), migrates it,
generates members and about three sales each spread over two years in SQL, times the review
(the first run, which moves many members, then a second run at the same time, which moves
nobody, then a run a day later, the steady state of a daily review) and the simulation of a
proposed policy, prints a table of seconds, writes tests/bench/results/tiers.json, and drops
the scratch database.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from adapters.persistence.engine import start_engine, stop_engine  # noqa: E402
from adapters.persistence.migrate import migrate  # noqa: E402
from adapters.persistence.tier_review import REVIEW_WORKERS, review_tiers  # noqa: E402
from adapters.persistence.tier_simulation import simulate_tiers  # noqa: E402
from domain.tier_policy import TierPolicy  # noqa: E402
from domain.tiers import Tier, TierLadder  # noqa: E402
from tests.support.database import create_test_database, drop_test_database  # noqa: E402

RESULTS = ROOT / "tests" / "bench" / "results" / "tiers.json"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SALES_PER_MEMBER = 3

SETUP = """
INSERT INTO tiers (code, name, rank, threshold, earn_multiplier) VALUES
    ('silver', 'Silver', 10, 50000, 1.25),
    ('gold', 'Gold', 20, 200000, 1.5),
    ('platinum', 'Platinum', 30, 500000, 2);
INSERT INTO tier_policies (version, window_days, grace_days, tiers, actor, created_at)
VALUES (2, 365, 30, '[]'::jsonb, 'bench', $1);
INSERT INTO stores (id, code, name, created_at)
VALUES ('00000000-0000-0000-0000-000000000001', 'BENCH', 'Bench', $1);
"""

# Members numbered 1..N with id md5(n): a sale can pick its member by number.
MEMBERS = """
INSERT INTO members (id, phone, tier_code, enrolled_at, tier_short_since, tier_manual_until)
SELECT md5(n::text)::uuid,
       '+86' || (13000000000 + n)::text,
       (ARRAY['member', 'member', 'member', 'silver', 'silver', 'gold', 'platinum'])
           [1 + (n % 7)],
       $1::timestamptz - interval '3 years',
       CASE WHEN n % 11 = 0 THEN $1::timestamptz - (n % 60) * interval '1 day' END,
       CASE WHEN n % 53 = 0 THEN $1::timestamptz + (n % 40 - 20) * interval '1 day' END
FROM generate_series(1, $2::int) AS n
"""

ACCOUNTS = """
INSERT INTO points_accounts (member_id, updated_at)
SELECT id, $1::timestamptz FROM members
"""

# About SALES_PER_MEMBER sales per member at random, over the last two years; one in ten
# partly refunded.
SALES = """
INSERT INTO sales (id, store_id, receipt_id, member_id, currency, occurred_at, recorded_at,
                   subtotal, payable, refunded_amount)
SELECT gen_random_uuid(), '00000000-0000-0000-0000-000000000001', 'r' || g,
       md5((1 + floor(random() * $2::int))::int::text)::uuid, 'CNY',
       at, at, amount, amount,
       CASE WHEN random() < 0.1 THEN floor(amount * random())::bigint ELSE 0 END
FROM (
    SELECT g, $1::timestamptz - random() * interval '730 days' AS at,
           (1000 + floor(random() * 250000))::bigint AS amount
    FROM generate_series(1, $3::int) AS g
) AS s
"""

PROPOSAL = TierPolicy(
    window_days=180,
    grace_days=30,
    ladder=TierLadder.of(
        [
            Tier("member", "Member", 0, 0, Decimal(1)),
            Tier("silver", "Silver", 10, 30000, Decimal("1.5")),
            Tier("gold", "Gold", 20, 150000, Decimal(2)),
            Tier("black", "Black", 40, 600000, Decimal("3.5")),
        ]
    ),
)


async def timed(label: str, results: dict[str, float], coroutine: object) -> object:
    started = time.perf_counter()
    value = await coroutine  # type: ignore[misc]
    results[label] = round(time.perf_counter() - started, 2)
    print(f"  {label:<34} {results[label]:>8.2f} s", flush=True)
    return value


async def generate(url: str, members: int, results: dict[str, float]) -> None:
    connection = await asyncpg.connect(url)
    try:
        await connection.execute("SET session_replication_role = replica")  # skip FK triggers
        await connection.execute(SETUP.replace("$1", "'2026-01-01T00:00:00Z'"))
        await timed(
            f"generate {members:,} members",
            results,
            connection.execute(MEMBERS, NOW, members),
        )
        await timed("generate their points accounts", results, connection.execute(ACCOUNTS, NOW))
        await timed(
            f"generate {members * SALES_PER_MEMBER:,} sales",
            results,
            connection.execute(SALES, NOW, members, members * SALES_PER_MEMBER),
        )
        await connection.execute("SET session_replication_role = origin")
        await timed("vacuum analyze", results, connection.execute("VACUUM ANALYZE"))
    finally:
        await connection.close()


async def run(members: int, *, keep: bool = False) -> dict[str, object]:
    database = await create_test_database()
    results: dict[str, float] = {}
    reports: dict[str, object] = {}
    try:
        print(f"scratch database {database.name}", flush=True)
        await migrate(database.url)
        await generate(database.url, members, results)
        connection = await asyncpg.connect(database.url)
        # The review shares its batches among REVIEW_WORKERS pooled connections, as the
        # CLI and the in-process job run it.
        engine = await start_engine(database.url, min_size=1, max_size=REVIEW_WORKERS + 1)
        try:
            first = await timed("review_tiers (first run)", results, review_tiers(engine, NOW))
            again = await timed("review_tiers (second run)", results, review_tiers(engine, NOW))
            # A day later: what a daily review meets in steady state (spend rolling out of
            # the window, grace periods ending).
            next_day = await timed(
                "review_tiers (next day)",
                results,
                review_tiers(engine, NOW + timedelta(days=1)),
            )
            program = await connection.fetchrow("SELECT currency, earn_rate FROM program_settings")
            assert program is not None
            simulation = await timed(
                "simulate_tiers",
                results,
                simulate_tiers(
                    connection,
                    PROPOSAL,
                    now=NOW,
                    earn_rate=program["earn_rate"],
                    currency_exponent=2,
                ),
            )
        finally:
            await stop_engine(engine)
            await connection.close()
        reports = {
            "first_review": repr(first),
            "second_review": repr(again),
            "next_day_review": repr(next_day),
            "simulation": repr(simulation),
        }
    finally:
        if keep:
            print(f"kept {database.url}")
        else:
            await drop_test_database(database)
    return {
        "members": members,
        "sales": members * SALES_PER_MEMBER,
        "seconds": results,
        "reports": reports,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--output", default=str(RESULTS))
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()
    print(f"{'step':<36} {'seconds':>8}")
    outcome = asyncio.run(run(args.members, keep=args.keep))
    for name, report in outcome["reports"].items():  # type: ignore[attr-defined]
        print(f"{name}: {report}")
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(outcome, indent=2) + "\n")
    print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
