"""The accepted range of times, how far a sale may be dated, and which days a report takes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from app.settings import Settings, SettingsError
from domain.errors import InvalidInput
from domain.reporting import optional_period, period, require_report_day
from domain.sale_dating import SaleDating
from domain.time_range import require_day, require_instant

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
TODAY = NOW.date()


@pytest.mark.parametrize(
    "value",
    [
        datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(2100, 1, 1, tzinfo=UTC),
        datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14))),
        datetime(9999, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=-14))),
        datetime(2026, 1, 1),  # naive
    ],
)
def test_an_instant_outside_2000_to_2100_or_without_an_offset_is_refused(
    value: datetime,
) -> None:
    with pytest.raises(InvalidInput) as refused:
        require_instant(value, "starts_at")
    assert refused.value.field == "starts_at"


def test_the_edges_of_the_range_are_accepted_whatever_the_offset() -> None:
    first = datetime(2000, 1, 1, 9, 0, tzinfo=timezone(timedelta(hours=9)))  # 00:00 UTC
    last = datetime(2099, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
    assert require_instant(first, "t") is first
    assert require_instant(last, "t") is last
    assert require_day(date(1900, 1, 1), "birthday") == date(1900, 1, 1)
    with pytest.raises(InvalidInput):
        require_day(date(1899, 12, 31), "birthday")


@pytest.mark.parametrize(
    ("offset", "accepted"),
    [
        (timedelta(days=-90), True),
        (timedelta(days=-90, seconds=-1), False),
        (timedelta(minutes=5), True),
        (timedelta(minutes=5, seconds=1), False),
    ],
)
def test_a_sale_may_be_dated_90_days_back_and_5_minutes_ahead_by_default(
    offset: timedelta, accepted: bool
) -> None:
    when = NOW + offset
    if accepted:
        assert SaleDating().check(when, NOW, field="occurred_at") == when
    else:
        with pytest.raises(InvalidInput) as refused:
            SaleDating().check(when, NOW, field="data.paid_at")
        assert refused.value.field == "data.paid_at"


def test_a_raised_back_dating_limit_still_ends_at_2000() -> None:
    history = SaleDating.of_days(36_600)
    assert history.check(datetime(2010, 12, 1, 8, 26, tzinfo=UTC), NOW, field="occurred_at")
    with pytest.raises(InvalidInput):
        history.check(datetime(1999, 12, 31, tzinfo=UTC), NOW, field="occurred_at")


def test_report_days_run_from_2000_to_the_end_of_the_fifth_year_ahead() -> None:
    assert require_report_day(date(2000, 1, 1), TODAY, "as_of")
    assert require_report_day(date(2031, 12, 31), TODAY, "as_of")
    for day in (date(1999, 12, 31), date(2032, 1, 1), date(1, 1, 1), date(9999, 12, 31)):
        with pytest.raises(InvalidInput) as refused:
            require_report_day(day, TODAY, "to")
        assert refused.value.field == "to"


def test_a_period_fills_its_defaults_and_refuses_a_reversed_or_out_of_range_bound() -> None:
    assert period(None, None, TODAY) == (date(2026, 11, 1), date(2026, 12, 1))
    assert period(None, date(2000, 1, 1), TODAY) == (date(1999, 12, 1), date(2000, 1, 1))
    assert period(date(2031, 12, 31), None, TODAY) == (date(2031, 12, 31), date(2032, 1, 1))
    for start, end, field in [
        (date(2026, 2, 1), date(2026, 1, 1), "from"),
        (date(1, 1, 1), None, "from"),
        (None, date(9999, 12, 31), "to"),
    ]:
        with pytest.raises(InvalidInput) as refused:
            period(start, end, TODAY)
        assert refused.value.field == field
    optional_period(None, None, TODAY)
    with pytest.raises(InvalidInput):
        optional_period(date(1999, 1, 1), None, TODAY)


def test_the_back_dating_limit_is_read_from_the_environment_and_bounded() -> None:
    assert Settings.from_env({}).max_backdate_days == 90
    assert Settings.from_env({"LOYALTY_MAX_BACKDATE_DAYS": "6000"}).max_backdate_days == 6000
    for bad in ("-1", "40000", "ninety"):
        with pytest.raises(SettingsError, match="LOYALTY_MAX_BACKDATE_DAYS"):
            Settings.from_env({"LOYALTY_MAX_BACKDATE_DAYS": bad})
