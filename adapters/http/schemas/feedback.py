from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from msgspec import Meta

from adapters.http.schemas.common import Input, Output, Page
from domain.feedback import (
    MAX_NOTE_LENGTH,
    MAX_ORDER_REF_LENGTH,
    MAX_TEXT_LENGTH,
    Feedback,
    FeedbackKind,
    FeedbackStatus,
)


class FeedbackIn(Input, kw_only=True):
    kind: FeedbackKind
    text: Annotated[str, Meta(min_length=1, max_length=MAX_TEXT_LENGTH)]
    order_ref: Annotated[str, Meta(max_length=MAX_ORDER_REF_LENGTH)] | None = None


class FeedbackUpdateIn(Input, kw_only=True):
    status: FeedbackStatus
    note: Annotated[str, Meta(max_length=MAX_NOTE_LENGTH)] | None = None


class FeedbackOut(Output, kw_only=True):
    feedback_id: UUID
    member_id: UUID
    kind: str
    text: str
    order_ref: str | None
    status: str
    admin_note: str | None
    created_at: datetime
    updated_at: datetime
    updated_by: str | None

    @classmethod
    def of(cls, f: Feedback) -> FeedbackOut:
        return cls(
            feedback_id=f.id,
            member_id=f.member_id,
            kind=f.kind.value,
            text=f.text,
            order_ref=f.order_ref,
            status=f.status.value,
            admin_note=f.admin_note,
            created_at=f.created_at,
            updated_at=f.updated_at,
            updated_by=f.updated_by,
        )


class FeedbackPageOut(Page, kw_only=True):
    items: list[FeedbackOut]
