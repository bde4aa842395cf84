"""The days a report may be asked about: its period, or the day it is taken on.

A report is about the programme's history and near future: no day before 2000 (no sale can
be dated then, see domain.time_range) and none more than five years after today (an
as_of in the future only projects who would be dormant by then). Days are calendar days
in the programme's time zone; a period is [from, to).
"""

from __future__ import annotations

from datetime import date, timedelta

from domain.errors import InvalidInput
from domain.time_range import EARLIEST_INSTANT

EARLIEST_REPORT_DAY = EARLIEST_INSTANT.date()
YEARS_AHEAD = 5


def latest_report_day(today: date) -> date:
    return date(today.year + YEARS_AHEAD, 12, 31)


def require_report_day(day: date, today: date, field: str) -> date:
    """``day`` if a report may be taken on it; 422 naming ``field`` otherwise."""
    latest = latest_report_day(today)
    if not EARLIEST_REPORT_DAY <= day <= latest:
        raise InvalidInput(
            f"{field} must be between {EARLIEST_REPORT_DAY} and {latest}", field=field
        )
    return day


def _first_of_next_month(day: date) -> date:
    return date(day.year + 1, 1, 1) if day.month == 12 else date(day.year, day.month + 1, 1)


def period(start: date | None, end: date | None, today: date) -> tuple[date, date]:
    """[start, end) with the defaults filled in: the current month when neither is given,
    the month of the one given otherwise. Each bound is a report day."""
    if start is not None:
        require_report_day(start, today, "from")
    if end is not None:
        require_report_day(end, today, "to")
    if start is None and end is None:
        start = today.replace(day=1)
    if start is None:
        assert end is not None
        start = (end - timedelta(days=1)).replace(day=1)
    if end is None:
        end = _first_of_next_month(start)
    if start >= end:
        raise InvalidInput("`from` must be before `to`", field="from")
    return start, end


def optional_period(start: date | None, end: date | None, today: date) -> None:
    """An open period (either bound may be missing: all time on that side)."""
    if start is not None:
        require_report_day(start, today, "from")
    if end is not None:
        require_report_day(end, today, "to")
    if start is not None and end is not None and start >= end:
        raise InvalidInput("`from` must be before `to`", field="from")
