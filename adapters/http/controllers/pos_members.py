from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, QueryParameter

from adapters.http.idempotency import IdempotencyKey, respond_idempotently
from adapters.http.schemas.pos import EnrolMemberIn, MemberSummaryOut
from adapters.http.schemas.problem import problems
from app.container import Container
from app.principal import Principal
from app.unit_of_work import UnitOfWork
from app.use_cases.members import EnrolMember, LookupMember, enrol_member, lookup_member
from domain.sales import IN_STORE


class PosMembersController(Controller):
    path = "/members"
    tags = ["pos"]

    @post(
        operation_id="posEnrolMember",
        summary="Enrol a customer at the counter",
        status_code=201,
        responses=problems(400, 401, 403, 409, 422),
    )
    async def enrol(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[EnrolMemberIn],
        container: NamedDependency[Container],
        principal: NamedDependency[Principal],
        idempotency_key: IdempotencyKey,
    ) -> Response[MemberSummaryOut]:
        async def action(uow: UnitOfWork) -> tuple[int, MemberSummaryOut]:
            summary = await enrol_member(
                EnrolMember(
                    phone=data.phone,
                    name=data.name,
                    email=data.email,
                    birthday=data.birthday,
                    store_id=principal.store_id,
                ),
                uow,
                clock=container.clock,
                ids=container.ids,
                random=container.random,
                contacts=container.contacts,
            )
            return 201, MemberSummaryOut.of(summary)

        return await respond_idempotently(request, container, principal, idempotency_key, action)

    @get(
        "/lookup",
        operation_id="posLookupMember",
        summary="Identify a member by card number, phone or the app's rotating card code",
        responses=problems(401, 403, 404, 422),
    )
    async def lookup(
        self,
        container: NamedDependency[Container],
        card_number: Annotated[str | None, QueryParameter(max_length=32)] = None,
        phone: Annotated[str | None, QueryParameter(max_length=32)] = None,
        card_token: Annotated[str | None, QueryParameter(max_length=64)] = None,
    ) -> MemberSummaryOut:
        found = await lookup_member(
            LookupMember(card_number=card_number, phone=phone, card_token=card_token),
            container.member_reads,
            contacts=container.contacts,
            clock=container.clock,
            channel=IN_STORE,
            card_tokens=container.card_tokens,
        )
        return MemberSummaryOut.of(found.summary, found.coupons)
