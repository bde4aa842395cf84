from __future__ import annotations

from datetime import datetime
from typing import Annotated

from msgspec import Meta

from adapters.http.schemas.common import Input, Output
from app.use_cases.message_templates import TemplateView
from domain.messages import MAX_BODY_LENGTH, MAX_SUBJECT_LENGTH, RenderedMessage

Subject = Annotated[str, Meta(min_length=1, max_length=MAX_SUBJECT_LENGTH)]
Body = Annotated[str, Meta(min_length=1, max_length=MAX_BODY_LENGTH)]


class MessageTemplateIn(Input, kw_only=True):
    subject: Subject
    body: Body


class MessagePreviewIn(Input, kw_only=True):
    """A draft to try; a field left out is the template in force."""

    subject: Subject | None = None
    body: Body | None = None


class MessageTemplateOut(Output, kw_only=True):
    kind: str
    language: str
    subject: str
    body: str
    placeholders: list[str]
    overridden: bool
    updated_at: datetime | None
    updated_by: str | None

    @classmethod
    def of(cls, view: TemplateView) -> MessageTemplateOut:
        t = view.template
        return cls(
            kind=t.kind.value,
            language=t.language,
            subject=t.subject,
            body=t.body,
            placeholders=list(view.placeholders),
            overridden=view.overridden,
            updated_at=view.updated_at,
            updated_by=view.actor,
        )


class MessageTemplateListOut(Output, kw_only=True):
    items: list[MessageTemplateOut]


class MessagePreviewOut(Output, kw_only=True):
    subject: str
    body: str

    @classmethod
    def of(cls, rendered: RenderedMessage) -> MessagePreviewOut:
        return cls(subject=rendered.subject, body=rendered.body)
