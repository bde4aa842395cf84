"""Delivering the outbox: claimed messages go out through the notifier ports, with retries.

A message is claimed for a lease (other workers skip it), its attempt counted, and then sent
outside any transaction: a slow SMS gateway holds no lock and no connection. Delivered, it is
marked so; failed, it waits ``retry_delay(attempts)``; after ``MAX_DELIVERY_ATTEMPTS`` it is
dead (kept for inspection, never sent). A worker that dies mid-send leaves the message to be
claimed again when the lease ends: delivery is at least once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol
from uuid import UUID

from app.messages import LoginCodeSender
from domain.notifications import (
    MemberNotifier,
    NotificationKind,
    SecretBox,
    SmsSender,
    gives_up_after,
    login_code_text,
    retry_delay,
)
from domain.ports import Clock

DELIVERY_BATCH_SIZE = 100
CLAIM_LEASE = timedelta(minutes=2)
MAX_ERROR_LENGTH = 500


@dataclass(frozen=True, slots=True)
class PendingNotification:
    id: int
    kind: str  # a kind this worker may not know yet (written by a newer release)
    payload: Mapping[str, object]
    attempts: int  # this attempt included
    member_id: UUID | None = None
    phone: str | None = None
    expires_at: datetime | None = None


class NotificationQueue(Protocol):
    async def claim_due(
        self, now: datetime, *, limit: int, lease: timedelta
    ) -> Sequence[PendingNotification]:
        """Up to ``limit`` undelivered messages due by ``now`` that no other worker holds,
        their attempt counted and hidden from other workers until ``now + lease``."""
        ...

    async def delivered(self, notification_id: int, at: datetime) -> None:
        """Done; secrets in the payload (a sealed login code) are erased."""
        ...

    async def retry_at(self, notification_id: int, when: datetime, error: str) -> None: ...

    async def give_up(self, notification_id: int, at: datetime, error: str) -> None:
        """Dead: never sent again; secrets in the payload are erased."""
        ...


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    delivered: int = 0
    retrying: int = 0
    dead: int = 0


async def deliver_notifications(
    queue: NotificationQueue,
    clock: Clock,
    sms: SmsSender,
    members: MemberNotifier,
    *,
    secrets: SecretBox,
    login_codes: LoginCodeSender | None = None,
    batch_size: int = DELIVERY_BATCH_SIZE,
    lease: timedelta = CLAIM_LEASE,
) -> DeliveryReport:
    """Delivers every message due now, batch after batch, until none is left. Login codes go
    through ``login_codes`` (the templates in the member's language) when given, else as the
    fixed English text straight to ``sms``."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    delivered = retrying = dead = 0
    while True:
        now = clock.now()
        batch = await queue.claim_due(now, limit=batch_size, lease=lease)
        for message in batch:
            now = clock.now()
            if message.expires_at is not None and now >= message.expires_at:
                await queue.give_up(message.id, now, "expired before it could be delivered")
                dead += 1
                continue
            try:
                await _send(message, sms, members, secrets, login_codes)
            except Exception as error:  # any notifier failure is retried, never fatal
                text = f"{type(error).__name__}: {error}"[:MAX_ERROR_LENGTH]
                if gives_up_after(message.attempts):
                    await queue.give_up(message.id, now, text)
                    dead += 1
                else:
                    await queue.retry_at(message.id, now + retry_delay(message.attempts), text)
                    retrying += 1
                continue
            await queue.delivered(message.id, clock.now())
            delivered += 1
        if len(batch) < batch_size:
            return DeliveryReport(delivered, retrying, dead)


async def _send(
    message: PendingNotification,
    sms: SmsSender,
    members: MemberNotifier,
    secrets: SecretBox,
    login_codes: LoginCodeSender | None,
) -> None:
    kind = NotificationKind(message.kind)  # unknown: ValueError, retried by a newer worker
    if kind is NotificationKind.LOGIN_CODE:
        if message.phone is None:
            raise ValueError("a login code without a phone number")
        code = secrets.open(str(message.payload["sealed_code"]))
        minutes = int(str(message.payload.get("minutes", 5)))
        if login_codes is not None:
            await login_codes.send_login_code(message.phone, code, minutes)
        else:
            await sms.send(message.phone, login_code_text(code, minutes))
        return
    if message.member_id is None:
        raise ValueError(f"a {kind.value} notification without a member")
    await members.notify(message.member_id, kind, message.payload)
