"""Reading stored times safely, whatever an older version or a hand edit left in a row.

asyncpg reads PostgreSQL's ``-infinity``/``infinity`` as *naive* ``datetime.min``/``max``
(comparing one with an aware time is a TypeError) and writes an aware year-1 time as
``-infinity``; a finite year-1 time overflows as soon as anything adds a day or changes its
zone. These codecs, installed on every connection the service opens, read every
``timestamptz`` and ``date`` as an aware, finite value within domain.time_range's computable
range (clamped to it, and each clamp logged), and write times exactly as they are, never as an
infinity. The API never accepts such times any more (domain.time_range); this is for rows
already stored. They run in Python: about half a microsecond more per value than asyncpg's
own codecs (measured on 200,000 rows), a few microseconds for a sale.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import structlog

from domain.time_range import (
    STORED_CEILING,
    STORED_CEILING_DAY,
    STORED_FLOOR,
    STORED_FLOOR_DAY,
)

log = structlog.get_logger("loyalty.database")

_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)  # PostgreSQL's epoch for its binary formats
_EPOCH_DAY = _EPOCH.date().toordinal()
_MICROSECOND = timedelta(microseconds=1)
# What the binary formats hold for -infinity and infinity.
_TIME_INFINITIES = {-(2**63): "-infinity", 2**63 - 1: "infinity"}
_DAY_INFINITIES = {-(2**31): "-infinity", 2**31 - 1: "infinity"}
# The computable range in the binary formats' units: a value inside is read as it is.
_FLOOR = (STORED_FLOOR - _EPOCH) // _MICROSECOND
_CEILING = (STORED_CEILING - _EPOCH) // _MICROSECOND
_FLOOR_DAY = STORED_FLOOR_DAY.toordinal() - _EPOCH_DAY
_CEILING_DAY = STORED_CEILING_DAY.toordinal() - _EPOCH_DAY


def decode_instant(raw: tuple[int]) -> datetime:
    (microseconds,) = raw
    if _FLOOR <= microseconds <= _CEILING:
        return _EPOCH + timedelta(microseconds=microseconds)
    read = _EPOCH + timedelta(microseconds=_FLOOR if microseconds < _FLOOR else _CEILING)
    log.warning(
        "database.time_clamped",
        stored=_TIME_INFINITIES.get(microseconds) or _stored_instant(microseconds),
        read_as=read.isoformat(),
    )
    return read


def _stored_instant(microseconds: int) -> str:
    try:
        return (_EPOCH + timedelta(microseconds=microseconds)).isoformat()
    except OverflowError:  # beyond Python's years 1-9999
        return f"{microseconds} microseconds from 2000-01-01"


def encode_instant(value: datetime | date) -> tuple[int]:
    if not isinstance(value, datetime):
        # As asyncpg does: a date is its local midnight.
        value = datetime(value.year, value.month, value.day).astimezone()
    # A naive time is local time, as asyncpg reads it.
    return ((value.astimezone(UTC) - _EPOCH) // _MICROSECOND,)


def decode_day(raw: tuple[int]) -> date:
    (days,) = raw
    if _FLOOR_DAY <= days <= _CEILING_DAY:
        return date.fromordinal(days + _EPOCH_DAY)
    read = date.fromordinal((_FLOOR_DAY if days < _FLOOR_DAY else _CEILING_DAY) + _EPOCH_DAY)
    log.warning(
        "database.day_clamped",
        stored=_DAY_INFINITIES.get(days) or f"{days} days from 2000-01-01",
        read_as=read.isoformat(),
    )
    return read


def encode_day(value: date) -> tuple[int]:
    return (value.toordinal() - _EPOCH_DAY,)


async def install_codecs(connection: asyncpg.Connection[Any]) -> None:
    await connection.set_type_codec(
        "timestamptz",
        schema="pg_catalog",
        encoder=encode_instant,
        decoder=decode_instant,
        format="tuple",
    )
    await connection.set_type_codec(
        "date", schema="pg_catalog", encoder=encode_day, decoder=decode_day, format="tuple"
    )
