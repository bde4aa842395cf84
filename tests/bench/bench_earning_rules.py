"""Benchmark: the earning-rule forecast (POST /v1/admin/earning-rules/simulate) at scale, and
the sale with five live rules next to the sale without rules.

Run with `.venv/bin/python tests/bench/bench_earning_rules.py [--members N] [--sales N]
[--sale-runs N]` (defaults: 100,000 members, 1,000,000 sales of two lines each, 300 sales per
case). It creates a scratch database on the server the tests use (tests/support/database.py),
migrates it, generates the members and sales in SQL over two years, then

1. times the forecast of three drafts over the whole period: double points on a category at
   weekends (no limit), the same with a per-member daily cap, and a bonus per unit with a
   budget (a running sum over every sale in time order);
2. times record_sale through the PostgreSQL unit of work for one member, with no rule, then
   with five live rules (a category multiplier, an SKU bonus per unit with a budget, a weekend
   earn rate, a per-order bonus with a per-member daily cap, an exclusion): the median and
   95th percentile of a sale, in one process, on an otherwise idle database.

It prints the figures, writes tests/bench/results/earning_rules.json and drops the database.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from adapters.persistence.engine import LoyaltyEngine, start_engine, stop_engine  # noqa: E402
from adapters.persistence.migrate import migrate  # noqa: E402
from adapters.persistence.repositories.earning_rules import (  # noqa: E402
    ANALYTIC,
    forecast_statement,
)
from adapters.persistence.session import connection as uow_connection  # noqa: E402
from adapters.persistence.unit_of_work import PostgresUnitOfWork  # noqa: E402
from adapters.system import SystemClock, UuidGenerator  # noqa: E402
from app.use_cases.earning_rules import RuleDefinition, create_rule  # noqa: E402
from app.use_cases.sales import LineInput, RecordSale, record_sale  # noqa: E402
from domain.crm import CrmSettings  # noqa: E402
from domain.earning_rules import (  # noqa: E402
    Conditions,
    EarningRule,
    Effect,
    EffectKind,
    Limits,
)
from domain.sale_dating import SaleDating  # noqa: E402
from tests.support.database import (  # noqa: E402
    TestDatabase,
    create_test_database,
    drop_test_database,
)

RESULTS = ROOT / "tests" / "bench" / "results" / "earning_rules.json"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
STORE_ID = "00000000-0000-0000-0000-000000000001"

SETUP = [
    f"INSERT INTO stores (id, code, name, created_at) VALUES ('{STORE_ID}', 'B', 'B', now())",
    """
    INSERT INTO members (id, phone, tier_code, enrolled_at, birthday)
    SELECT md5(n::text)::uuid, NULL, 'member', $1::timestamptz - interval '3 years',
           date '1980-01-01' + n % 10000
    FROM generate_series(1, $2::int) AS n
    """,
    """
    INSERT INTO sales (id, store_id, receipt_id, member_id, currency, occurred_at, recorded_at,
                       subtotal, payable, points_earned)
    SELECT lpad(to_hex(g), 32, '0')::uuid, $4::uuid, 'r' || lpad(g::text, 10, '0'),
           md5((1 + floor(random() * $2::int))::int::text)::uuid, 'CNY', at, at,
           a1 + a2, a1 + a2, (a1 + a2) / 100
    FROM (
        SELECT g, $1::timestamptz - random() * interval '730 days' AS at,
               (100 + floor(random() * 25000))::bigint AS a1,
               (100 + floor(random() * 5000))::bigint AS a2
        FROM generate_series(1, $3::int) AS g
    ) AS s
    """,
    """
    INSERT INTO sale_lines (sale_id, member_id, line_no, sku, category, quantity, unit_price)
    SELECT s.id, s.member_id, l.n, 'SKU-' || (abs(hashtext(s.id::text || l.n)) % 500),
           (ARRAY['bedding', 'bath', 'gift', 'kitchen'])[1 + abs(hashtext(s.id::text)) % 4 + l.n
                                                         - 4 * ((abs(hashtext(s.id::text)) % 4
                                                                 + l.n) / 4)],
           1, CASE l.n WHEN 0 THEN s.subtotal - 100 ELSE 100 END
    FROM sales s CROSS JOIN (VALUES (0), (1)) AS l(n)
    """,
    "ANALYZE",
]

BASE = EarningRule(
    id=UUID(int=1),
    name="draft",
    effect=Effect(EffectKind.MULTIPLIER, Decimal(2)),
    conditions=Conditions(categories=frozenset({"bedding"}), days_of_week=frozenset({6, 7})),
)
DRAFTS = {
    "weekend bedding x2": BASE,
    "weekend bedding x2, 100 a member a day": EarningRule(
        id=BASE.id,
        name="draft",
        effect=BASE.effect,
        conditions=BASE.conditions,
        limits=Limits(per_member_day=100),
    ),
    "bonus 50 a unit of 20 SKUs, budget 1,000,000": EarningRule(
        id=BASE.id,
        name="draft",
        effect=Effect(EffectKind.BONUS_PER_UNIT, Decimal(50)),
        conditions=Conditions(skus=frozenset(f"SKU-{n}" for n in range(20))),
        limits=Limits(budget=1_000_000),
    ),
}

FIVE_RULES = [
    RuleDefinition(
        "Bedding x2",
        Effect(EffectKind.MULTIPLIER, Decimal(2)),
        conditions=Conditions(categories=frozenset({"bedding"})),
    ),
    RuleDefinition(
        "Duvet launch",
        Effect(EffectKind.BONUS_PER_UNIT, Decimal(50)),
        conditions=Conditions(skus=frozenset({"DUVET"})),
        limits=Limits(budget=10**11),
    ),
    RuleDefinition(
        "Weekend rate",
        Effect(EffectKind.EARN_RATE, Decimal(3)),
        conditions=Conditions(days_of_week=frozenset({1, 2, 3, 4, 5, 6, 7})),
    ),
    RuleDefinition(
        "Big basket",
        Effect(EffectKind.BONUS_PER_ORDER, Decimal(100)),
        limits=Limits(per_member_day=10**9),
    ),
    RuleDefinition(
        "No gift cards",
        Effect(EffectKind.EXCLUDE),
        conditions=Conditions(categories=frozenset({"gift"})),
    ),
]
LINES = [
    LineInput("DUVET", 1, 39_900, "bedding"),
    LineInput("TOWEL", 2, 4_900, "bath"),
    LineInput("CARD", 1, 10_000, "gift"),
]


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a PostgreSQL backend so far, from /proc (the server is local)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _forecast_once(
    engine: LoyaltyEngine, draft: EarningRule, *, serial: bool
) -> tuple[float, float | None, Any]:
    """One forecast: wall seconds, and (serial) the backend's CPU seconds; parallel workers
    are other processes, so CPU is measured with them off."""
    async with PostgresUnitOfWork(engine) as uow:
        db = uow_connection()
        pid = await db.fetchval("SELECT pg_backend_pid()")
        if serial:
            await db.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        cpu = _cpu_seconds(pid) if serial else None
        started = time.perf_counter()
        forecast = await uow.earning_rules.forecast(
            draft,
            start=NOW - timedelta(days=731),
            end=NOW,
            zone="Asia/Shanghai",
            currency_exponent=2,
            earn_rate=Decimal(1),
            point_value=Decimal(1),
            crm=CrmSettings(),
        )
        wall = time.perf_counter() - started
        if cpu is not None:
            cpu = _cpu_seconds(pid) - cpu
    return wall, cpu, forecast


async def _forecasts(engine: LoyaltyEngine, *, explain: bool) -> dict[str, dict[str, float]]:
    timings = {}
    for label, draft in DRAFTS.items():
        wall, _, forecast = await _forecast_once(engine, draft, serial=False)
        serial_wall, cpu, again = await _forecast_once(engine, draft, serial=True)
        assert again == forecast
        timings[label] = {
            "wall_s": round(wall, 2),
            "serial_wall_s": round(serial_wall, 2),
            "serial_cpu_s": round(cpu or 0, 2),
        }
        print(
            f"forecast {label:48} {wall:7.2f} s (serial {serial_wall:.2f} s, CPU {cpu:.2f} s)"
            f"  extra {forecast.extra_points:,} members {forecast.members:,}"
            f" sales {forecast.sales:,}"
        )
        if explain:
            await _explain(engine, draft)
    return timings


async def _explain(engine: LoyaltyEngine, draft: EarningRule) -> None:
    """EXPLAIN ANALYZE of the draft's statement (parallel as configured), to the console."""
    statement, args, _ = forecast_statement(
        draft,
        start=NOW - timedelta(days=731),
        end=NOW,
        zone="Asia/Shanghai",
        currency_exponent=2,
        earn_rate=Decimal(1),
        crm=CrmSettings(),
    )
    async with PostgresUnitOfWork(engine):
        await uow_connection().execute(ANALYTIC)  # as the repository runs it
        plan = await uow_connection().fetch("EXPLAIN (ANALYZE, BUFFERS) " + statement, *args)
    print("\n".join(r[0] for r in plan))


