"""The outbox of notifications."""

from __future__ import annotations

from collections.abc import Sequence

from domain.notifications import Notification, NotificationKind


class FakeOutbox:
    def __init__(self) -> None:
        self.notifications: list[Notification] = []

    async def add(self, notification: Notification) -> None:
        self.notifications.append(notification)

    async def add_all(self, notifications: Sequence[Notification]) -> None:
        self.notifications.extend(notifications)

    def of_kind(self, kind: NotificationKind) -> list[Notification]:
        return [n for n in self.notifications if n.kind is kind]
