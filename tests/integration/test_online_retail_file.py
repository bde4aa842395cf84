"""Reading the Online Retail files for the replay: both layouts, prices, times, rows it skips."""

from __future__ import annotations

import gzip
from datetime import timedelta
from pathlib import Path

import phonenumbers
import pytest

from adapters.replay.online_retail import FileStats, group_invoices, pence, phone_for, read_rows

FIRST = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
SECOND = "Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country\n"


def write(tmp_path: Path, header: str, rows: list[str]) -> Path:
    path = tmp_path / "retail.csv.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write(header + "".join(row + "\n" for row in rows))
    return path


@pytest.mark.parametrize(
    ("price", "minor"),
    [("2.55", 255), ("0.001", 0), ("0.005", 1), ("0.015", 2), ("1.125", 113), ("0", 0)],
)
def test_unit_prices_round_half_up_to_pence(price: str, minor: int) -> None:
    assert pence(price) == minor


@pytest.mark.parametrize("header", [FIRST, SECOND])
def test_both_layouts_read_alike_with_london_time(tmp_path: Path, header: str) -> None:
    rows = [
        "536365,85123A,HEART,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom",
        "550000,22960,JAM,2,2011-06-01 10:00:00,4.25,,United Kingdom",
    ]
    winter, summer = read_rows(write(tmp_path, header, rows))
    assert winter.customer_id == "17850"
    assert winter.unit_price == 255
    assert winter.at.utcoffset() == timedelta(0)
    assert summer.customer_id is None
    assert summer.at.utcoffset() == timedelta(hours=1)  # British Summer Time


def test_rows_that_are_neither_sale_nor_cancellation_are_counted_not_sold(
    tmp_path: Path,
) -> None:
    rows = [
        "536365,85123A,HEART,6,2010-12-01 08:26:00,2.55,17850,United Kingdom",
        "536365,85123A,HEART,6,2010-12-01 08:26:00,2.55,17850,United Kingdom",  # duplicate
        "536366,22633,WARMER,-3,2010-12-01 08:28:00,0,,United Kingdom",  # stock write-off
        "A563185,B,Adjust bad debt,1,2011-08-12 14:50:00,-11062.06,,United Kingdom",
        "C536379,D,Discount,-1,2010-12-01 09:41:00,27.5,14527,United Kingdom",
    ]
    stats = FileStats()
    invoices = group_invoices(read_rows(write(tmp_path, FIRST, rows)), stats)

    assert [i.number for i in invoices] == ["536365", "C536379"]
    assert invoices[0].lines == [("85123A", 6, 255), ("85123A", 6, 255)]
    assert invoices[1].is_cancellation
    assert invoices[1].lines == [("D", 1, 2750)]
    assert stats.rows == 5
    assert stats.duplicate_rows == 1
    assert stats.skipped_rows == {
        "negative price": 1,
        "non-positive quantity outside a cancellation": 1,
    }
    assert (stats.invoices, stats.cancellations, stats.customers) == (2, 1, 2)


def test_a_limit_reads_only_the_first_rows(tmp_path: Path) -> None:
    rows = [f"5{n:05d},X,X,1,2010-12-01 08:26:00,1.00,12346,UK" for n in range(10)]
    assert len(list(read_rows(write(tmp_path, FIRST, rows), limit=4))) == 4


@pytest.mark.parametrize("customer_id", ["12346", "18287", "99999"])
def test_each_customer_gets_a_valid_uk_mobile_number_of_their_own(customer_id: str) -> None:
    number = phonenumbers.parse(phone_for(customer_id))
    assert phonenumbers.is_valid_number(number)
    assert phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.MOBILE
    assert phone_for(customer_id) != phone_for(str(int(customer_id) + 1))
