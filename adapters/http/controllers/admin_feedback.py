from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated
from uuid import UUID

from litestar import Controller, get, patch
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.response import Stream

from adapters.http.csv_export import (
    CSV_ANSWER,
    CSV_DESCRIPTION,
    CSV_MEDIA_TYPE,
    csv_download,
    paged,
)
from adapters.http.schemas.feedback import FeedbackOut, FeedbackPageOut, FeedbackUpdateIn
from adapters.http.schemas.problem import problems
from app import transactions
from app.container import Container
from app.principal import Principal
from app.use_cases.feedback import ListFeedback, UpdateFeedback, list_feedback, update_feedback
from domain.errors import InvalidInput
from domain.feedback import FeedbackKind, FeedbackStatus
from domain.time_range import instant_accepted

Limit = Annotated[int, QueryParameter(ge=1, le=200)]
EXPORT_PAGE = 500
Cursor = Annotated[str | None, QueryParameter(max_length=128)]


def encode_cursor(after: tuple[datetime, UUID] | None) -> str | None:
    if after is None:
        return None
    raw = f"f{after[0].isoformat()}|{after[1]}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> tuple[datetime, UUID] | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if raw[:1] != "f":
            raise ValueError(raw)
        at, _, feedback_id = raw[1:].partition("|")
        when = datetime.fromisoformat(at)
        # Only ever a feedback row's own time: anything else was forged (year 1 at +14:00
        # cannot even be sent to PostgreSQL).
        if not instant_accepted(when):
            raise ValueError(at)
        return when, UUID(feedback_id)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput("the cursor is not one this API gave out", field="cursor") from None


class AdminFeedbackController(Controller):
    path = "/feedback"
    tags = ["admin"]

    @get(
        operation_id="listFeedback",
        summary="Members' feedback, newest first; filter by status and kind",
        responses=problems(401, 403, 422),
    )
    async def list_all(
        self,
        container: NamedDependency[Container],
        status: FromQuery[FeedbackStatus | None] = None,
        kind: FromQuery[FeedbackKind | None] = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> FeedbackPageOut:
        query = ListFeedback(status=status, kind=kind, after=decode_cursor(cursor), limit=limit)
        page = await transactions.read(container.uow, lambda uow: list_feedback(query, uow))
        return FeedbackPageOut(
            items=[FeedbackOut.of(f) for f in page.items],
            next_cursor=encode_cursor(page.next_after),
        )

    @get(
        "/csv",
        operation_id="exportFeedback",
        summary="Members' feedback as CSV, newest first; filter by status and kind",
        description="Every item of GET /v1/admin/feedback, read page by page." + CSV_DESCRIPTION,
        media_type=CSV_MEDIA_TYPE,
        response_description=CSV_ANSWER,
        responses=problems(401, 403, 422),
    )
    async def export(
        self,
        container: NamedDependency[Container],
        status: FromQuery[FeedbackStatus | None] = None,
        kind: FromQuery[FeedbackKind | None] = None,
    ) -> Stream:
        async def page(
            after: tuple[datetime, UUID] | None,
        ) -> tuple[list[FeedbackOut], tuple[datetime, UUID] | None]:
            query = ListFeedback(status=status, kind=kind, after=after, limit=EXPORT_PAGE)
            found = await transactions.read(container.uow, lambda uow: list_feedback(query, uow))
            return [FeedbackOut.of(f) for f in found.items], found.next_after

        first, after = await page(None)
        return csv_download(FeedbackOut, paged(first, after, page), "feedback.csv")

    @patch(
        "/{feedback_id:uuid}",
        operation_id="updateFeedback",
        summary="Move feedback forward (new, acknowledged, resolved) with a note; audited",
        responses=problems(401, 403, 404, 409, 422),
    )
    async def update(
        self,
        feedback_id: FromPath[UUID],
        data: JSONBody[FeedbackUpdateIn],
        container: NamedDependency[Container],
        principal: NamedDependency[Principal],
    ) -> FeedbackOut:
        command = UpdateFeedback(feedback_id, data.status, principal.actor, data.note)
        feedback = await transactions.write(
            container.uow, lambda uow: update_feedback(command, uow, clock=container.clock)
        )
        return FeedbackOut.of(feedback)
