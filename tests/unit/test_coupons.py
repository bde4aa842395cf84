from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import pytest

from domain.coupons import (
    Coupon,
    CouponKind,
    CouponStatus,
    CouponTerms,
    Presented,
    Rejection,
    Validity,
    apply_coupons,
)
from domain.errors import InvalidInput
from domain.sales import SaleLine

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
MEMBER = UUID("00000000-0000-0000-0000-0000000000aa")
LINES = (SaleLine("SHEET", 2, 10_000, "bedding"), SaleLine("MUG", 1, 5_000, "kitchen"))


def coupon(
    kind: CouponKind = CouponKind.FIXED,
    value: int = 1_000,
    *,
    min_spend: int = 0,
    stackable: bool = False,
    categories: frozenset[str] = frozenset(),
    channels: frozenset[str] = frozenset({"pos", "web"}),
    status: CouponStatus = CouponStatus.AVAILABLE,
    valid_from: datetime = NOW - timedelta(days=1),
    expires_at: datetime = NOW + timedelta(days=1),
) -> Coupon:
    return Coupon(
        id=uuid4(),
        code="X",
        member_id=MEMBER,
        template_id=uuid4(),
        template_version=1,
        title="t",
        terms=CouponTerms(kind, value, min_spend, channels, stackable, categories),
        valid_from=valid_from,
        expires_at=expires_at,
        issued_at=valid_from,
        status=status,
    )


def apply(*coupons: Coupon, lines: tuple[SaleLine, ...] = LINES, channel: str = "pos"):  # type: ignore[no-untyped-def]
    presented = [Presented(f"C{i}", c) for i, c in enumerate(coupons)]
    return apply_coupons(lines, presented, now=NOW, channel=channel)


def test_a_fixed_coupon_takes_its_value() -> None:
    result = apply(coupon(value=3_000))
    assert result.total == 3_000
    assert result.rejected == ()


def test_a_percent_coupon_rounds_down_to_the_minor_unit() -> None:
    lines = (SaleLine("A", 1, 999),)
    result = apply(coupon(CouponKind.PERCENT, 15), lines=lines)
    assert result.total == 149  # 149.85 rounded down


def test_a_discount_never_exceeds_the_amount() -> None:
    lines = (SaleLine("A", 1, 500),)
    assert apply(coupon(value=5_000), lines=lines).total == 500


def test_min_spend_is_measured_on_the_eligible_lines_only() -> None:
    kitchen_only = frozenset({"kitchen"})
    short = apply(coupon(value=100, min_spend=6_000, categories=kitchen_only))
    assert short.rejected == (("C0", Rejection.MIN_SPEND_NOT_MET),)
    enough = apply(coupon(value=100, min_spend=5_000, categories=kitchen_only))
    assert enough.total == 100


def test_a_category_coupon_never_takes_more_than_its_lines_are_worth() -> None:
    result = apply(coupon(CouponKind.FIXED, 9_000, categories=frozenset({"kitchen"})))
    assert result.total == 5_000


def test_a_percent_category_coupon_applies_to_its_lines() -> None:
    result = apply(coupon(CouponKind.PERCENT, 10, categories=frozenset({"bedding"})))
    assert result.total == 2_000


def test_a_coupon_for_categories_not_in_the_basket_is_refused() -> None:
    result = apply(coupon(categories=frozenset({"garden"})))
    assert result.rejected == (("C0", Rejection.NO_ELIGIBLE_LINES),)


def test_only_one_coupon_that_is_not_stackable_applies() -> None:
    first, second = coupon(value=1_000), coupon(value=2_000)
    result = apply(first, second)
    assert result.coupons == (first,)
    assert result.rejected == (("C1", Rejection.NOT_STACKABLE),)


def test_stackable_coupons_go_with_one_that_is_not() -> None:
    result = apply(
        coupon(value=1_000), coupon(value=500, stackable=True), coupon(value=200, stackable=True)
    )
    assert result.total == 1_700


