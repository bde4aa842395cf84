"""The service's connections read any stored time as an aware, finite, computable value.

asyncpg's own codecs read -infinity as a naive datetime.min (a TypeError against any aware
time) and write an aware year-1 time as -infinity; these pin the codecs that replace them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import asyncpg
import pytest

from adapters.persistence import stored_times
from adapters.persistence.engine import LoyaltyEngine, clean_connection
from tests.support.logs import Recorder

pytestmark = pytest.mark.db

FLOOR = datetime(1900, 1, 1, tzinfo=UTC)
CEILING = datetime(9000, 1, 1, tzinfo=UTC)


@pytest.fixture
def logs(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    recorder = Recorder()
    monkeypatch.setattr(stored_times, "log", recorder)
    return recorder


@pytest.fixture
async def connection(engine: LoyaltyEngine) -> AsyncIterator[asyncpg.Connection[Any]]:
    async with clean_connection(engine) as connection:
        yield connection


@pytest.mark.parametrize(
    ("stored", "read"),
    [
        ("-infinity", FLOOR),
        ("infinity", CEILING),
        ("0001-01-01 00:00:00+00", FLOOR),
        ("4713-01-01 00:00:00+00 BC", FLOOR),
        ("1899-12-31 23:59:59+00", FLOOR),
        ("9500-06-01 00:00:00+00", CEILING),
        ("294276-01-01 00:00:00+00", CEILING),
    ],
)
async def test_a_time_outside_the_computable_range_reads_clamped_and_is_logged(
    connection: asyncpg.Connection[Any], logs: Recorder, stored: str, read: datetime
) -> None:
    value = await connection.fetchval(f"SELECT '{stored}'::timestamptz")

    assert value == read
    assert value.tzinfo is not None
    assert logs.events() == ["database.time_clamped"]
    assert logs.lines[0]["level"] == "warning"
    assert logs.lines[0]["read_as"] == read.isoformat()
    value + timedelta(days=3660)


@pytest.mark.parametrize(
    ("stored", "read"),
    [
        ("-infinity", date(1900, 1, 1)),
        ("infinity", date(9000, 1, 1)),
        ("0001-01-01", date(1900, 1, 1)),
    ],
)
async def test_a_day_outside_the_computable_range_reads_clamped(
    connection: asyncpg.Connection[Any], logs: Recorder, stored: str, read: date
) -> None:
    assert await connection.fetchval(f"SELECT '{stored}'::date") == read
    assert logs.events() == ["database.day_clamped"]


async def test_times_and_days_in_range_round_trip_exactly_and_quietly(
    connection: asyncpg.Connection[Any], logs: Recorder
) -> None:
    moments = [
        datetime(2026, 11, 23, 10, 0, 0, 123456, tzinfo=UTC),
        datetime(1990, 2, 28, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-9))),
        datetime(2331, 12, 31, 16, 0, tzinfo=UTC),  # an expiry 3,660 months ahead
    ]
    for moment in moments:
        assert await connection.fetchval("SELECT $1::timestamptz", moment) == moment
    assert await connection.fetchval("SELECT $1::timestamptz[]", moments) == moments
    assert await connection.fetchval("SELECT $1::date", date(1953, 7, 4)) == date(1953, 7, 4)
    text = await connection.fetchval("SELECT $1::timestamptz::text", moments[0])
    assert text == "2026-11-23 10:00:00.123456+00"
    assert logs.lines == []


async def test_a_year_one_time_is_written_as_itself_never_as_minus_infinity(
    connection: asyncpg.Connection[Any],
) -> None:
    stored = await connection.fetchval(
        "SELECT $1::timestamptz::text", datetime(1, 1, 1, tzinfo=UTC)
    )

    assert stored == "0001-01-01 00:00:00+00"


async def test_a_naive_time_is_written_as_asyncpg_writes_it(
    connection: asyncpg.Connection[Any], clean_db: str
) -> None:
    naive = datetime(2026, 5, 1, 12, 30)
    plain = await asyncpg.connect(clean_db)
    try:
        expected = await plain.fetchval("SELECT $1::timestamptz::text", naive)
    finally:
        await plain.close()

    assert await connection.fetchval("SELECT $1::timestamptz::text", naive) == expected
