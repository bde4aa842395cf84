"""Notifier adapters for development: a log line per message, never its secret.

A real SMS gateway or push service implements ``domain.notifications.SmsSender`` /
``MemberNotifier`` and is wired in ``app.wiring.composition``. The log adapters print a masked phone
number and never a login code, so logs can be shipped anywhere. To log in on a development
machine without a gateway, ``LOYALTY_DEV_SMS_DIR`` makes the SMS adapter write each message to
a file there instead (refused in production).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from uuid import UUID

import structlog

from domain.contacts import mask_phone
from domain.notifications import NotificationKind

log = structlog.get_logger("loyalty.notifications")


class LogSmsSender:
    async def send(self, phone: str, text: str) -> None:
        log.info("sms.sent", to=mask_phone(phone), characters=len(text))


class FileSmsSender:
    """Development only: appends each SMS to ``<directory>/<phone>.txt``."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory

    async def send(self, phone: str, text: str) -> None:
        await asyncio.to_thread(self._write, phone, text)
        log.info("sms.written", to=mask_phone(phone), directory=str(self._directory))

    def _write(self, phone: str, text: str) -> None:
        self._directory.mkdir(parents=True, exist_ok=True)
        with (self._directory / f"{phone}.txt").open("a", encoding="utf-8") as file:
            file.write(text + "\n")


class LogMemberNotifier:
    async def notify(
        self, member_id: UUID, kind: NotificationKind, payload: Mapping[str, object]
    ) -> None:
        log.info("member.notified", member_id=str(member_id), kind=kind.value)
