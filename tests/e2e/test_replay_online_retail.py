"""`loyalty replay online-retail` against a served process, on the first 2,000 rows of the file.

The expected figures were counted from the slice with the csv module, not taken from the
replay's output: 2,000 rows hold 97 invoices of 72 customers. 91 are sales, 7 of them guests';
one guest invoice has 527 lines, so it is two receipts (the API takes 500): 92 sales, 8 guest.
6 are cancellations (183 units); only C536506 (6 x 22960 of customer 17897, 8 sold 7 minutes
earlier on 536488) has its earlier sale in the slice: 1 refund, 5 unmatched with 177 units.
"""

from __future__ import annotations

import asyncio
import gzip
import os
import re
import subprocess
from collections.abc import Iterator
from itertools import islice
from pathlib import Path

import asyncpg
import pytest

from domain.sale_dating import MAX_BACKDATE_DAYS
from tests.e2e.conftest import BIN, cli, serving
from tests.support.shared_data import shared_data_dir

DATA = shared_data_dir() / "online_retail.csv.gz"
ROWS = 2000
COUNTED = (
    "SELECT (SELECT count(*) FROM sales) AS sales, (SELECT count(*) FROM refunds) AS refunds,"
    " (SELECT count(*) FROM members) AS members,"
    " (SELECT count(*) FROM points_entries) AS entries,"
    " (SELECT coalesce(sum(available), 0) FROM points_accounts) AS available"
)

pytestmark = pytest.mark.skipif(not DATA.exists(), reason=f"{DATA} is not there")


@pytest.fixture(scope="module")
def service(db_url: str) -> Iterator[tuple[str, dict[str, str]]]:
    """Served as an operator replaying history serves it: the file's invoices date from
    2010, far beyond the default back-dating limit (90 days), so the limit is raised."""
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "LOYALTY_LOG_LEVEL": "WARNING",
        "LOYALTY_MAX_BACKDATE_DAYS": str(MAX_BACKDATE_DAYS),
    }
    with serving(env, "--migrate") as base:
        yield base, env


def figures(output: str) -> dict[str, str]:
    pairs = (re.match(r"^([a-z/ ]+):\s+(.*)$", line) for line in output.splitlines())
    return {m[1].strip(): m[2] for m in pairs if m}


@pytest.fixture(scope="module")
def slice_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("replay") / "online_retail_2000.csv.gz"
    with gzip.open(DATA, "rt", encoding="utf-8") as source, gzip.open(path, "wt") as target:
        target.writelines(islice(source, ROWS + 1))  # the header and 2,000 rows
    return path


async def counts(db_url: str) -> dict[str, int]:
    connection = await asyncpg.connect(db_url)
    try:
        row = await connection.fetchrow(COUNTED)
    finally:
        await connection.close()
    assert row is not None
    return {key: int(value) for key, value in row.items()}


@pytest.mark.usefixtures("clean_db")
async def test_replay_posts_every_invoice_once_and_a_second_run_applies_nothing(
    service: tuple[str, dict[str, str]], slice_path: Path, db_url: str
) -> None:
    base, env = service
    args = ("replay", "online-retail", str(slice_path), "--base-url", base, "--workers", "4")

    first = figures(cli(*args, env=env))
    after_first = await counts(db_url)
    second = figures(cli(*args, env=env))
    after_second = await counts(db_url)

    assert first["invoices"] == "97"
    assert first["sales"] == "92 (8 guest)"
    assert first["refunds"] == "1"
    assert first["unmatched cancellations"] == "5 (177 units without an earlier sale)"
    assert first["members"] == "72"
    assert first["ledger verify"].endswith(" 0 mismatches")
    assert after_first["sales"] == 92
    assert after_first["refunds"] == 1
    assert after_first["members"] == 72
    assert int(first["points earned"]) - int(first["points reversed"]) == after_first["available"]
    # The second run gets the first answers back: the same figures, nothing written.
    assert after_second == after_first
    for line in ("invoices", "sales", "refunds", "members", "points earned", "points reversed"):
        assert second[line] == first[line]


@pytest.mark.usefixtures("clean_db")
async def test_a_replay_against_the_default_backdating_limit_stops_before_any_sale_saying_why(
    slice_path: Path, db_url: str
) -> None:
    env = {**os.environ, "DATABASE_URL": db_url, "LOYALTY_LOG_LEVEL": "WARNING"}
    env.pop("LOYALTY_MAX_BACKDATE_DAYS", None)
    with serving(env) as base:
        result = await asyncio.to_thread(
            subprocess.run,
            [str(BIN / "loyalty"), "replay", "online-retail", str(slice_path), "--base-url", base],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    assert result.returncode == 2, result.stdout + result.stderr
    assert "refuses sales dated 2010-12-01" in result.stderr
    assert "LOYALTY_MAX_BACKDATE_DAYS=" in result.stderr
    assert (await counts(db_url))["sales"] == 0