async def _sales(engine: LoyaltyEngine, runs: int, label: str, prefix: str) -> dict[str, float]:
    member = await _a_member(engine, prefix)
    took = []
    for n in range(runs):
        started = time.perf_counter()
        async with PostgresUnitOfWork(engine) as uow:
            await record_sale(
                RecordSale(
                    UUID(STORE_ID),
                    None,
                    f"{prefix}-{n}",
                    LINES,
                    member_id=member,
                ),
                uow,
                clock=SystemClock(),
                ids=UuidGenerator(),
                dating=SaleDating(),
            )
            await uow.commit()
        took.append((time.perf_counter() - started) * 1000)
    took.sort()
    result = {
        "median_ms": round(statistics.median(took), 2),
        "p95_ms": round(took[int(len(took) * 0.95) - 1], 2),
    }
    print(f"sale {label:52} median {result['median_ms']} ms  p95 {result['p95_ms']} ms")
    return result


async def _a_member(engine: LoyaltyEngine, prefix: str) -> Any:
    from tests.integration.factories import a_member

    member = a_member(f"+86138{abs(hash(prefix)) % 10**6:06d}", card=abs(hash(prefix)) % 10**6)
    async with PostgresUnitOfWork(engine) as uow:
        await uow.members.add(member)
        await uow.points.open_account(member.id)
        await uow.commit()
    return member.id


