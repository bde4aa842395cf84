from __future__ import annotations

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from adapters.http.controllers.admin_feedback import Cursor, Limit, decode_cursor, encode_cursor
from adapters.http.schemas.feedback import FeedbackIn, FeedbackOut, FeedbackPageOut
from adapters.http.schemas.problem import problems
from app import transactions
from app.container import Container
from app.principal import Principal
from app.use_cases.feedback import SubmitFeedback, member_feedback, submit_feedback


class MeFeedbackController(Controller):
    path = "/feedback"
    tags = ["member"]

    @post(
        operation_id="submitFeedback",
        summary="Send a suggestion, complaint or praise",
        status_code=201,
        responses=problems(401, 403, 404, 422),
    )
    async def submit(
        self,
        data: JSONBody[FeedbackIn],
        container: NamedDependency[Container],
        principal: NamedDependency[Principal],
    ) -> FeedbackOut:
        assert principal.member_id is not None
        command = SubmitFeedback(principal.member_id, data.kind, data.text, data.order_ref)
        feedback = await transactions.write(
            container.uow,
            lambda uow: submit_feedback(command, uow, clock=container.clock, ids=container.ids),
        )
        return FeedbackOut.of(feedback)

    @get(
        operation_id="listMyFeedback",
        summary="The member's own feedback and where it stands, newest first",
        description="Paged like every list: `{items, next_cursor}`.",
        responses=problems(401, 403, 422),
    )
    async def mine(
        self,
        container: NamedDependency[Container],
        principal: NamedDependency[Principal],
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> FeedbackPageOut:
        assert principal.member_id is not None
        member_id = principal.member_id
        after = decode_cursor(cursor)
        page = await transactions.read(
            container.uow,
            lambda uow: member_feedback(member_id, uow, limit=limit, after=after),
        )
        return FeedbackPageOut(
            items=[FeedbackOut.of(f) for f in page.items],
            next_cursor=encode_cursor(page.next_after),
        )
