"""Notifier adapters for development: a log line per message, never its secret.

A real SMS gateway or push service implements ``domain.notifications.SmsSender`` /
``MemberNotifier`` and is wired in ``app.wiring.composition``. The log adapters print a masked phone
number and never a login code, so logs can be shipped anywhere; that is the SMS adapter of
production. On a development machine (``LOYALTY_ENV`` not ``production``) the stand-in is
``ConsoleSmsSender``, which prints each text, code included, in a box on the service's standard
error where the developer sees it, and ``LOYALTY_DEV_SMS_DIR`` makes it write each text to a
file there instead (refused in production). ``loyalty dev otp --phone`` shows the last code
without either (docs/development.md).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO
from uuid import UUID

import structlog

from domain.contacts import mask_phone
from domain.notifications import NotificationKind, SmsTemplate

log = structlog.get_logger("loyalty.notifications")


class LogSmsSender:
    async def send(self, phone: str, text: str, *, template: SmsTemplate | None = None) -> None:
        log.info("sms.sent", to=mask_phone(phone), characters=len(text))


class FileSmsSender:
    """Development only: appends each SMS to ``<directory>/<phone>.txt``."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory

    async def send(self, phone: str, text: str, *, template: SmsTemplate | None = None) -> None:
        await asyncio.to_thread(self._write, phone, text)
        log.info("sms.written", to=mask_phone(phone), directory=str(self._directory))

    def _write(self, phone: str, text: str) -> None:
        self._directory.mkdir(parents=True, exist_ok=True)
        with (self._directory / f"{phone}.txt").open("a", encoding="utf-8") as file:
            file.write(text + "\n")


class ConsoleSmsSender:
    """Development only: prints each SMS, login codes included, where the developer running
    the service sees it. Never wired in production (app.wiring.composition)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    async def send(self, phone: str, text: str, *, template: SmsTemplate | None = None) -> None:
        stream = self._stream or sys.stderr
        rule = "=" * 72
        stream.write(
            f"\n{rule}\n DEVELOPMENT SMS to {phone} (not sent; LOYALTY_ENV=development)\n"
            f" {text}\n{rule}\n\n"
        )
        stream.flush()
        log.info("sms.printed", to=mask_phone(phone), characters=len(text))


class LogMemberNotifier:
    async def notify(
        self, member_id: UUID, kind: NotificationKind, payload: Mapping[str, object]
    ) -> None:
        log.info("member.notified", member_id=str(member_id), kind=kind.value)


class LogEmailSender:
    """``LOYALTY_MESSAGES=none``: no e-mail leaves; a log line without address or text."""

    async def send_email(self, to: str, subject: str, text: str) -> None:
        log.info("email.withheld", domain=to.rpartition("@")[2], characters=len(text))


class ConsoleEmailSender:
    """Development only (``LOYALTY_MESSAGES=log``): prints each e-mail where the developer
    running the service sees it."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    async def send_email(self, to: str, subject: str, text: str) -> None:
        stream = self._stream or sys.stderr
        rule = "=" * 72
        stream.write(
            f"\n{rule}\n DEVELOPMENT E-MAIL to {to} (not sent)\n Subject: {subject}\n\n"
            f" {text}\n{rule}\n\n"
        )
        stream.flush()
        log.info("email.printed", domain=to.rpartition("@")[2], characters=len(text))
