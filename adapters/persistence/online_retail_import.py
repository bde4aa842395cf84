"""Bulk import of the UCI "Online Retail" files: a retailer's history, for analytics.

The file is COPYed as text into a temporary staging table and turned into members, sales and
refunds by a handful of set-based INSERT ... SELECT statements, in one transaction. Natural
keys make a rerun add nothing: customers by (source, external id), sales by (store, receipt
id), refunds by (source, refund id).

Imported history earns no points and touches no ledger: it is the past, replayed so that the
RFM, lifecycle and regional reports see it. Its sales and refunds are marked
``imported_from = 'online-retail'`` (a CHECK forbids points on them) and belong to one store,
``online-retail``. Rules (issue #9):

- a row without a customer id is a guest's: counted and skipped;
- an invoice with a customer id is a sale of that customer's member, dated at its invoice
  time (the file's times are Europe/London local time); every row is a sale line, the unit
  price rounded half up to pence as a till would send it, amount = sum of quantity x price
  (exact duplicate rows are kept: the file cannot tell a double scan from a double export;
  the report counts them);
- an invoice numbered ``C...`` is a refund of that customer, of its full amount, dated at its
  time, linked to the customer's latest earlier sale whose lines include every stock code of
  the cancellation, unlinked when there is none. A linked sale's ``refunded_amount`` grows
  by the refund but never past its payable amount (the sale's own invariant); the refund row
  keeps the full amount, and the reports count refunds by their own date;
- a customer becomes a member (no phone: the file has none) with the customer id as external
  id (source ``online-retail``), the country of their latest row as region, enrolled at their
  first invoice, on the entry tier, with a card number like any other member's.
"""

from __future__ import annotations

import gzip
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO
from uuid import UUID, uuid4

import asyncpg

from adapters.system import CryptoRandom
from domain.cards import generate_card_number

SOURCE = "online-retail"
STORE_CODE = "online-retail"
STORE_NAME = "Online Retail (imported history)"
CURRENCY = "GBP"
FILE_TIME_ZONE = "Europe/London"
LAYOUTS = (
    # "Online Retail" (2010-2011) and the first sheet of "Online Retail II" (2009-2010).
    ("InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice",
     "CustomerID", "Country"),
    ("Invoice", "StockCode", "Description", "Quantity", "InvoiceDate", "Price", "Customer ID",
     "Country"),
)  # fmt: skip
STAGE_COLUMNS = (
    "invoice",
    "stock_code",
    "description",
    "quantity",
    "invoice_date",
    "unit_price",
    "customer_id",
    "country",
)
IMPORT_LOCK = (0x4C4F59, 9)  # advisory lock: one import at a time


class ImportRefused(Exception):
    """The file or the programme does not allow the import; nothing was written."""


@dataclass(frozen=True, slots=True)
class ImportReport:
    rows_read: int
    guest_rows_skipped: int
    other_rows_skipped: int  # a customer's row that is neither a sale nor a cancellation
    duplicate_rows: int  # exact duplicates of an earlier row, kept as lines
    sales_in_file: int
    refunds_in_file: int
    members_added: int
    sales_added: int
    refunds_added: int
    refunds_linked: int
    refunds_unlinked: int
    seconds: float

    @property
    def skipped_rows(self) -> int:
        return self.guest_rows_skipped + self.other_rows_skipped

    def summary(self) -> str:
        return (
            f"read {self.rows_read} rows ({self.duplicate_rows} exact duplicates kept); "
            f"skipped {self.skipped_rows} ({self.guest_rows_skipped} guest rows, "
            f"{self.other_rows_skipped} other); file has {self.sales_in_file} sales and "
            f"{self.refunds_in_file} refunds; added {self.members_added} members, "
            f"{self.sales_added} sales, {self.refunds_added} refunds ({self.refunds_linked} "
            f"linked, {self.refunds_unlinked} unlinked) in {self.seconds:.1f} s"
        )


@contextmanager
def _open(path: Path) -> Iterator[BinaryIO]:
    with open(path, "rb") as raw:
        gzipped = raw.read(2) == b"\x1f\x8b"
    handle: BinaryIO = gzip.open(path, "rb") if gzipped else open(path, "rb")  # type: ignore[assignment]  # noqa: SIM115
    with handle:
        yield handle