async def _generate(url: str, members: int, sales: int) -> None:
    await migrate(url)
    connection = await asyncpg.connect(url)
    started = time.perf_counter()
    try:
        await connection.execute(SETUP[0])
        await connection.execute(SETUP[1], NOW, members)
        await connection.execute(SETUP[2], NOW, members, sales, STORE_ID)
        await connection.execute(SETUP[3])
        await connection.execute(SETUP[4])
    finally:
        await connection.close()
    print(f"generated {sales:,} sales in {time.perf_counter() - started:.0f} s")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--sales", type=int, default=1_000_000)
    parser.add_argument("--sale-runs", type=int, default=300)
    parser.add_argument("--explain", action="store_true", help="print each plan, analysed")
    parser.add_argument(
        "--database", default=None, help="a database generated before (kept with --keep)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the generated database")
    parser.add_argument("--forecast-only", action="store_true", help="no sale timings")
    args = parser.parse_args()
    if args.database:
        database = TestDatabase(url=args.database, admin_url=None, name="")
    else:
        database = await create_test_database()
    try:
        if not args.database:
            await _generate(database.url, args.members, args.sales)
        engine = await start_engine(database.url, min_size=1, max_size=4)
        try:
            print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
            forecasts = await _forecasts(engine, explain=args.explain)
            if args.forecast_only:
                return
            without = await _sales(engine, args.sale_runs, "without rules", "A")
            async with PostgresUnitOfWork(engine) as uow:
                for definition in FIVE_RULES:
                    await create_rule(
                        definition, "bench", uow, clock=SystemClock(), ids=UuidGenerator()
                    )
                await uow.commit()
            with_five = await _sales(engine, args.sale_runs, "with five live rules", "B")
        finally:
            await stop_engine(engine)
    finally:
        if args.keep:
            print(f"kept {database.url}")
        else:
            await drop_test_database(database)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "members": args.members,
                "sales": args.sales,
                "lines_per_sale": 2,
                "forecast_seconds": forecasts,
                "sale_without_rules": without,
                "sale_with_five_rules": with_five,
            },
            indent=2,
        )
        + "\n"
    )


if __name__ == "__main__":
    asyncio.run(main())
