"""The development notifiers: a log line per message that never holds a code or a full phone."""

from __future__ import annotations

import io
from pathlib import Path
from uuid import UUID

from structlog.testing import capture_logs

from adapters.notifications import (
    ConsoleEmailSender,
    FileSmsSender,
    LogEmailSender,
    LogMemberNotifier,
    LogSmsSender,
)
from domain.notifications import NotificationKind, login_code_text

PHONE = "+8613800138000"
TEXT = login_code_text("482913", 5)


async def test_the_log_sms_sender_logs_neither_the_code_nor_the_whole_number() -> None:
    with capture_logs() as logs:
        await LogSmsSender().send(PHONE, TEXT)

    assert logs == [
        {"event": "sms.sent", "to": "+86*******8000", "characters": len(TEXT), "log_level": "info"}
    ]
    assert "482913" not in str(logs)
    assert "13800138000" not in str(logs)


async def test_the_file_sms_sender_writes_the_message_for_a_developer(tmp_path: Path) -> None:
    with capture_logs() as logs:
        await FileSmsSender(tmp_path / "sms").send(PHONE, TEXT)
        await FileSmsSender(tmp_path / "sms").send(PHONE, "second")

    assert (tmp_path / "sms" / f"{PHONE}.txt").read_text() == f"{TEXT}\nsecond\n"
    assert "482913" not in str(logs)
    assert "13800138000" not in str(logs)


async def test_the_log_member_notifier_logs_the_kind_not_the_payload() -> None:
    with capture_logs() as logs:
        await LogMemberNotifier().notify(
            UUID(int=5), NotificationKind.COUPON_ISSUED, {"code": "SECRET-COUPON"}
        )

    assert "SECRET-COUPON" not in str(logs)
    assert logs[0]["kind"] == "coupon_issued"


async def test_the_log_email_sender_logs_the_domain_never_the_address_or_text() -> None:
    with capture_logs() as logs:
        await LogEmailSender().send_email("li.lei@example.com", "Your code", TEXT)

    assert logs == [
        {
            "event": "email.withheld",
            "domain": "example.com",
            "characters": len(TEXT),
            "log_level": "info",
        }
    ]


async def test_the_console_email_sender_shows_a_developer_the_whole_message() -> None:
    stream = io.StringIO()

    await ConsoleEmailSender(stream).send_email("li.lei@example.com", "Your code", TEXT)

    assert "DEVELOPMENT E-MAIL to li.lei@example.com" in stream.getvalue()
    assert "Subject: Your code" in stream.getvalue()
    assert TEXT in stream.getvalue()
