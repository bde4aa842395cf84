"""`loyalty import online-retail` and the CRM reports on the real UCI Online Retail file.

The first file is imported once for the module (about 25 s on the 2-core machine); the
figures are pinned and, where they can be, recomputed independently from the CSV in Python.
"""

from __future__ import annotations

import csv
import gzip
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import asyncpg
import pytest

from adapters.persistence.crm_reports import (
    churn_risk,
    lifecycle_report,
    regions_report,
    rfm_report,
    rfm_scores,
)
from adapters.persistence.online_retail_import import (
    ImportRefused,
    ImportReport,
    import_online_retail,
)
from app.reports import ChurnRiskQuery
from domain.cards import is_luhn_valid
from domain.crm import CrmSettings, LifecycleStage, RfmSegment, score_members
from tests.support.database import reset
from tests.support.shared_data import shared_data_dir

pytestmark = pytest.mark.db

DATA = shared_data_dir()
FIRST = DATA / "online_retail.csv.gz"
SECOND = DATA / "online_retail_ii_2009_2010.csv.gz"
ZONE = "Europe/London"
AS_OF = date(2011, 12, 10)

if not FIRST.exists():  # the data lives next to the repository, in ../shared/data
    pytest.skip(f"{FIRST} is not there", allow_module_level=True)


@dataclass(frozen=True)
class Expected:
    """What the file says, computed in Python with Decimal: the rules, restated."""

    customers: int
    sales: int
    refunds: int
    sales_amount: int
    refunds_amount: int
    guest_rows: int


