"""Member feedback."""

from __future__ import annotations

import copy
from datetime import datetime
from uuid import UUID

from domain.feedback import Feedback, FeedbackKind, FeedbackPage, FeedbackStatus
from tests.support.fakes.common import ConstraintViolation, Linked, require


class FakeFeedbackRepository(Linked):
    def __init__(self) -> None:
        self.records: dict[UUID, Feedback] = {}

    async def add(self, feedback: Feedback) -> None:
        require(feedback.member_id in self.db.members.members, "feedback_member_id_fkey")
        if feedback.id in self.records:
            raise ConstraintViolation(f"feedback {feedback.id} exists")
        self.records[feedback.id] = copy.deepcopy(feedback)

    async def get_for_update(self, feedback_id: UUID) -> Feedback | None:
        return copy.deepcopy(self.records.get(feedback_id))

    async def save(self, feedback: Feedback) -> None:
        self.records[feedback.id] = copy.deepcopy(feedback)

    async def page(
        self,
        *,
        status: FeedbackStatus | None,
        kind: FeedbackKind | None,
        after: tuple[datetime, UUID] | None,
        limit: int,
    ) -> FeedbackPage:
        newest = sorted(
            (
                f
                for f in self.records.values()
                if (status is None or f.status is status)
                and (kind is None or f.kind is kind)
                and (after is None or (f.created_at, f.id) < after)
            ),
            key=lambda f: (f.created_at, f.id),
            reverse=True,
        )
        items = [copy.deepcopy(f) for f in newest[:limit]]
        more = len(newest) > limit
        return FeedbackPage(items, (items[-1].created_at, items[-1].id) if more else None)

    async def of_member(
        self, member_id: UUID, limit: int, *, after: tuple[datetime, UUID] | None = None
    ) -> list[Feedback]:
        mine = [
            f
            for f in self.records.values()
            if f.member_id == member_id and (after is None or (f.created_at, f.id) < after)
        ]
        newest = sorted(mine, key=lambda f: (f.created_at, f.id), reverse=True)
        return copy.deepcopy(newest[:limit])
