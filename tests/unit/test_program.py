from __future__ import annotations

import zoneinfo
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

import domain.program as program_module
from domain.errors import InvalidInput
from domain.program import (
    DEFAULT_PROGRAM,
    MAX_EARN_RATE,
    MAX_PENDING_DAYS,
    MAX_POINT_VALUE,
    ExpiryKind,
    PointsExpiryRule,
    ProgramSettings,
    end_of_day,
)


def settings(**changes: Any) -> ProgramSettings:
    fields: dict[str, Any] = {
        "currency": "CNY",
        "time_zone": "Asia/Shanghai",
        "earn_rate": Decimal(1),
        "point_value": Decimal(1),
        "points_expiry": PointsExpiryRule(),
        "pending_days": 14,
    }
    fields.update(changes)
    return ProgramSettings(**fields)


def test_the_default_programme_is_cny_in_shanghai_one_point_per_yuan() -> None:
    assert DEFAULT_PROGRAM.currency == "CNY"
    assert DEFAULT_PROGRAM.time_zone == "Asia/Shanghai"
    assert DEFAULT_PROGRAM.earn_rate == Decimal(1)
    assert DEFAULT_PROGRAM.point_value == Decimal(1)
    assert DEFAULT_PROGRAM.points_expiry == PointsExpiryRule(ExpiryKind.NEVER, None)
    assert DEFAULT_PROGRAM.pending_days == 14
    assert DEFAULT_PROGRAM.version == 1
    assert DEFAULT_PROGRAM.currency_exponent == 2


@pytest.mark.parametrize("zone", ["Europe/Berlin", "UTC", "America/Argentina/Buenos_Aires"])
def test_any_iana_time_zone_is_accepted(zone: str) -> None:
    assert settings(time_zone=zone).time_zone == zone


