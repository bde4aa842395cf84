"""The outbox's contract: a message goes to a member who exists, or to a phone."""

from __future__ import annotations

from uuid import uuid4

from domain.notifications import Notification, NotificationKind
from tests.integration.contracts.conftest import Backend
from tests.integration.factories import T0


def tier_notice(member_id: object) -> Notification:
    return Notification.to_member(NotificationKind.TIER_CHANGED, member_id, {}, at=T0)  # type: ignore[arg-type]


async def test_messages_to_a_member_or_a_phone_are_queued(backend: Backend) -> None:
    member = await backend.member()
    code = Notification(NotificationKind.LOGIN_CODE, T0, {"code": "x"}, phone="+8613900139000")
    async with backend.committed() as uow:
        await uow.outbox.add(tier_notice(member.id))
        await uow.outbox.add_all([code, tier_notice(member.id)])


async def test_a_message_to_a_member_who_does_not_exist_is_refused(backend: Backend) -> None:
    async with backend.new_uow() as uow:
        with backend.refuses():
            await uow.outbox.add(tier_notice(uuid4()))
    async with backend.new_uow() as uow:
        with backend.refuses():
            await uow.outbox.add_all([tier_notice(uuid4())])
