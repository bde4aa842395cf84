"""The follow-up call list, and recording a call."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from litestar import Controller, get, patch
from litestar.di import NamedDependency
from litestar.params import JSONBody, Parameter, QueryParameter
from litestar.response import Stream

from adapters.http.controllers.me import MAX_BIGINT, decode_cursor, encode_cursor
from adapters.http.csv_export import (
    CSV_ANSWER,
    CSV_DESCRIPTION,
    CSV_MEDIA_TYPE,
    csv_download,
    paged,
)
from adapters.http.schemas.crm import FollowUpCallIn, FollowUpOut, FollowUpPageOut
from adapters.http.schemas.problem import problems
from app import transactions
from app.container import Container
from app.principal import Principal
from app.use_cases.follow_ups import RecordCall, list_follow_ups, record_call
from domain.follow_ups import FollowUpStatus

EXPORT_PAGE = 500


class AdminFollowUpsController(Controller):
    path = "/follow-ups"
    tags = ["admin", "crm"]

    @get(
        operation_id="listFollowUps",
        summary="The call list: members to call about a purchase, one follow-up per sale",
        description=(
            "Follow-ups are scheduled by `loyalty jobs schedule-follow-ups` for member sales "
            "made crm.follow_up_days days ago (programme settings, default 7), in the order "
            "they were scheduled. Filter by status and by due date."
        ),
        responses=problems(401, 403, 422),
    )
    async def list_(
        self,
        container: NamedDependency[Container],
        status: Annotated[FollowUpStatus | None, QueryParameter()] = None,
        due_by: Annotated[date | None, QueryParameter(description="due on or before")] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
        cursor: Annotated[str | None, QueryParameter(max_length=64)] = None,
    ) -> FollowUpPageOut:
        after_id = decode_cursor(cursor)
        page = await transactions.read(
            container.uow,
            lambda uow: list_follow_ups(
                uow, status=status, due_by=due_by, after_id=after_id, limit=limit
            ),
        )
        return FollowUpPageOut(
            items=[FollowUpOut.of(item) for item in page.items],
            next_cursor=encode_cursor(page.next_after_id),
        )

    @get(
        "/csv",
        operation_id="exportFollowUps",
        summary="The call list as CSV, in the order scheduled; filter by status and due date",
        description="Every item of GET /v1/admin/follow-ups, read page by page." + CSV_DESCRIPTION,
        media_type=CSV_MEDIA_TYPE,
        response_description=CSV_ANSWER,
        responses=problems(401, 403, 422),
    )
    async def export(
        self,
        container: NamedDependency[Container],
        status: Annotated[FollowUpStatus | None, QueryParameter()] = None,
        due_by: Annotated[date | None, QueryParameter(description="due on or before")] = None,
    ) -> Stream:
        async def page(after_id: int | None) -> tuple[list[FollowUpOut], int | None]:
            found = await transactions.read(
                container.uow,
                lambda uow: list_follow_ups(
                    uow, status=status, due_by=due_by, after_id=after_id, limit=EXPORT_PAGE
                ),
            )
            return [FollowUpOut.of(item) for item in found.items], found.next_after_id

        first, after = await page(None)
        return csv_download(FollowUpOut, paged(first, after, page), "follow-ups.csv")

    @patch(
        "/{follow_up_id:int}",
        operation_id="recordFollowUpCall",
        summary="Record how the call went (status, satisfaction when reached, notes)",
        description=(
            "Recording again corrects the record; the latest stands. Satisfaction (1-5) is "
            "only accepted when the member was reached. Audited."
        ),
        responses=problems(401, 403, 404, 422),
    )
    async def record(
        self,
        follow_up_id: Annotated[int, Parameter(ge=1, le=MAX_BIGINT)],
        data: JSONBody[FollowUpCallIn],
        container: NamedDependency[Container],
        principal: NamedDependency[Principal],
    ) -> FollowUpOut:
        cmd = RecordCall(
            follow_up_id=follow_up_id,
            status=FollowUpStatus(data.status),
            satisfaction=data.satisfaction,
            outcome=data.outcome,
            actor=principal.actor,
        )
        listing = await transactions.write(
            container.uow, lambda uow: record_call(cmd, uow, clock=container.clock)
        )
        return FollowUpOut.of(listing)
