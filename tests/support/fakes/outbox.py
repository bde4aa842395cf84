"""The outbox of notifications."""

from __future__ import annotations

from collections.abc import Sequence

from domain.notifications import Notification, NotificationKind
from tests.support.fakes.common import Linked, require


class FakeOutbox(Linked):
    """Messages queued in the unit of work; one to a member needs the member to exist."""

    def __init__(self) -> None:
        self.notifications: list[Notification] = []

    async def add(self, notification: Notification) -> None:
        await self.add_all([notification])

    async def add_all(self, notifications: Sequence[Notification]) -> None:
        members = self.db.members.members
        for n in notifications:
            require(n.member_id is None or n.member_id in members, "outbox_member_id_fkey")
        self.notifications.extend(notifications)

    def of_kind(self, kind: NotificationKind) -> list[Notification]:
        return [n for n in self.notifications if n.kind is kind]
