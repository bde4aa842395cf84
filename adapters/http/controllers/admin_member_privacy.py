from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from adapters.http.idempotency import IdempotencyKey, respond_idempotently
from adapters.http.schemas.member_privacy import ErasureOut, MemberExportOut
from adapters.http.schemas.problem import problems
from app import transactions
from app.container import Container
from app.principal import Principal
from app.unit_of_work import UnitOfWork
from app.use_cases.member_privacy import EraseMember, erase_member, export_member


class AdminMemberPrivacyController(Controller):
    path = "/members"
    tags = ["admin"]

    @get(
        "/{member_id:uuid}/export",
        operation_id="exportMemberData",
        summary="Everything held about a member (right of access), every table that names them",
        description="Each export is audited as `member.exported` (who, when, rows per table).",
        responses=problems(401, 403, 404),
    )
    async def export(
        self,
        member_id: FromPath[UUID],
        container: NamedDependency[Container],
        principal: NamedDependency[Principal],
    ) -> MemberExportOut:
        export = await transactions.write(
            container.uow,
            lambda uow: export_member(member_id, uow, clock=container.clock, actor=principal.actor),
        )
        return MemberExportOut.of(export)

    @post(
        "/{member_id:uuid}/erase",
        operation_id="eraseMemberData",
        summary="Erase a member's personal data; the ledger's amounts and hash chain stay",
        description="Phone, name, e-mail and birthday are removed, the web shop's customer ids "
        "unlinked and feedback texts blanked; the member's ledger, sales and coupons are kept "
        "under the member id. Audited as `member.erased`.",
        status_code=200,
        responses=problems(401, 403, 404),
    )
    async def erase(
        self,
        request: Request[Any, Any, Any],
        member_id: FromPath[UUID],
        container: NamedDependency[Container],
        principal: NamedDependency[Principal],
        idempotency_key: IdempotencyKey,
    ) -> Response[ErasureOut]:
        command = EraseMember(member_id=member_id, actor=principal.actor)

        async def action(uow: UnitOfWork) -> tuple[int, ErasureOut]:
            erasure = await erase_member(command, uow, clock=container.clock)
            return 200, ErasureOut.of(erasure)

        return await respond_idempotently(request, container, principal, idempotency_key, action)
