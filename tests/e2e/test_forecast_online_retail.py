"""A rule's forecast over the real retail file equals what a replay earns with the rule live.

Issue #19's proof: the UCI Online Retail file is replayed through the HTTP API with no rule;
`POST /v1/admin/earning-rules/simulate` forecasts a draft ("double points on the 229xx
product family at weekends") over the replayed sales; then, on a fresh database, the rule is
created and the same file replayed again. The ledger's extra points (earn entries, and earn
less reversals) must equal the forecast's extra points (gross, and net of the file's
cancellations) exactly, and `ledger verify` must be clean after both runs.

By default a slice: the first 20,000 rows (1-9 December 2010: one weekend, a few hundred
customers, matched cancellations). `LOYALTY_FORECAST_ROWS=all` runs the whole file (the
figures in docs/replay.md):

    LOYALTY_FORECAST_ROWS=all .venv/bin/pytest -q -s -m db tests/e2e/test_forecast_online_retail.py

The rule has no limits: with no per-member cap, the order in which the replay's workers post
different customers' sales cannot change any sale's points (see docs/rules.md, "Forecast").
"""

from __future__ import annotations

import asyncio
import csv
import gzip
import os
import subprocess
import time
from collections.abc import Iterator
from itertools import islice
from pathlib import Path

import asyncpg
import httpx
import pytest

from domain.sale_dating import MAX_BACKDATE_DAYS
from tests.e2e.conftest import BIN, cli, serving
from tests.e2e.test_replay_online_retail import figures
from tests.support.database import reset
from tests.support.shared_data import shared_data_dir

DATA = shared_data_dir() / "online_retail.csv.gz"
ROWS = os.environ.get("LOYALTY_FORECAST_ROWS", "20000")
FAMILY = "229"  # stock codes 229xx: a family of a few dozen products
WEEKEND = [6, 7]
REPLAY_TIMEOUT = 3 * 3600

# The ledger's own totals: earn entries, and earn entries less reversals.
LEDGER = """
SELECT coalesce(sum(points) FILTER (WHERE entry_type = 'earn'), 0)::bigint AS earned,
       coalesce(sum(points) FILTER (WHERE entry_type IN ('earn', 'reverse')), 0)::bigint AS net,
       (SELECT coalesce(sum(points), 0) FROM earning_rule_awards)::bigint AS awards,
       (SELECT count(*) FROM sales) AS sales,
       (SELECT count(*) FROM refunds) AS refunds
FROM points_entries
"""

pytestmark = [
    pytest.mark.db,
    pytest.mark.skipif(not DATA.exists(), reason=f"{DATA} is not there"),
]


@pytest.fixture(scope="module")
def service(db_url: str) -> Iterator[tuple[str, dict[str, str]]]:
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "LOYALTY_LOG_LEVEL": "WARNING",
        "LOYALTY_MAX_BACKDATE_DAYS": str(MAX_BACKDATE_DAYS),
    }
    with serving(env, "--migrate") as base:
        yield base, env


@pytest.fixture(scope="module")
def data_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if ROWS == "all":
        return DATA
    path = tmp_path_factory.mktemp("forecast") / f"online_retail_{ROWS}.csv.gz"
    with gzip.open(DATA, "rt", encoding="utf-8") as source, gzip.open(path, "wt") as target:
        target.writelines(islice(source, int(ROWS) + 1))  # the header and the rows
    return path


def family_skus(path: Path) -> list[str]:
    with gzip.open(path, "rt", encoding="utf-8") as source:
        codes = {row["StockCode"] for row in csv.DictReader(source)}
    return sorted(c for c in codes if c.startswith(FAMILY))