@pytest.mark.parametrize(
    "zone", ["Mars/Olympus_Mons", "", "asia/shanghai", "+08:00", "../../etc/passwd", "CST8"]
)
def test_a_time_zone_that_is_not_an_iana_name_is_rejected(zone: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        settings(time_zone=zone)
    assert caught.value.field == "time_zone"


def test_an_unknown_currency_is_rejected() -> None:
    with pytest.raises(InvalidInput) as caught:
        settings(currency="XXY")
    assert caught.value.field == "currency"


@pytest.mark.parametrize("rate", [Decimal("-0.01"), Decimal(-1), MAX_EARN_RATE + Decimal("0.1")])
def test_an_earn_rate_outside_zero_to_the_maximum_is_rejected(rate: Decimal) -> None:
    with pytest.raises(InvalidInput) as caught:
        settings(earn_rate=rate)
    assert caught.value.field == "earn_rate"


@pytest.mark.parametrize("rate", [Decimal(0), Decimal("0.01"), MAX_EARN_RATE])
def test_an_earn_rate_from_zero_to_the_maximum_is_accepted(rate: Decimal) -> None:
    assert settings(earn_rate=rate).earn_rate == rate


@pytest.mark.parametrize("value", [Decimal(0), Decimal(-1), MAX_POINT_VALUE + 1])
def test_a_point_value_of_zero_negative_or_above_the_maximum_is_rejected(value: Decimal) -> None:
    with pytest.raises(InvalidInput) as caught:
        settings(point_value=value)
    assert caught.value.field == "point_value"


@pytest.mark.parametrize("value", [Decimal("0.01"), MAX_POINT_VALUE])
def test_a_point_value_above_zero_up_to_the_maximum_is_accepted(value: Decimal) -> None:
    assert settings(point_value=value).point_value == value


@pytest.mark.parametrize("days", [-1, MAX_PENDING_DAYS + 1])
def test_pending_days_outside_zero_to_365_are_rejected(days: int) -> None:
    with pytest.raises(InvalidInput) as caught:
        settings(pending_days=days)
    assert caught.value.field == "pending_days"


@pytest.mark.parametrize("days", [0, 365])
def test_pending_days_at_the_bounds_are_accepted(days: int) -> None:
    assert settings(pending_days=days).pending_days == days


@pytest.mark.parametrize(
    ("kind", "count"),
    [
        *((ExpiryKind.DAYS, c) for c in (None, 0, -5, 3661)),
        *((ExpiryKind.END_OF_MONTH, c) for c in (None, -1, 3661)),
    ],
)
def test_a_counted_expiry_rule_needs_a_count_in_range(kind: ExpiryKind, count: int | None) -> None:
    with pytest.raises(InvalidInput) as caught:
        PointsExpiryRule(kind, count)
    assert caught.value.field == "points_expiry.count"


def test_end_of_month_zero_is_the_end_of_the_month_of_earning() -> None:
    rule = PointsExpiryRule(ExpiryKind.END_OF_MONTH, 0)
    earned = datetime(2026, 2, 10, 12, tzinfo=UTC)
    assert rule.expiry_for(earned, ZoneInfo("UTC")) == datetime(2026, 3, 1, tzinfo=UTC)


@pytest.mark.parametrize("kind", [ExpiryKind.DAYS, ExpiryKind.END_OF_MONTH])
@pytest.mark.parametrize("count", [1, 3660])
def test_a_counted_expiry_rule_accepts_its_bounds(kind: ExpiryKind, count: int) -> None:
    assert PointsExpiryRule(kind, count).count == count


@pytest.mark.parametrize("kind", [ExpiryKind.NEVER, ExpiryKind.END_OF_YEAR])
def test_an_uncounted_expiry_rule_takes_no_count(kind: ExpiryKind) -> None:
    assert PointsExpiryRule(kind).count is None
    with pytest.raises(InvalidInput) as caught:
        PointsExpiryRule(kind, 12)
    assert caught.value.field == "points_expiry.count"


def test_250_yuan_at_one_point_per_yuan_earns_250_points() -> None:
    assert DEFAULT_PROGRAM.points_for(25000, Decimal(1)) == 250


def test_earning_floors_the_fraction_of_a_point() -> None:
    assert DEFAULT_PROGRAM.points_for(25099, Decimal(1)) == 250
    assert DEFAULT_PROGRAM.points_for(99, Decimal(1)) == 0


def test_a_one_and_a_half_multiplier_floors_after_multiplying() -> None:
    # 33.33 * 1.5 = 49.995 -> 49; flooring the yuan first would give 33 * 1.5 = 49.5 -> 49 as
    # well, so also check a case where the order matters: 0.67 * 1.5 = 1.005 -> 1.
    assert DEFAULT_PROGRAM.points_for(3333, Decimal("1.5")) == 49
    assert DEFAULT_PROGRAM.points_for(67, Decimal("1.5")) == 1
    assert DEFAULT_PROGRAM.points_for(25000, Decimal("1.5")) == 375
    assert DEFAULT_PROGRAM.points_for(25001, Decimal("1.5")) == 375


def test_a_fractional_earn_rate_multiplies_exactly_without_float_error() -> None:
    program = settings(earn_rate=Decimal("0.1"))
    # 0.1 * 3 in floats is 0.30000000000000004; in Decimals 3.0 exactly.
    assert program.points_for(3000, Decimal(1)) == 3
    assert program.points_for(2999, Decimal(1)) == 2


def test_yen_have_no_minor_unit_so_one_yen_is_one_unit() -> None:
    yen = settings(currency="JPY", time_zone="Asia/Tokyo")
    assert yen.currency_exponent == 0
    assert yen.points_for(250, Decimal(1)) == 250
    assert yen.points_for(250, Decimal("1.5")) == 375


def test_dinar_have_three_decimals() -> None:
    dinar = settings(currency="KWD", time_zone="Asia/Kuwait")
    assert dinar.currency_exponent == 3
    assert dinar.points_for(25_000, Decimal(1)) == 25
    assert dinar.points_for(999, Decimal(1)) == 0


@pytest.mark.parametrize("payable", [0, -1, -25000])
def test_nothing_payable_earns_nothing(payable: int) -> None:
    assert DEFAULT_PROGRAM.points_for(payable, Decimal(2)) == 0


def test_a_zero_earn_rate_earns_nothing() -> None:
    assert settings(earn_rate=Decimal(0)).points_for(10**12, Decimal(10)) == 0


def test_revising_the_programme_bumps_the_version_of_the_current_one() -> None:
    current = replace(DEFAULT_PROGRAM, version=4)
    proposed = settings(currency="JPY", version=99)
    revised = current.revised(proposed)
    assert revised.version == 5
    assert revised.currency == "JPY"
    assert current.version == 4


@pytest.mark.parametrize("field", ["earn_rate", "point_value"])
def test_a_rate_that_is_not_a_number_is_invalid_input(field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        settings(**{field: Decimal("NaN")})
    assert caught.value.field == field


def test_validating_settings_does_not_rescan_the_time_zone_database(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = 0
    scan = zoneinfo.available_timezones

    def counting_scan() -> set[str]:
        nonlocal calls
        calls += 1
        return scan()

    monkeypatch.setattr(program_module, "available_timezones", counting_scan)
    for days in range(20):
        settings(pending_days=days)
    assert calls <= 1


# Points expiry: at the end of a day in the programme's time zone -----------------------------

SHANGHAI = ZoneInfo("Asia/Shanghai")
LONDON = ZoneInfo("Europe/London")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[arg-type,misc]


def test_points_under_the_never_rule_never_expire() -> None:
    assert PointsExpiryRule().expiry_for(utc(2025, 3, 1, 9, 30), SHANGHAI) is None
    assert settings().expiry_for(utc(2025, 3, 1, 9, 30)) is None


def test_points_under_the_days_rule_expire_at_the_end_of_the_nth_local_day_after() -> None:
    rule = PointsExpiryRule(ExpiryKind.DAYS, 7)
    # Earned on 1 March in Shanghai: they can be spent all of 8 March, until midnight there.
    assert rule.expiry_for(utc(2025, 3, 1, 9, 30), SHANGHAI) == utc(2025, 3, 8, 16, 0)
    assert PointsExpiryRule(ExpiryKind.DAYS, 1).expiry_for(utc(2025, 2, 28, 3, 0), SHANGHAI) == utc(
        2025, 3, 1, 16, 0
    )


def test_the_end_of_a_day_is_the_next_local_midnight() -> None:
    end = end_of_day(date(2025, 3, 8), SHANGHAI)
    assert end == utc(2025, 3, 8, 16, 0)
    assert end.astimezone(SHANGHAI).time() == time(0, 0)
    assert end.astimezone(SHANGHAI).date() == date(2025, 3, 9)


def test_the_day_the_clocks_go_forward_in_london_ends_after_23_hours() -> None:
    rule = PointsExpiryRule(ExpiryKind.DAYS, 1)
    # 30 March 2025: BST starts at 01:00 GMT, so that day ends at 23:00 UTC.
    saturday_end = rule.expiry_for(utc(2025, 3, 28, 12, 0), LONDON)
    sunday_end = rule.expiry_for(utc(2025, 3, 29, 12, 0), LONDON)
    assert saturday_end == utc(2025, 3, 30, 0, 0)
    assert sunday_end == utc(2025, 3, 30, 23, 0)
    # (Python subtracts two datetimes in one zone by wall clock: compare instants in UTC.)
    assert sunday_end.astimezone(UTC) - saturday_end.astimezone(UTC) == timedelta(hours=23)
    assert sunday_end.astimezone(LONDON).replace(tzinfo=None) == datetime(2025, 3, 31)


def test_the_day_the_clocks_go_back_in_london_ends_after_25_hours() -> None:
    rule = PointsExpiryRule(ExpiryKind.DAYS, 1)
    # 26 October 2025: BST ends at 01:00 UTC; the day runs from 23:00 UTC to 00:00 UTC.
    saturday_end = rule.expiry_for(utc(2025, 10, 24, 12, 0), LONDON)
    sunday_end = rule.expiry_for(utc(2025, 10, 25, 12, 0), LONDON)
    assert saturday_end == utc(2025, 10, 25, 23, 0)
    assert sunday_end == utc(2025, 10, 27, 0, 0)
    assert sunday_end.astimezone(UTC) - saturday_end.astimezone(UTC) == timedelta(hours=25)


def test_a_late_evening_in_london_summer_is_already_the_next_local_day() -> None:
    rule = PointsExpiryRule(ExpiryKind.END_OF_MONTH, 1)
    # 23:30 UTC on 30 June is 00:30 BST on 1 July: one month after July is the end of August.
    assert rule.expiry_for(utc(2025, 6, 30, 23, 30), LONDON) == utc(2025, 8, 31, 23, 0)
    assert rule.expiry_for(utc(2025, 6, 30, 22, 30), LONDON) == utc(2025, 7, 31, 23, 0)


def test_end_of_month_rule_expires_at_the_end_of_the_month_n_months_after_earning() -> None:
    one = PointsExpiryRule(ExpiryKind.END_OF_MONTH, 1)
    three = PointsExpiryRule(ExpiryKind.END_OF_MONTH, 3)
    assert one.expiry_for(utc(2025, 3, 15, 4, 0), SHANGHAI) == utc(2025, 4, 30, 16, 0)
    # Earned on the 31st of a month: one month later is February, 28 days long in 2025.
    assert one.expiry_for(utc(2025, 1, 31, 2, 0), SHANGHAI) == utc(2025, 2, 28, 16, 0)
    assert one.expiry_for(utc(2024, 1, 31, 2, 0), SHANGHAI) == utc(2024, 2, 29, 16, 0)
    # Across a year end.
    assert three.expiry_for(utc(2025, 11, 10, 4, 0), SHANGHAI) == utc(2026, 2, 28, 16, 0)
    assert PointsExpiryRule(ExpiryKind.END_OF_MONTH, 12).expiry_for(
        utc(2025, 12, 1, 4, 0), SHANGHAI
    ) == utc(2026, 12, 31, 16, 0)


def test_end_of_year_rule_expires_at_the_end_of_the_year_after_earning() -> None:
    rule = PointsExpiryRule(ExpiryKind.END_OF_YEAR)
    assert rule.expiry_for(utc(2025, 3, 1, 9, 30), SHANGHAI) == utc(2026, 12, 31, 16, 0)
    assert rule.expiry_for(utc(2025, 1, 1, 0, 0), LONDON) == utc(2027, 1, 1, 0, 0)


def test_late_evening_utc_that_is_already_the_next_day_in_shanghai_counts_from_that_day() -> None:
    # 17:00 UTC on 31 January is 01:00 on 1 February in Shanghai.
    earned = utc(2025, 1, 31, 17, 0)
    assert PointsExpiryRule(ExpiryKind.DAYS, 1).expiry_for(earned, SHANGHAI) == utc(
        2025, 2, 2, 16, 0
    )
    assert PointsExpiryRule(ExpiryKind.END_OF_MONTH, 1).expiry_for(earned, SHANGHAI) == utc(
        2025, 3, 31, 16, 0
    )
    # In UTC itself the same instant is still January.
    assert PointsExpiryRule(ExpiryKind.END_OF_MONTH, 1).expiry_for(earned, ZoneInfo("UTC")) == utc(
        2025, 3, 1, 0, 0
    )
    # And on New Year's Eve it is already next year, so the expiry is a year later.
    assert PointsExpiryRule(ExpiryKind.END_OF_YEAR).expiry_for(
        utc(2025, 12, 31, 16, 30), SHANGHAI
    ) == utc(2027, 12, 31, 16, 0)


def test_the_programme_computes_expiries_in_its_own_time_zone() -> None:
    london = settings(time_zone="Europe/London", points_expiry=PointsExpiryRule(ExpiryKind.DAYS, 1))
    shanghai = settings(points_expiry=PointsExpiryRule(ExpiryKind.DAYS, 1))
    earned = utc(2025, 3, 29, 20, 0)  # 20:00 GMT on the 29th, 04:00 on the 30th in Shanghai
    assert london.expiry_for(earned) == utc(2025, 3, 30, 23, 0)
    assert shanghai.expiry_for(earned) == utc(2025, 3, 31, 16, 0)


def test_online_points_are_pending_until_the_end_of_the_last_local_day_of_the_window() -> None:
    assert settings(pending_days=14).pending_until(utc(2025, 3, 1, 9, 30)) == utc(
        2025, 3, 15, 16, 0
    )
    # 20:00 UTC is already the next day in Shanghai.
    assert settings(pending_days=1).pending_until(utc(2025, 3, 1, 20, 0)) == utc(2025, 3, 3, 16, 0)


def test_with_no_pending_days_online_points_are_never_pending() -> None:
    assert settings(pending_days=0).pending_until(utc(2025, 3, 1, 9, 30)) is None


@pytest.mark.parametrize(
    ("point_value", "points", "worth"),
    [
        (Decimal(1), 300, 300),
        (Decimal("0.5"), 3, 1),
        (Decimal("0.5"), 1, 0),
        (Decimal("0.5"), 4, 2),
        (Decimal("0.01"), 199, 1),
        (Decimal("2.5"), 3, 7),
        (Decimal(1), 0, 0),
    ],
)
def test_the_value_of_points_in_minor_units_is_floored(
    point_value: Decimal, points: int, worth: int
) -> None:
    assert settings(point_value=point_value).value_of(points) == worth
