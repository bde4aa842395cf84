"""The times the service accepts, and the times it can still compute with once stored.

Accepted: what a caller may send. Every instant lies in [2000-01-01, 2100-01-01) UTC, so
nothing reaches PostgreSQL's ``-infinity``/``infinity`` (asyncpg writes Python's
``datetime.min``/``max`` as those) and no time zone or offset arithmetic can leave the range
Python represents (0001-01-01T00:00:00+14:00 is year 0 in UTC). Calendar days (birthdays,
report days) lie in [1900-01-01, 2100-12-31]: birthdays go back further than any purchase.
Rules of their own narrow these further (sale dating in :mod:`domain.sales`, report days in
:mod:`domain.reporting`).

Stored: what a stored time is read as. Rows written by older versions or by hand may hold
anything PostgreSQL can (year 1, year 294276, +-infinity); they are read clamped into
1900-01-01..9000-01-01 (adapters/persistence/stored_times.py, and the reports' SQL) so that
no later arithmetic (an expiry 3,660 months on, a local day in any zone) overflows. Points
may legitimately expire after 2100, so this range is wider than the accepted one.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from domain.errors import InvalidInput

EARLIEST_INSTANT = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_INSTANT = datetime(2100, 1, 1, tzinfo=UTC)  # exclusive
EARLIEST_DAY = date(1900, 1, 1)
LATEST_DAY = date(2100, 12, 31)

STORED_FLOOR = datetime(1900, 1, 1, tzinfo=UTC)
STORED_CEILING = datetime(9000, 1, 1, tzinfo=UTC)
STORED_FLOOR_DAY = STORED_FLOOR.date()
STORED_CEILING_DAY = STORED_CEILING.date()


def instant_accepted(value: datetime) -> bool:
    return value.tzinfo is not None and EARLIEST_INSTANT <= value < LATEST_INSTANT


def require_instant(value: datetime, field: str) -> datetime:
    """``value`` if it is an instant the service accepts; 422 naming ``field`` otherwise."""
    if value.tzinfo is None:
        raise InvalidInput(f"{field} needs a UTC offset", field=field)
    if not instant_accepted(value):
        raise InvalidInput(
            f"{field} must be from {EARLIEST_INSTANT:%Y-%m-%d} and before "
            f"{LATEST_INSTANT:%Y-%m-%d} (UTC)",
            field=field,
        )
    return value


def require_day(value: date, field: str) -> date:
    """``value`` if it is a calendar day the service accepts; 422 naming ``field`` otherwise."""
    if not EARLIEST_DAY <= value <= LATEST_DAY:
        raise InvalidInput(f"{field} must be between {EARLIEST_DAY} and {LATEST_DAY}", field=field)
    return value
