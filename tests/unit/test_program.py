from __future__ import annotations

import zoneinfo
from dataclasses import replace
from decimal import Decimal
from typing import Any

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


@pytest.mark.parametrize("kind", [ExpiryKind.DAYS, ExpiryKind.END_OF_MONTH])
@pytest.mark.parametrize("count", [None, 0, -5, 3661])
def test_a_counted_expiry_rule_needs_a_count_from_1_to_3660(
    kind: ExpiryKind, count: int | None
) -> None:
    with pytest.raises(InvalidInput) as caught:
        PointsExpiryRule(kind, count)
    assert caught.value.field == "points_expiry.count"


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
