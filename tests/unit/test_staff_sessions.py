"""Console sessions end after the idle timeout, at the absolute timeout, and when revoked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from domain.staff import (
    ABSOLUTE_TIMEOUT,
    IDLE_TIMEOUT,
    SECOND_FACTOR_TTL,
    SetPasswordToken,
    StaffSession,
)

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def test_a_session_ends_after_the_idle_timeout() -> None:
    session = StaffSession.open("h", uuid4(), NOW, pending=False)
    assert session.live(NOW + IDLE_TIMEOUT - timedelta(seconds=1))
    assert not session.live(NOW + IDLE_TIMEOUT)


def test_a_used_session_still_ends_at_the_absolute_timeout() -> None:
    session = StaffSession.open("h", uuid4(), NOW, pending=False)
    busy = StaffSession(
        session.id_hash,
        session.staff_id,
        NOW,
        last_seen_at=NOW + ABSOLUTE_TIMEOUT - timedelta(minutes=1),
        expires_at=session.expires_at,
    )
    assert busy.live(NOW + ABSOLUTE_TIMEOUT - timedelta(seconds=1))
    assert not busy.live(NOW + ABSOLUTE_TIMEOUT)


def test_a_revoked_session_is_over_and_a_pending_one_is_short() -> None:
    revoked = StaffSession("h", uuid4(), NOW, NOW, NOW + ABSOLUTE_TIMEOUT, revoked_at=NOW)
    assert not revoked.live(NOW)
    pending = StaffSession.open("h", uuid4(), NOW, pending=True)
    assert pending.expires_at == NOW + SECOND_FACTOR_TTL


def test_a_set_password_token_is_single_use_and_expires() -> None:
    token = SetPasswordToken("h", uuid4(), NOW, NOW + timedelta(hours=24))
    assert token.usable(NOW)
    assert not token.usable(NOW + timedelta(hours=24))
    used = SetPasswordToken("h", uuid4(), NOW, NOW + timedelta(hours=24), used_at=NOW)
    assert not used.usable(NOW)