def _check_header(path: Path) -> None:
    with _open(path) as handle:
        first = handle.readline().decode("utf-8-sig").strip()
    header = tuple(name.strip() for name in first.split(","))
    if header not in LAYOUTS:
        raise ImportRefused(f"{path}: unknown column layout {header}")


_STAGE = """
CREATE TEMPORARY TABLE online_retail_stage (
    row_no bigserial, invoice text, stock_code text, description text, quantity text,
    invoice_date text, unit_price text, customer_id text, country text
) ON COMMIT DROP
"""

# Typed rows of customers; prices rounded half up to pence (round() on numeric rounds half
# away from zero, which is half up for the non-negative prices the files hold).
_PARSE = """
CREATE TEMPORARY TABLE online_retail_rows ON COMMIT DROP AS
SELECT row_no, invoice, trim(stock_code) AS stock_code, quantity::int AS quantity,
       (invoice_date::timestamp AT TIME ZONE $1) AS at,
       round(unit_price::numeric * 100)::bigint AS unit_price,
       trim(customer_id) AS customer_id, nullif(trim(country), '') AS country,
       invoice LIKE 'C%' AS cancellation
FROM online_retail_stage
WHERE nullif(trim(customer_id), '') IS NOT NULL AND invoice ~ '^C?[0-9]+$'
"""

_COUNTS = """
SELECT count(*) AS rows_read,
       count(*) FILTER (WHERE nullif(trim(customer_id), '') IS NULL) AS guests,
       count(*) FILTER (WHERE nullif(trim(customer_id), '') IS NOT NULL
                        AND invoice !~ '^C?[0-9]+$') AS other,
       (SELECT coalesce(sum(n - 1), 0) FROM (
            SELECT count(*) AS n FROM online_retail_stage
            GROUP BY invoice, stock_code, description, quantity, invoice_date, unit_price,
                     customer_id, country
        ) g) AS duplicates,
       (SELECT count(DISTINCT invoice) FROM online_retail_rows WHERE NOT cancellation) AS sales,
       (SELECT count(DISTINCT invoice) FROM online_retail_rows WHERE cancellation) AS refunds
FROM online_retail_stage
"""

_NEW_CUSTOMERS = """
SELECT DISTINCT r.customer_id FROM online_retail_rows r
WHERE NOT EXISTS (
    SELECT 1 FROM member_external_ids e WHERE e.source = $1 AND e.external_id = r.customer_id
)
"""

_NEW_MEMBERS_STAGE = """
CREATE TEMPORARY TABLE online_retail_new_members (
    customer_id text PRIMARY KEY, member_id uuid NOT NULL, card_number text NOT NULL
) ON COMMIT DROP
"""

# Card numbers are random: the rare one already taken (or drawn twice) is drawn again.
_CARD_CLASHES = """
SELECT n.customer_id FROM online_retail_new_members n
WHERE EXISTS (SELECT 1 FROM member_cards c WHERE c.card_number = n.card_number)
   OR EXISTS (SELECT 1 FROM online_retail_new_members o
              WHERE o.card_number = n.card_number AND o.customer_id < n.customer_id)
"""

_ADD_MEMBERS = """
WITH customer AS (
    SELECT r.customer_id, min(r.at) AS first_at,
           (array_agg(r.country ORDER BY r.at DESC, r.row_no DESC))[1] AS country
    FROM online_retail_rows r
    JOIN online_retail_new_members n USING (customer_id)
    GROUP BY r.customer_id
),
entry_tier AS (SELECT code FROM tiers ORDER BY rank LIMIT 1),
members_added AS (
    INSERT INTO members (id, phone, name, email, birthday, tier_code, enrolled_store_id,
                         enrolled_at, region)
    SELECT n.member_id, NULL, NULL, NULL, NULL, (SELECT code FROM entry_tier), $2,
           c.first_at, c.country
    FROM customer c JOIN online_retail_new_members n USING (customer_id)
    RETURNING id, enrolled_at
),
ids AS (
    INSERT INTO member_external_ids (member_id, source, external_id, created_at)
    SELECT n.member_id, $1, n.customer_id, $3 FROM online_retail_new_members n
),
cards AS (
    INSERT INTO member_cards (card_number, member_id, status, issued_at, blocked_at)
    SELECT n.card_number, n.member_id, 'active', m.enrolled_at, NULL
    FROM online_retail_new_members n JOIN members_added m ON m.id = n.member_id
),
accounts AS (
    INSERT INTO points_accounts (member_id, available, pending, debt, updated_at)
    SELECT id, 0, 0, 0, $3 FROM members_added
)
SELECT count(*) FROM members_added
"""

