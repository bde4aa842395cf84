from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from adapters.persistence.tables import FeedbackRow
from domain.feedback import Feedback, FeedbackKind, FeedbackPage, FeedbackStatus


class PostgresFeedbackRepository:
    async def add(self, feedback: Feedback) -> None:
        await FeedbackRow.insert(
            FeedbackRow(
                id=feedback.id,
                member_id=feedback.member_id,
                kind=feedback.kind.value,
                text=feedback.text,
                order_ref=feedback.order_ref,
                status=feedback.status.value,
                admin_note=feedback.admin_note,
                created_at=feedback.created_at,
                updated_at=feedback.updated_at,
                updated_by=feedback.updated_by,
            )
        )

    async def get_for_update(self, feedback_id: UUID) -> Feedback | None:
        row = (
            await FeedbackRow.select()
            .where(FeedbackRow.id == feedback_id)
            .lock_rows("UPDATE")
            .first()
        )
        return _feedback(row) if row else None

    async def save(self, feedback: Feedback) -> None:
        await FeedbackRow.update(
            {
                FeedbackRow.kind: feedback.kind.value,
                FeedbackRow.text: feedback.text,
                FeedbackRow.status: feedback.status.value,
                FeedbackRow.admin_note: feedback.admin_note,
                FeedbackRow.updated_at: feedback.updated_at,
                FeedbackRow.updated_by: feedback.updated_by,
            }
        ).where(FeedbackRow.id == feedback.id)

    async def page(
        self,
        *,
        status: FeedbackStatus | None,
        kind: FeedbackKind | None,
        after: tuple[datetime, UUID] | None,
        limit: int,
    ) -> FeedbackPage:
        conditions = ["TRUE"]
        args: list[Any] = []
        if status is not None:
            conditions.append("status = {}")
            args.append(status.value)
        if kind is not None:
            conditions.append("kind = {}")
            args.append(kind.value)
        if after is not None:
            conditions.append("(created_at, id) < ({}, {})")
            args.extend(after)
        rows = await FeedbackRow.raw(
            f"SELECT * FROM feedback WHERE {' AND '.join(conditions)} "  # noqa: S608 (fixed text)
            "ORDER BY created_at DESC, id DESC LIMIT {}",
            *args,
            limit + 1,
        )
        items = [_feedback(row) for row in rows[:limit]]
        more = len(rows) > limit
        return FeedbackPage(
            items=items, next_after=(items[-1].created_at, items[-1].id) if more else None
        )

    async def of_member(
        self, member_id: UUID, limit: int, *, after: tuple[datetime, UUID] | None = None
    ) -> list[Feedback]:
        sql = "SELECT * FROM feedback WHERE member_id = {} "
        args: list[Any] = [member_id]
        if after is not None:
            sql += "AND (created_at, id) < ({}, {}) "
            args.extend(after)
        rows = await FeedbackRow.raw(
            sql + "ORDER BY created_at DESC, id DESC LIMIT {}", *args, limit
        )
        return [_feedback(row) for row in rows]


def _feedback(row: dict[str, Any]) -> Feedback:
    return Feedback(
        id=row["id"],
        member_id=row["member_id"],
        kind=FeedbackKind(row["kind"]),
        text=row["text"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        order_ref=row["order_ref"],
        status=FeedbackStatus(row["status"]),
        admin_note=row["admin_note"],
        updated_by=row["updated_by"],
    )
