"""The feedback repository's contract."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID, uuid4

from domain.feedback import Feedback, FeedbackKind, FeedbackStatus
from tests.integration.contracts.conftest import Backend
from tests.integration.factories import T0


def a_feedback(n: int, member_id: UUID, kind: FeedbackKind = FeedbackKind.PRAISE) -> Feedback:
    return Feedback.submit(
        feedback_id=UUID(int=n),
        member_id=member_id,
        kind=kind,
        text=f"note {n}",
        order_ref=None,
        now=T0 + timedelta(minutes=n),
    )


async def test_feedback_pages_newest_first_by_status_and_kind(backend: Backend) -> None:
    member = await backend.member()
    async with backend.committed() as uow:
        for n in (1, 2, 3):
            await uow.feedback.add(a_feedback(n, member.id))
        await uow.feedback.add(a_feedback(4, member.id, FeedbackKind.COMPLAINT))
    async with backend.committed() as uow:
        taken = await uow.feedback.get_for_update(UUID(int=2))
        assert taken is not None
        taken.move_to(FeedbackStatus.RESOLVED, note="thanks", actor="admin:a", now=T0)
        await uow.feedback.save(taken)
    async with backend.new_uow() as uow:
        page = await uow.feedback.page(status=FeedbackStatus.NEW, kind=None, after=None, limit=2)
        assert [f.id.int for f in page.items] == [4, 3]
        assert page.next_after is not None
        rest = await uow.feedback.page(
            status=FeedbackStatus.NEW, kind=None, after=page.next_after, limit=2
        )
        assert ([f.id.int for f in rest.items], rest.next_after) == ([1], None)
        praise = await uow.feedback.page(
            status=None, kind=FeedbackKind.COMPLAINT, after=None, limit=5
        )
        assert [f.id.int for f in praise.items] == [4]
        assert [f.id.int for f in await uow.feedback.of_member(member.id, 2)] == [4, 3]
        assert await uow.feedback.get_for_update(UUID(int=2)) == taken


async def test_feedback_of_a_member_who_does_not_exist_is_refused(backend: Backend) -> None:
    async with backend.new_uow() as uow:
        with backend.refuses():
            await uow.feedback.add(a_feedback(1, uuid4()))