_ADD_SALES = """
WITH invoice AS (
    SELECT r.invoice, r.customer_id, min(r.at) AS at, sum(r.quantity * r.unit_price) AS amount
    FROM online_retail_rows r WHERE NOT r.cancellation
    GROUP BY r.invoice, r.customer_id
),
added AS (
    INSERT INTO sales (id, store_id, terminal_id, receipt_id, member_id, channel, currency,
                       occurred_at, recorded_at, subtotal, discount_total, points_redeemed,
                       points_value, payable, points_earned, refunded_amount, points_reversed,
                       points_restored, imported_from)
    SELECT gen_random_uuid(), $2, NULL, i.invoice, e.member_id, 'web', $4, i.at, $3,
           i.amount, 0, 0, 0, i.amount, 0, 0, 0, 0, $1
    FROM invoice i
    JOIN member_external_ids e ON e.source = $1 AND e.external_id = i.customer_id
    ON CONFLICT (store_id, receipt_id) DO NOTHING
    RETURNING id, receipt_id, member_id
),
lines AS (
    INSERT INTO sale_lines (sale_id, member_id, line_no, sku, category, quantity, unit_price,
                            refunded_quantity)
    SELECT a.id, a.member_id,
           row_number() OVER (PARTITION BY a.id ORDER BY r.row_no) - 1 AS line_no,
           r.stock_code, NULL, r.quantity, r.unit_price, 0
    FROM added a JOIN online_retail_rows r ON r.invoice = a.receipt_id
    -- In key order, the index inserts and foreign key checks walk the indexes once.
    ORDER BY a.id, line_no
)
SELECT count(*) FROM added
"""

# The latest earlier sale of the same member whose lines hold every stock code of the
# cancellation; earlier imports' sales count too (a cancellation may follow its sale across
# the two files).
_ADD_REFUNDS = """
WITH cancellation AS (
    SELECT r.invoice, e.member_id, min(r.at) AS at,
           sum(-r.quantity * r.unit_price) AS amount,
           array_agg(DISTINCT r.stock_code) AS codes
    FROM online_retail_rows r
    JOIN member_external_ids e ON e.source = $1 AND e.external_id = r.customer_id
    WHERE r.cancellation
      AND NOT EXISTS (SELECT 1 FROM refunds f WHERE f.imported_from = $1
                      AND f.refund_id = r.invoice)
    GROUP BY r.invoice, e.member_id
),
linked AS (
    SELECT DISTINCT ON (c.invoice) c.invoice, s.id AS sale_id
    FROM cancellation c
    JOIN sales s ON s.member_id = c.member_id AND s.occurred_at < c.at
    WHERE NOT EXISTS (
        SELECT 1 FROM unnest(c.codes) AS code
        WHERE NOT EXISTS (SELECT 1 FROM sale_lines l WHERE l.sale_id = s.id AND l.sku = code)
    )
    ORDER BY c.invoice, s.occurred_at DESC, s.receipt_id DESC
),
added AS (
    INSERT INTO refunds (id, sale_id, member_id, refund_id, amount, points_reversed,
                         created_at, imported_from)
    SELECT gen_random_uuid(), l.sale_id, c.member_id, c.invoice, c.amount, 0, c.at, $1
    FROM cancellation c LEFT JOIN linked l USING (invoice)
    ON CONFLICT (imported_from, refund_id) WHERE imported_from IS NOT NULL DO NOTHING
    RETURNING sale_id, amount
),
refunded AS (
    UPDATE sales s SET refunded_amount = least(s.payable, s.refunded_amount + t.amount)
    FROM (SELECT sale_id, sum(amount) AS amount FROM added
          WHERE sale_id IS NOT NULL GROUP BY sale_id) t
    WHERE s.id = t.sale_id
)
SELECT count(*) AS added, count(sale_id) AS linked FROM added
"""


