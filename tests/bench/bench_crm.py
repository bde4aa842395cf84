"""Benchmark: the Online Retail import and the CRM reports, on the real file and at scale.

Run with `.venv/bin/python tests/bench/bench_crm.py [--members N] [--sales N]` (defaults:
1,000,000 members and 20,000,000 sales). It creates a scratch database on the server the
tests use (tests/support/database.py) and migrates it, then

1. imports ../shared/data/online_retail.csv.gz (the first file), imports it again (a rerun
   adds nothing), and times the RFM, lifecycle, churn and regions reports as of 2011-12-10;
2. generates N members and S sales spread over two years in SQL (one in twenty with a
   refund dated up to 30 days later), and times the same reports and a segment count.

It prints a table of seconds, writes tests/bench/results/crm.json and drops the database.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import asyncpg

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from adapters.persistence.crm_reports import (  # noqa: E402
    churn_risk,
    lifecycle_report,
    regions_report,
    rfm_report,
    segment_sql,
)
from adapters.persistence.migrate import migrate  # noqa: E402
from adapters.persistence.online_retail_import import import_online_retail  # noqa: E402
from app.reports import ChurnRiskQuery  # noqa: E402
from domain.crm import CrmSettings, RfmSegment, RfmSegmentSpec  # noqa: E402
from tests.support.database import create_test_database, drop_test_database  # noqa: E402

RESULTS = ROOT / "tests" / "bench" / "results" / "crm.json"
FIRST_FILE = ROOT.parent / "shared" / "data" / "online_retail.csv.gz"
ZONE = "Europe/London"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
TODAY = date(2026, 11, 23)

STORE = """
INSERT INTO stores (id, code, name, created_at)
VALUES ('00000000-0000-0000-0000-000000000001', 'BENCH', 'Bench', now())
"""

# Members numbered 1..N with id md5(n): a sale can pick its member by number. Regions from a
# short list, a few tiers.
MEMBERS = """
INSERT INTO members (id, phone, tier_code, enrolled_at, region)
SELECT md5(n::text)::uuid, NULL, 'member', $1::timestamptz - interval '3 years',
       (ARRAY['United Kingdom', 'France', 'Germany', 'EIRE', 'Spain', NULL])[1 + n % 6]
FROM generate_series(1, $2::int) AS n
"""

# Ids and receipt numbers ascend with g, so those two indexes fill at their right edge; the
# member (and so the member index) is random.
SALES = """
INSERT INTO sales (id, store_id, receipt_id, member_id, currency, occurred_at, recorded_at,
                   subtotal, payable, imported_from)
SELECT lpad(to_hex(g), 32, '0')::uuid, '00000000-0000-0000-0000-000000000001',
       'r' || lpad(g::text, 10, '0'),
       md5((1 + floor(random() * $2::int))::int::text)::uuid, 'GBP',
       at, at, amount, amount, 'bench'
FROM (
    SELECT g, $1::timestamptz - random() * interval '730 days' AS at,
           (100 + floor(random() * 25000))::bigint AS amount
    FROM generate_series(1, $3::int) AS g
) AS s
"""

REFUNDS = """
INSERT INTO refunds (id, sale_id, member_id, refund_id, amount, created_at, imported_from)
SELECT gen_random_uuid(), id, member_id, 'c' || receipt_id, payable / 2,
       least(occurred_at + random() * interval '30 days', $1::timestamptz), 'bench'
FROM sales TABLESAMPLE BERNOULLI (5)
"""


async def timed(label: str, results: dict[str, float], coroutine: Any) -> Any:
    started = time.perf_counter()
    value = await coroutine
    results[label] = round(time.perf_counter() - started, 2)
    print(f"  {label:<44} {results[label]:>8.2f} s", flush=True)
    return value


async def reports(
    connection: asyncpg.Connection, label: str, today: date, results: dict[str, float]
) -> dict[str, Any]:
    crm = CrmSettings()
    rfm = await timed(
        f"{label}: RFM report (365 days)",
        results,
        rfm_report(connection, zone=ZONE, as_of=today, window_days=365),
    )
    await timed(
        f"{label}: lifecycle report (30 days)",
        results,
        lifecycle_report(
            connection,
            zone=ZONE,
            start=date.fromordinal(today.toordinal() - 29),
            end=date.fromordinal(today.toordinal() + 1),
            crm=crm,
        ),
    )
    await timed(
        f"{label}: churn risk (first 50)",
        results,
        churn_risk(connection, ChurnRiskQuery(ZONE, today, crm, 365, within_days=30, limit=50)),
    )
    await timed(
        f"{label}: regions report",
        results,
        regions_report(connection, zone=ZONE, first_day=None, last_day=None),
    )
    sql, args = segment_sql(RfmSegmentSpec(RfmSegment.CHAMPIONS), today=today, zone=ZONE, crm=crm)
    champions = await timed(
        f"{label}: segment count (champions)",
        results,
        connection.fetchval(f"SELECT count(*) FROM ({sql}) s", *args),
    )
    return {
        "members_scored": rfm.members_scored,
        "segments": {s.segment.value: s.members for s in rfm.segments},
        "champions": champions,
    }


async def run(members: int, sales: int, *, keep: bool = False) -> dict[str, object]:
    database = await create_test_database()
    results: dict[str, float] = {}
    outcome: dict[str, object] = {}
    try:
        print(f"scratch database {database.name}", flush=True)
        await migrate(database.url)
        connection = await asyncpg.connect(database.url)
        try:
            await connection.execute(
                "UPDATE program_settings SET currency = 'GBP', time_zone = $1", ZONE
            )
            if FIRST_FILE.exists():
                first = await timed(
                    "import online_retail.csv.gz", results,
                    import_online_retail(connection, FIRST_FILE, now=NOW),
                )  # fmt: skip
                await timed(
                    "import it again (adds nothing)", results,
                    import_online_retail(connection, FIRST_FILE, now=NOW),
                )  # fmt: skip
                outcome["import"] = first.summary()
                outcome["real_file"] = await reports(
                    connection, "real file", date(2011, 12, 10), results
                )
            await connection.execute("SET session_replication_role = replica")  # no FK triggers
            await connection.execute(STORE)
            await timed(
                f"generate {members:,} members", results,
                connection.execute(MEMBERS, NOW, members),
            )  # fmt: skip
            await timed(
                f"generate {sales:,} sales", results,
                connection.execute(SALES, NOW, members, sales),
            )  # fmt: skip
            await timed("generate refunds (5 %)", results, connection.execute(REFUNDS, NOW))
            await connection.execute("SET session_replication_role = origin")
            await timed("vacuum analyze", results, connection.execute("VACUUM ANALYZE"))
            outcome["generated"] = await reports(connection, "generated", TODAY, results)
        finally:
            await connection.close()
    finally:
        if keep:
            print(f"kept {database.url}")
        else:
            await drop_test_database(database)
    return {
        "members": members,
        "sales": sales,
        "seconds": results,
        "reports": outcome,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--sales", type=int, default=20_000_000)
    parser.add_argument("--output", default=str(RESULTS))
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()
    print(f"{'step':<46} {'seconds':>8}")
    outcome = asyncio.run(run(args.members, args.sales, keep=args.keep))
    print(json.dumps(outcome["reports"], indent=2))
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(outcome, indent=2) + "\n")
    print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
