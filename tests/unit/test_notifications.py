"""Notification rules: who may receive what, and how long a failed delivery waits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from domain.coupons import Coupon, CouponKind, CouponTerms
from domain.notifications import (
    MAX_DELIVERY_ATTEMPTS,
    Notification,
    NotificationKind,
    coupon_issued,
    gives_up_after,
    login_code_text,
    retry_delay,
)

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


def test_retries_back_off_exponentially_up_to_two_hours() -> None:
    delays = [retry_delay(n) for n in range(1, 12)]

    assert delays[:5] == [timedelta(seconds=s) for s in (30, 60, 120, 240, 480)]
    assert max(delays) == timedelta(hours=2)
    assert delays == sorted(delays)
    assert retry_delay(10_000) == timedelta(hours=2)


def test_delivery_gives_up_at_the_last_attempt() -> None:
    assert not gives_up_after(MAX_DELIVERY_ATTEMPTS - 1)
    assert gives_up_after(MAX_DELIVERY_ATTEMPTS)


def test_a_notification_needs_a_recipient_and_a_login_code_needs_a_phone() -> None:
    with pytest.raises(ValueError, match="member or a phone"):
        Notification(kind=NotificationKind.TIER_CHANGED, created_at=NOW)
    with pytest.raises(ValueError, match="phone"):
        Notification(kind=NotificationKind.LOGIN_CODE, created_at=NOW, member_id=UUID(int=1))


def test_the_sms_text_carries_the_code_and_its_lifetime() -> None:
    assert login_code_text("042917", 5) == (
        "Your login code is 042917. It expires in 5 minutes. Never share it."
    )


def test_a_coupon_notice_points_to_the_wallet_without_the_code() -> None:
    coupon = Coupon(
        id=UUID(int=9),
        code="SECRETCODE12",
        member_id=UUID(int=3),
        template_id=UUID(int=4),
        template_version=1,
        title="10 off",
        terms=CouponTerms(kind=CouponKind.FIXED, value=1000),
        valid_from=NOW,
        expires_at=NOW + timedelta(days=30),
        issued_at=NOW,
    )

    notice = coupon_issued(coupon, NOW)

    assert notice.member_id == UUID(int=3)
    assert notice.kind is NotificationKind.COUPON_ISSUED
    assert notice.payload == {
        "coupon_id": str(UUID(int=9)),
        "title": "10 off",
        "expires_at": "2026-07-15T12:00:00+00:00",
    }
