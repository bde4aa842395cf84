"""Notifications to members: written to an outbox with their cause, delivered later.

A notification is stored in the same transaction as the change it announces (a login code, a
tier change, a coupon), so it exists exactly when the change does. A worker delivers it through
the notifier ports afterwards; a failed delivery is retried with exponential backoff and never
undoes the change it announces.

Adding a kind: one member of :class:`NotificationKind`. Login codes go out by SMS to a phone;
every other kind goes to the :class:`MemberNotifier` with its payload.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol
from uuid import UUID

from domain.coupons import Coupon
from domain.tier_policy import TierChange

MAX_DELIVERY_ATTEMPTS = 8
FIRST_RETRY_DELAY = timedelta(seconds=30)
MAX_RETRY_DELAY = timedelta(hours=2)


class NotificationKind(StrEnum):
    LOGIN_CODE = "login_code"  # SMS to a phone; the payload holds the sealed code until sent
    TIER_CHANGED = "tier_changed"
    POINTS_EXPIRING = "points_expiring"
    COUPON_ISSUED = "coupon_issued"
    BIRTHDAY = "birthday"  # a birthday coupon
    REWARD_REDEEMED = "reward_redeemed"  # a receipt of points spent on a reward


@dataclass(frozen=True, slots=True)
class Notification:
    kind: NotificationKind
    created_at: datetime
    payload: Mapping[str, object] = field(default_factory=dict)
    member_id: UUID | None = None
    phone: str | None = None  # E.164; for messages to someone who may not be a member yet
    # Past this instant the message is pointless (a login code that has expired): not sent.
    expires_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.member_id is None and self.phone is None:
            raise ValueError("a notification needs a member or a phone number")
        if self.kind is NotificationKind.LOGIN_CODE and self.phone is None:
            raise ValueError("a login code goes to a phone number")

    @classmethod
    def to_member(
        cls,
        kind: NotificationKind,
        member_id: UUID,
        payload: Mapping[str, object],
        *,
        at: datetime,
    ) -> Notification:
        return cls(kind=kind, created_at=at, payload=dict(payload), member_id=member_id)


class Outbox(Protocol):
    async def add(self, notification: Notification) -> None:
        """Stores the notification in the current transaction, due at once."""
        ...

    async def add_all(self, notifications: Sequence[Notification]) -> None:
        """Like ``add`` for many, in one statement (a coupon run for a thousand members)."""
        ...


class SecretBox(Protocol):
    """Seals a secret (a login code) for its stay in the outbox, so that a database dump or
    backup taken before delivery holds no usable code; only the worker opens it."""

    def seal(self, secret: str) -> str: ...

    def open(self, sealed: str) -> str:
        """Raises ValueError if ``sealed`` was not sealed by this box (or was altered)."""
        ...


# Delivery ---------------------------------------------------------------------------------


class DeliveryFailed(Exception):
    """A notifier could not deliver; the message is retried later."""


@dataclass(frozen=True, slots=True)
class SmsTemplate:
    """What a gateway that sends only approved templates needs (mainland China's carriers
    require them: Aliyun and Tencent Cloud send a template code with parameters, not text):
    the message's kind and language, and each placeholder's value formatted for the locale."""

    kind: str
    language: str
    params: Mapping[str, str]


class SmsSender(Protocol):
    async def send(self, phone: str, text: str, *, template: SmsTemplate | None = None) -> None:
        """Hands the text (or the template it was rendered from) to the gateway; raises
        DeliveryFailed (or anything) on failure."""
        ...


class EmailSender(Protocol):
    async def send_email(self, to: str, subject: str, text: str) -> None:
        """Hands a plain-text e-mail to the mail server; raises on failure."""
        ...


class MemberNotifier(Protocol):
    async def notify(
        self, member_id: UUID, kind: NotificationKind, payload: Mapping[str, object]
    ) -> None:
        """Tells the member (push, e-mail, ...); raises on failure."""
        ...


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failed delivery: 30 s, 1 min, 2 min, ...
    doubling up to two hours."""
    if attempts < 1:
        raise ValueError("attempts starts at 1")
    delay: timedelta = FIRST_RETRY_DELAY * 2 ** min(attempts - 1, 20)
    return min(delay, MAX_RETRY_DELAY)


def gives_up_after(attempts: int) -> bool:
    return attempts >= MAX_DELIVERY_ATTEMPTS


def login_code_text(code: str, minutes: int) -> str:
    return f"Your login code is {code}. It expires in {minutes} minutes. Never share it."


def tier_changed(member_id: UUID, change: TierChange, at: datetime) -> Notification:
    """The payload the set-based SQL jobs write too: from, to and reason codes."""
    return Notification.to_member(
        NotificationKind.TIER_CHANGED,
        member_id,
        {"from": change.from_code, "to": change.to_code, "reason": change.reason.value},
        at=at,
    )


def reward_redeemed(
    member_id: UUID, redemption_id: UUID, title: str, points: int, at: datetime
) -> Notification:
    """A receipt of the member's own action (transactional): what was taken for what."""
    return Notification.to_member(
        NotificationKind.REWARD_REDEEMED,
        member_id,
        {"redemption_id": str(redemption_id), "title": title, "points": points},
        at=at,
    )


def coupon_issued(coupon: Coupon, at: datetime, source: str | None = None) -> Notification:
    """No code in the payload: the member's wallet shows it; a notice only points there. A
    birthday coupon is a birthday greeting; the source tells a campaign's coupon (marketing)
    from a prize or a review reward (a receipt of the member's own action)."""
    kind = NotificationKind.BIRTHDAY if source == "birthday" else NotificationKind.COUPON_ISSUED
    payload: dict[str, object] = {
        "coupon_id": str(coupon.id),
        "title": coupon.title,
        "expires_at": coupon.expires_at.isoformat(),
    }
    if source is not None:
        payload["source"] = source
    return Notification.to_member(kind, coupon.member_id, payload, at=at)
