"""The service agent's inboxes (issue #18): members' feedback (acknowledge, resolve with a
note) and the follow-up call list (today's calls; record the outcome and satisfaction).

Through the use cases /v1/admin uses (feedback, follow_ups); no SQL here. Guarded by
console_guard (session, the permission table, CSRF on every POST).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Redirect, Template

from adapters.http.console.controller import Form, _formats, _page, _program
from adapters.http.console.i18n import N_
from adapters.http.console.paging import Pager
from adapters.http.controllers.admin_feedback import decode_cursor, encode_cursor
from adapters.http.controllers.me import MAX_BIGINT
from app import transactions
from app.container import Container
from app.use_cases.feedback import ListFeedback, UpdateFeedback, list_feedback, update_feedback
from app.use_cases.follow_ups import RecordCall, call_sheet, record_call
from app.use_cases.staff import actor_of
from domain.errors import DomainError, InvalidInput
from domain.feedback import (
    MAX_NOTE_LENGTH,
    FeedbackNotFound,
    FeedbackStatus,
    FeedbackTransitionNotAllowed,
)
from domain.follow_ups import MAX_OUTCOME_LENGTH, FollowUpNotFound, FollowUpStatus
from domain.staff import StaffMember as Staff

PAGE = 20

TRANSLATED_BY_VALUE = (
    N_("new"),
    N_("acknowledged"),
    N_("resolved"),
    N_("suggestion"),
    N_("complaint"),
    N_("praise"),
    N_("pending"),
    N_("reached"),
    N_("unreachable"),
    N_("declined"),
)

FEEDBACK_DONE = {
    "acknowledged": N_("Feedback acknowledged."),
    "resolved": N_("Feedback resolved."),
    "noted": N_("Note saved."),
}


class ServicePagesController(Controller):
    path = "/console"
    include_in_schema = False

    # Feedback inbox --------------------------------------------------------------------------

    @get("/feedback", operation_id="console.feedback.list")
    async def feedback(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Container],
        status: FromQuery[str] = "new",
        cursor: FromQuery[str] = "",
        done: FromQuery[str] = "",
    ) -> Template:
        return await _feedback_page(request, container, status, cursor[:128], done=done)

    @post("/feedback/{feedback_id:uuid}", operation_id="console.feedback.update")
    async def update_feedback(
        self,
        request: Request[Any, Any, Any],
        feedback_id: FromPath[UUID],
        data: Form,
        container: NamedDependency[Container],
    ) -> Response[Any]:
        staff: Staff = request.state.staff
        shown = str(data.get("shown", "new"))[:16]
        try:
            status = FeedbackStatus(str(data.get("status", "")))
        except ValueError:
            return await _feedback_page(request, container, shown, "", 422, refused="status")
        note = str(data.get("note", "")).strip()[: MAX_NOTE_LENGTH + 1] or None
        command = UpdateFeedback(feedback_id, status, actor_of(staff), note)
        try:
            await transactions.write(
                container.uow,
                lambda uow: update_feedback(command, uow, clock=container.clock),
            )
        except FeedbackNotFound:
            raise NotFoundException() from None
        except FeedbackTransitionNotAllowed:
            return await _feedback_page(request, container, shown, "", 409, refused="transition")
        except InvalidInput:
            return await _feedback_page(request, container, shown, "", 422, refused="note")
        done = "noted" if status is FeedbackStatus.NEW else status.value
        query = urlencode({"status": shown, "done": done})
        return Redirect(f"/console/feedback?{query}", status_code=303)

    # Follow-up calls -------------------------------------------------------------------------

    @get("/follow-ups", operation_id="console.follow_ups.list")
    async def follow_ups(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Container],
        show: FromQuery[str] = "today",
        after: Annotated[int | None, QueryParameter(ge=1, le=MAX_BIGINT)] = None,
        done: FromQuery[str] = "",
    ) -> Template:
        return await _calls_page(request, container, show, after, done=bool(done))

    @post("/follow-ups/{follow_up_id:int}", operation_id="console.follow_ups.record")
    async def record_call(
        self,
        request: Request[Any, Any, Any],
        follow_up_id: FromPath[int],
        data: Form,
        container: NamedDependency[Container],
    ) -> Response[Any]:
        staff: Staff = request.state.staff
        show = str(data.get("show", "today"))[:16]
        raw_satisfaction = str(data.get("satisfaction", "")).strip()
        try:
            status = FollowUpStatus(str(data.get("status", "")))
            satisfaction = int(raw_satisfaction) if raw_satisfaction else None
        except ValueError:
            return await _calls_page(request, container, show, None, 422, refused="status")
        if not 1 <= follow_up_id <= MAX_BIGINT:
            raise NotFoundException()
        command = RecordCall(
            follow_up_id=follow_up_id,
            status=status,
            satisfaction=satisfaction,
            outcome=str(data.get("outcome", ""))[: MAX_OUTCOME_LENGTH + 1] or None,
            actor=actor_of(staff),
        )
        try:
            await transactions.write(
                container.uow, lambda uow: record_call(command, uow, clock=container.clock)
            )
        except FollowUpNotFound:
            raise NotFoundException() from None
        except InvalidInput as refused:
            return await _calls_page(
                request, container, show, None, 422, refused=refused.field or "status"
            )
        except DomainError:
            return await _calls_page(request, container, show, None, 422, refused="erased")
        return Redirect(
            f"/console/follow-ups?{urlencode({'show': show, 'done': 1})}", status_code=303
        )


async def _feedback_page(
    request: Request[Any, Any, Any],
    container: Container,
    status: str,
    cursor: str,
    status_code: int = 200,
    *,
    done: str = "",
    **context: Any,
) -> Template:
    shown = status if status in {s.value for s in FeedbackStatus} else "all"
    try:
        after = decode_cursor(cursor or None)
    except InvalidInput:
        after = None
    query = ListFeedback(
        status=FeedbackStatus(shown) if shown != "all" else None, after=after, limit=PAGE
    )
    page = await container.read(lambda uow: list_feedback(query, uow))
    query_now = {**request.query_params, "status": shown, "cursor": cursor}
    pager = Pager.of("/console/feedback", query_now, param="cursor")
    pager = pager.followed_by(encode_cursor(page.next_after))
    program = await _program(container)
    return _page(
        request,
        "feedback.html",
        _formats(request, program),
        status_code,
        items=page.items,
        shown=shown,
        statuses=["new", "acknowledged", "resolved", "all"],
        pager=pager,
        done=FEEDBACK_DONE.get(done),
        max_note=MAX_NOTE_LENGTH,
        **context,
    )


async def _calls_page(
    request: Request[Any, Any, Any],
    container: Container,
    show: str,
    after: int | None,
    status_code: int = 200,
    *,
    done: bool = False,
    **context: Any,
) -> Template:
    """`today`: calls still to make, due today or before (the programme's time zone);
    `all`: every follow-up, recorded ones too (a call may be corrected)."""
    show = show if show in ("today", "all") else "today"
    program = await _program(container)
    today = container.clock.now().astimezone(program.zone).date()
    status = FollowUpStatus.PENDING if show == "today" else None
    due_by = today if show == "today" else None
    sheet = await container.read(
        lambda uow: call_sheet(uow, status=status, due_by=due_by, after_id=after, limit=PAGE),
    )
    items = sheet.page.items
    pager = Pager.of("/console/follow-ups", {**request.query_params, "show": show})
    pager = pager.followed_by(sheet.page.next_after_id)
    return _page(
        request,
        "follow_ups.html",
        _formats(request, program),
        status_code,
        items=items,
        members=sheet.members,
        show=show,
        today=today,
        pager=pager,
        done=done,
        outcomes=[s.value for s in FollowUpStatus if s is not FollowUpStatus.PENDING],
        max_outcome=MAX_OUTCOME_LENGTH,
        **context,
    )