async def _store_id(connection: asyncpg.Connection, now: datetime) -> UUID:
    await connection.execute(
        "INSERT INTO stores (id, code, name, created_at) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT (code) DO NOTHING",
        uuid4(),
        STORE_CODE,
        STORE_NAME,
        now,
    )
    store_id: UUID = await connection.fetchval("SELECT id FROM stores WHERE code = $1", STORE_CODE)
    return store_id


async def _new_members(connection: asyncpg.Connection) -> None:
    customers = [r["customer_id"] for r in await connection.fetch(_NEW_CUSTOMERS, SOURCE)]
    await connection.execute(_NEW_MEMBERS_STAGE)
    random = CryptoRandom()
    await connection.copy_records_to_table(
        "online_retail_new_members",
        records=[(c, uuid4(), generate_card_number(random)) for c in customers],
        columns=["customer_id", "member_id", "card_number"],
    )
    while clashes := [r["customer_id"] for r in await connection.fetch(_CARD_CLASHES)]:
        await connection.executemany(
            "UPDATE online_retail_new_members SET card_number = $2 WHERE customer_id = $1",
            [(c, generate_card_number(random)) for c in clashes],
        )


async def import_online_retail(
    connection: asyncpg.Connection, path: Path, *, now: datetime
) -> ImportReport:
    """Loads one file in one transaction; the programme's currency must be GBP."""
    started = time.perf_counter()
    _check_header(path)
    async with connection.transaction():
        await connection.execute("SELECT pg_advisory_xact_lock($1, $2)", *IMPORT_LOCK)
        # Sorts and hashes of a few hundred thousand rows stay in memory.
        await connection.execute("SET LOCAL work_mem = '256MB'")
        currency = await connection.fetchval("SELECT currency FROM program_settings")
        if currency != CURRENCY:
            raise ImportRefused(
                f"the file's amounts are in {CURRENCY} but the programme's currency is "
                f"{currency}: set it first (PUT /v1/admin/program)"
            )
        await connection.execute(_STAGE)
        with _open(path) as handle:
            await connection.copy_to_table(
                "online_retail_stage",
                source=handle,
                columns=list(STAGE_COLUMNS),
                format="csv",
                header=True,
                encoding="utf-8",
            )
        await connection.execute(_PARSE, FILE_TIME_ZONE)
        await connection.execute("ANALYZE online_retail_rows")
        counts = await connection.fetchrow(_COUNTS)
        store_id = await _store_id(connection, now)
        await _new_members(connection)
        members_added = await connection.fetchval(_ADD_MEMBERS, SOURCE, store_id, now)
        sales_added = await connection.fetchval(_ADD_SALES, SOURCE, store_id, now, CURRENCY)
        refunds = await connection.fetchrow(_ADD_REFUNDS, SOURCE)
    # A bulk load changes the tables' shape at once; the reports' plans need fresh statistics
    # before autovacuum would get round to it.
    await connection.execute("ANALYZE members, member_external_ids, sales, sale_lines, refunds")
    return ImportReport(
        rows_read=counts["rows_read"],
        guest_rows_skipped=counts["guests"],
        other_rows_skipped=counts["other"],
        duplicate_rows=counts["duplicates"],
        sales_in_file=counts["sales"],
        refunds_in_file=counts["refunds"],
        members_added=members_added,
        sales_added=sales_added,
        refunds_added=refunds["added"],
        refunds_linked=refunds["linked"],
        refunds_unlinked=refunds["added"] - refunds["linked"],
        seconds=time.perf_counter() - started,
    )


async def import_online_retail_on(engine: object, path: Path, *, now: datetime) -> ImportReport:
    """The same, on a connection of a Piccolo PostgresEngine's pool."""
    async with engine.pool.acquire() as connection:  # type: ignore[attr-defined]
        return await import_online_retail(connection, path, now=now)