def replay(base: str, env: dict[str, str], path: Path) -> dict[str, str]:
    started = time.perf_counter()
    result = subprocess.run(
        [str(BIN / "loyalty"), "replay", "online-retail", str(path), "--base-url", base],
        env=env,
        capture_output=True,
        text=True,
        timeout=REPLAY_TIMEOUT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = figures(result.stdout)
    out["seconds"] = f"{time.perf_counter() - started:.1f}"
    return out


async def ledger(db_url: str) -> dict[str, int]:
    connection = await asyncpg.connect(db_url)
    try:
        row = await connection.fetchrow(LEDGER)
    finally:
        await connection.close()
    assert row is not None
    return {key: int(value) for key, value in row.items()}


async def london(http: httpx.AsyncClient) -> None:
    """The programme in the file's time zone, so that "weekend" is the shop's weekend."""
    response = await http.patch(
        "/v1/admin/program",
        content=b'{"time_zone": "Europe/London"}',
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert response.status_code == 200, response.text


async def test_a_rules_forecast_over_the_real_file_equals_the_points_a_replay_earns_with_it(
    service: tuple[str, dict[str, str]], data_file: Path, db_url: str
) -> None:
    base, env = service
    admin = {
        "Authorization": "Bearer "
        + cli("token", "admin", "--subject", "forecast-proof", env=env).split()[-1]
    }
    rule = {
        "name": f"Double {FAMILY}xx at weekends",
        "effect": {"kind": "multiplier", "value": "2"},
        "conditions": {"skus": family_skus(data_file), "days_of_week": WEEKEND},
    }

    async with httpx.AsyncClient(base_url=base, headers=admin, timeout=600) as http:
        # 1. The file without the rule, then the draft's forecast over what it recorded.
        await reset(db_url)
        await london(http)
        without = await asyncio.to_thread(replay, base, env, data_file)
        ledger_without = await ledger(db_url)
        started = time.perf_counter()
        simulated = await http.post(
            "/v1/admin/earning-rules/simulate",
            json={"rule": rule, "from": "2009-01-01T00:00:00Z", "to": "2012-01-01T00:00:00Z"},
        )
        forecast_seconds = time.perf_counter() - started
        assert simulated.status_code == 200, simulated.text
        forecast = simulated.json()

        # 2. A fresh database, the rule live, the same file again.
        await reset(db_url)
        await london(http)
        created = await http.post(
            "/v1/admin/earning-rules",
            json=rule,
            headers={"Idempotency-Key": "forecast-proof-rule"},
        )
        assert created.status_code == 201, created.text
        with_rule = await asyncio.to_thread(replay, base, env, data_file)
        ledger_with = await ledger(db_url)

    print(
        f"\nrows {ROWS}: {ledger_with['sales']:,} sales, {ledger_with['refunds']:,} refunds; "
        f"{len(rule['conditions']['skus'])} SKUs {FAMILY}xx, days {WEEKEND}\n"
        f"forecast: extra {forecast['extra_points']:,} (net {forecast['net_extra_points']:,},"
        f" reversed {forecast['reversed_points']:,}), {forecast['members']:,} members,"
        f" {forecast['sales']:,} sales, cost {forecast['cost']:,}; {forecast_seconds:.2f} s\n"
        f"replay without: earned {ledger_without['earned']:,} net {ledger_without['net']:,}"
        f" ({without['seconds']} s); with: earned {ledger_with['earned']:,}"
        f" net {ledger_with['net']:,} awards {ledger_with['awards']:,}"
        f" ({with_rule['seconds']} s)\n"
        f"ledger verify: {without['ledger verify']} / {with_rule['ledger verify']}"
    )
    for run in (without, with_rule):
        assert run["ledger verify"].endswith(" 0 mismatches")
    assert ledger_with["sales"] == ledger_without["sales"]
    assert ledger_with["refunds"] == ledger_without["refunds"]
    assert forecast["sales"] > 0
    assert ledger_with["earned"] - ledger_without["earned"] == forecast["extra_points"]
    assert ledger_with["net"] - ledger_without["net"] == forecast["net_extra_points"]
    assert ledger_with["awards"] == forecast["net_extra_points"]