def pence(price: str) -> int:
    return int((Decimal(price) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def expected_from(path: Path) -> Expected:
    customers, sales, refunds = set(), set(), set()
    amounts: Counter[str] = Counter()
    guests = 0
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        for invoice, _, _, quantity, _, price, customer, _ in reader:
            if not customer.strip():
                guests += 1
                continue
            customers.add(customer)
            kind = "refund" if invoice.startswith("C") else "sale"
            (refunds if kind == "refund" else sales).add(invoice)
            amounts[kind] += int(quantity) * pence(price)
    return Expected(
        len(customers), len(sales), len(refunds), amounts["sale"], -amounts["refund"], guests
    )


@dataclass
class Imported:
    url: str
    first: ImportReport
    again: ImportReport


@pytest.fixture(scope="module")
async def imported(db_url: str) -> AsyncIterator[Imported]:
    await reset(db_url)
    connection = await asyncpg.connect(db_url)
    try:
        await connection.execute(
            "UPDATE program_settings SET currency = 'GBP', time_zone = $1", ZONE
        )
        now = datetime(2026, 11, 23, 12, tzinfo=UTC)
        first = await import_online_retail(connection, FIRST, now=now)
        again = await import_online_retail(connection, FIRST, now=now)
    finally:
        await connection.close()
    yield Imported(db_url, first, again)
    await reset(db_url)


@pytest.fixture
async def db(imported: Imported) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(imported.url)
    try:
        yield connection
    finally:
        await connection.close()


async def test_the_first_file_loads_with_its_figures_pinned(imported: Imported) -> None:
    report = imported.first
    assert (report.rows_read, report.guest_rows_skipped, report.other_rows_skipped) == (
        541_909,
        135_080,
        0,
    )
    assert report.duplicate_rows == 5_268
    assert (report.sales_in_file, report.refunds_in_file) == (18_536, 3_654)
    assert (report.members_added, report.sales_added, report.refunds_added) == (
        4_372,
        18_536,
        3_654,
    )
    assert (report.refunds_linked, report.refunds_unlinked) == (2_728, 926)
    assert report.seconds < 60


async def test_rerunning_the_import_adds_nothing(imported: Imported) -> None:
    again = imported.again
    assert (again.members_added, again.sales_added, again.refunds_added) == (0, 0, 0)
    assert (again.refunds_linked, again.refunds_unlinked) == (0, 0)
    assert again.rows_read == imported.first.rows_read


async def test_the_database_holds_what_the_file_says(db: asyncpg.Connection) -> None:
    expected = expected_from(FIRST)
    totals = await db.fetchrow(
        "SELECT (SELECT count(*) FROM member_external_ids WHERE source = 'online-retail') AS m,"
        " (SELECT count(*) FROM sales) AS s, (SELECT sum(payable) FROM sales) AS sa,"
        " (SELECT count(*) FROM refunds) AS r, (SELECT sum(amount) FROM refunds) AS ra"
    )
    assert (totals["m"], totals["s"], totals["r"]) == (
        expected.customers,
        expected.sales,
        expected.refunds,
    )
    assert (totals["sa"], totals["ra"]) == (expected.sales_amount, expected.refunds_amount)
    assert expected.guest_rows == 135_080


async def test_prices_are_rounded_half_up_to_pence(db: asyncpg.Connection) -> None:
    # 40 customer lines are priced 0 and four 0.001 (PADS, BANK CHARGES): a till sends 0.
    assert await db.fetchval("SELECT count(*) FROM sale_lines WHERE unit_price = 0") == 40 + 4
    pads = await db.fetchval(
        "SELECT l.unit_price FROM sale_lines l JOIN sales s ON s.id = l.sale_id "
        "WHERE s.receipt_id = '550193' AND l.sku = 'PADS'"
    )
    assert pads == 0


async def test_imported_history_earns_nothing_and_keeps_the_sales_invariants(
    db: asyncpg.Connection,
) -> None:
    row = await db.fetchrow(
        "SELECT count(*) FILTER (WHERE imported_from IS DISTINCT FROM 'online-retail') AS other,"
        " sum(points_earned) AS points, count(*) FILTER (WHERE refunded_amount > payable) AS over,"
        " count(*) FILTER (WHERE occurred_at < '2010-12-01T00:00:00Z') AS early"
        " FROM sales"
    )
    assert (row["other"], row["points"], row["over"], row["early"]) == (0, 0, 0, 0)
    assert await db.fetchval("SELECT count(*) FROM points_entries") == 0
    # Invoice 536365 was rung up at 08:26 London time on 1 December 2010 (GMT).
    assert await db.fetchval(
        "SELECT occurred_at FROM sales WHERE receipt_id = '536365'"
    ) == datetime(2010, 12, 1, 8, 26, tzinfo=UTC)


async def test_every_imported_member_has_a_card_an_account_and_a_region(
    db: asyncpg.Connection,
) -> None:
    rows = await db.fetch(
        "SELECT c.card_number, m.region, a.member_id IS NOT NULL AS account, m.phone"
        " FROM members m JOIN member_cards c ON c.member_id = m.id AND c.status = 'active'"
        " LEFT JOIN points_accounts a ON a.member_id = m.id"
    )
    assert len(rows) == 4_372
    assert all(is_luhn_valid(r["card_number"]) and len(r["card_number"]) == 16 for r in rows)
    assert all(r["account"] and r["region"] and r["phone"] is None for r in rows)


async def test_a_refund_links_to_the_latest_earlier_sale_with_its_stock_codes(
    db: asyncpg.Connection,
) -> None:
    # C536379 (customer 14527, stock code D "Discount") has no earlier sale with code D.
    assert await db.fetchval("SELECT sale_id FROM refunds WHERE refund_id = 'C536379'") is None
    linked = await db.fetch(
        "SELECT f.refund_id, f.created_at, s.occurred_at, s.member_id = f.member_id AS same"
        " FROM refunds f JOIN sales s ON s.id = f.sale_id"
    )
    assert len(linked) == 2_728
    assert all(r["occurred_at"] < r["created_at"] and r["same"] for r in linked)


async def test_rfm_as_of_2011_12_10_with_members_per_segment_pinned(
    db: asyncpg.Connection,
) -> None:
    report = await rfm_report(db, zone=ZONE, as_of=AS_OF, window_days=365)

    assert report.members_scored == 4_259
    assert {s.segment: s.members for s in report.segments} == {
        RfmSegment.CHAMPIONS: 564,
        RfmSegment.LOYAL: 683,
        RfmSegment.POTENTIAL_LOYALISTS: 461,
        RfmSegment.NEW_CUSTOMERS: 69,
        RfmSegment.PROMISING: 171,
        RfmSegment.NEED_ATTENTION: 115,
        RfmSegment.ABOUT_TO_SLEEP: 491,
        RfmSegment.AT_RISK: 337,
        RfmSegment.CANT_LOSE_THEM: 55,
        RfmSegment.HIBERNATING: 540,
        RfmSegment.LOST: 773,
    }
    assert sum(s.share for s in report.segments) == pytest.approx(1, abs=0.001)


async def test_the_sql_scores_equal_the_domain_definition_on_the_real_file(
    db: asyncpg.Connection,
) -> None:
    for window in (365, 90):
        scores = await rfm_scores(db, zone=ZONE, as_of=AS_OF, window_days=window)
        assert scores == score_members({k: v.values for k, v in scores.items()})


async def test_lifecycle_churn_and_regions_on_the_real_file(db: asyncpg.Connection) -> None:
    lifecycle = await lifecycle_report(
        db, zone=ZONE, start=date(2011, 11, 1), end=date(2011, 12, 1), crm=CrmSettings()
    )
    assert lifecycle.at_end == {
        LifecycleStage.PROSPECT: 33,
        LifecycleStage.NEW: 324,
        LifecycleStage.ACTIVE: 2_517,
        LifecycleStage.DORMANT: 610,
        LifecycleStage.CHURNED: 847,
    }
    joined = sum(f.members for f in lifecycle.flows if f.from_stage is None)
    assert joined == 321

    warnings = await churn_risk(
        db, ChurnRiskQuery(ZONE, AS_OF, CrmSettings(), 365, within_days=30, limit=200)
    )
    assert warnings, "valuable members went dormant in November 2011"
    assert all(w.top_quintile for w in warnings)  # nobody is on a tier above the entry one
    assert [w.monetary for w in warnings] == sorted((w.monetary for w in warnings), reverse=True)
    assert warnings[0].monetary == 1_021_748

    regions = await regions_report(db, zone=ZONE, first_day=None, last_day=None)
    uk = regions[0]
    assert (uk.region, uk.members, uk.buyers, uk.sales) == ("United Kingdom", 3_950, 3_921, 16_649)
    assert sum(r.members for r in regions) == 4_372
    assert sum(r.sales for r in regions) == 18_536


async def test_the_second_layout_loads_too(tmp_path: Path, db: asyncpg.Connection) -> None:
    """The first 3,000 rows of the 2009-2010 file, in its own column layout."""
    sample = tmp_path / "online_retail_ii_sample.csv.gz"
    with gzip.open(SECOND, "rt", encoding="utf-8") as source:
        lines = [source.readline() for _ in range(3_001)]
    sample.write_bytes(gzip.compress("".join(lines).encode()))
    expected = expected_from(sample)

    # Rolled back afterwards: the other tests of the module see the first file only.
    transaction = db.transaction()
    await transaction.start()
    try:
        report = await import_online_retail(db, sample, now=datetime.now(UTC))
    finally:
        await transaction.rollback()

    assert report.rows_read == 3_000
    assert (report.sales_in_file, report.refunds_in_file) == (expected.sales, expected.refunds)
    # December 2009 predates the first file: nothing of it was there yet.
    assert (report.sales_added, report.refunds_added) == (expected.sales, expected.refunds)


async def test_an_unknown_layout_or_currency_is_refused(
    tmp_path: Path, db: asyncpg.Connection
) -> None:
    odd = tmp_path / "odd.csv"
    odd.write_text("Invoice,Sku,Qty\n1,A,1\n")
    with pytest.raises(ImportRefused, match="unknown column layout"):
        await import_online_retail(db, odd, now=datetime.now(UTC))

    transaction = db.transaction()
    await transaction.start()
    try:
        await db.execute("UPDATE program_settings SET currency = 'CNY'")
        with pytest.raises(ImportRefused, match="programme's currency is CNY"):
            await import_online_retail(db, FIRST, now=datetime.now(UTC))
    finally:
        await transaction.rollback()