def test_stacked_coupons_stop_at_what_is_left_to_pay() -> None:
    lines = (SaleLine("A", 1, 1_000),)
    result = apply(
        coupon(value=800),
        coupon(value=800, stackable=True),
        coupon(value=1, stackable=True),
        lines=lines,
    )
    assert [amount for _, amount in result.applied] == [800, 200]
    assert result.rejected == (("C2", Rejection.NOTHING_LEFT_TO_PAY),)


def test_the_same_coupon_twice_counts_once() -> None:
    c = coupon(stackable=True)
    result = apply_coupons(LINES, [Presented("a", c), Presented("b", c)], now=NOW, channel="pos")
    assert result.rejected == (("b", Rejection.DUPLICATE),)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"expires_at": NOW}, Rejection.EXPIRED),
        ({"valid_from": NOW + timedelta(seconds=1)}, Rejection.NOT_YET_VALID),
        ({"status": CouponStatus.REDEEMED}, Rejection.REDEEMED),
        ({"status": CouponStatus.VOIDED}, Rejection.VOIDED),
        ({"channels": frozenset({"web"})}, Rejection.WRONG_CHANNEL),
    ],
)
def test_a_members_own_coupon_is_refused_with_the_precise_reason(
    changes: dict[str, object], reason: Rejection
) -> None:
    result = apply(coupon(**changes))  # type: ignore[arg-type]
    assert result.rejected == (("C0", reason),)


def test_codes_that_are_not_the_members_own_all_read_the_same() -> None:
    presented = [Presented("unknown", None), Presented("typo", None, malformed=True)]
    result = apply_coupons(LINES, presented, now=NOW, channel="pos")
    assert result.rejected == (
        ("unknown", Rejection.NOT_REDEEMABLE),
        ("typo", Rejection.MALFORMED),
    )


def test_an_available_coupon_past_its_end_reads_as_expired_before_the_job_runs() -> None:
    c = coupon(expires_at=NOW)
    assert c.status is CouponStatus.AVAILABLE
    assert c.status_at(NOW) is CouponStatus.EXPIRED
    assert c.status_at(NOW - timedelta(microseconds=1)) is CouponStatus.AVAILABLE


@pytest.mark.parametrize(
    ("kind", "value"), [(CouponKind.PERCENT, 0), (CouponKind.PERCENT, 101), (CouponKind.FIXED, 0)]
)
def test_terms_out_of_range_are_refused(kind: CouponKind, value: int) -> None:
    with pytest.raises(InvalidInput) as error:
        CouponTerms(kind, value)
    assert error.value.field == "value"


def test_an_unknown_channel_is_refused() -> None:
    with pytest.raises(InvalidInput) as error:
        CouponTerms(CouponKind.FIXED, 1, channels=frozenset({"phone"}))
    assert error.value.field == "channels"


@pytest.mark.parametrize(
    "validity",
    [
        {},
        {"valid_days": 3, "valid_from": NOW, "valid_until": NOW + timedelta(days=1)},
        {"valid_from": NOW, "valid_until": NOW},
        {"valid_from": NOW},
        {"valid_days": 0},
    ],
)
def test_validity_needs_days_or_an_ordered_window(validity: dict[str, object]) -> None:
    with pytest.raises(InvalidInput):
        Validity(**validity)  # type: ignore[arg-type]


def test_valid_days_run_to_the_end_of_the_local_day() -> None:
    shanghai = ZoneInfo("Asia/Shanghai")
    issued = datetime(2026, 5, 1, 20, 0, tzinfo=UTC)  # 2 May 04:00 in Shanghai
    _, ends = Validity(valid_days=7).window_for(issued, shanghai)
    assert ends == datetime(2026, 5, 10, 0, 0, tzinfo=shanghai)


def test_a_fixed_window_is_the_coupons_window_and_closes_the_template() -> None:
    validity = Validity(valid_from=NOW, valid_until=NOW + timedelta(days=2))
    assert validity.window_for(NOW - timedelta(days=5), ZoneInfo("UTC")) == (
        NOW,
        NOW + timedelta(days=2),
    )
    assert not validity.closed_at(NOW + timedelta(days=1))
    assert validity.closed_at(NOW + timedelta(days=2))
