"""The back office's side of a member's profile: the birthday correction (the member sets it
once in the app) and the history of the member's marketing consent."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from adapters.http.controllers.me import Cursor, Limit, decode_cursor, encode_cursor
from adapters.http.idempotency import IdempotencyKey, respond_idempotently
from adapters.http.schemas.me import (
    BirthdayCorrectionIn,
    BirthdayOut,
    ConsentChangeOut,
    ConsentHistoryPageOut,
)
from adapters.http.schemas.problem import problems
from app import transactions
from app.container import Container
from app.principal import Principal
from app.unit_of_work import UnitOfWork
from app.use_cases.profile import CorrectBirthday, consent_history, correct_birthday


class AdminMemberProfileController(Controller):
    path = "/members"
    tags = ["admin"]

    @post(
        "/{member_id:uuid}/birthday",
        operation_id="correctMemberBirthday",
        summary="Set, correct or remove a member's birthday, with a reason (audited)",
        description=(
            "The member sets the birthday once in the app; after that only this route "
            "changes it. The audit log records who changed it, when and why (not the dates). "
            "An erased member is 422 `member_erased`."
        ),
        status_code=200,
        responses=problems(401, 403, 404, 422),
    )
    async def correct_birthday(
        self,
        request: Request[Any, Any, Any],
        member_id: FromPath[UUID],
        data: JSONBody[BirthdayCorrectionIn],
        container: NamedDependency[Container],
        principal: NamedDependency[Principal],
        idempotency_key: IdempotencyKey,
    ) -> Response[BirthdayOut]:
        command = CorrectBirthday(
            member_id=member_id, birthday=data.birthday, reason=data.reason, actor=principal.actor
        )

        async def action(uow: UnitOfWork) -> tuple[int, BirthdayOut]:
            member = await correct_birthday(command, uow, clock=container.clock)
            return 200, BirthdayOut(member_id=member.id, birthday=member.birthday)

        return await respond_idempotently(request, container, principal, idempotency_key, action)

    @get(
        "/{member_id:uuid}/consents",
        operation_id="listMemberConsentHistory",
        summary="Every change of the member's marketing consent, newest first",
        description="Each change names its channel, the new state, when and through what "
        "(`member_app` or `admin`). The current state is in the member's profile.",
        responses=problems(401, 403, 404, 422),
    )
    async def consents(
        self,
        member_id: FromPath[UUID],
        container: NamedDependency[Container],
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> ConsentHistoryPageOut:
        before_id = decode_cursor(cursor)
        page = await transactions.read(
            container.uow,
            lambda uow: consent_history(member_id, uow, before_id=before_id, limit=limit),
        )
        return ConsentHistoryPageOut(
            items=[ConsentChangeOut.of(c) for c in page.items],
            next_cursor=encode_cursor(page.next_before_id),
        )
