from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from adapters.http.controllers.me import Cursor, Limit
from adapters.http.cursors import decode_after, next_cursor
from adapters.http.idempotency import IdempotencyKey, respond_idempotently
from adapters.http.schemas.common import BalancesOut, TierOut
from adapters.http.schemas.members import (
    MemberFoundOut,
    MemberFoundPageOut,
    MemberOverviewOut,
    NewCardOut,
    SetTierIn,
)
from adapters.http.schemas.points import AdjustmentIn, AdjustmentOut
from adapters.http.schemas.problem import problems
from adapters.http.strict_input import DECODABLE_TEXT
from app import transactions
from app.container import Container
from app.permissions import adjustment_limit
from app.principal import Principal
from app.unit_of_work import UnitOfWork
from app.use_cases.member_360 import member_overview
from app.use_cases.member_search import MemberQuery, find_members
from app.use_cases.members import ReplaceCard, replace_card
from app.use_cases.points import AdjustPoints, adjust_points
from app.use_cases.tiers import SetTier, set_member_tier


class AdminMembersController(Controller):
    path = "/members"
    tags = ["admin"]

    @get(
        operation_id="findMembers",
        summary="Find members by phone, card number, e-mail, part of a name or an external id",
        description="Exactly one of the criteria (422 `validation_error` otherwise). `phone` "
        "takes any form the till's lookup takes (`13800138000`, `+86 138 0013 8000`) and "
        "matches exactly; `card_number` finds the member of any of their cards, blocked ones "
        "too; `email` matches the normalised address regardless of case; `name` matches any "
        "part of the name regardless of case; `external_id` matches an id in another system "
        "(an imported customer id, the web shop's customer id). Erased members are never "
        "found. Paged by member id; then GET /v1/admin/members/{member_id} for the 360 view.",
        responses=problems(401, 403, 422),
    )
    async def find(
        self,
        container: NamedDependency[Container],
        phone: Annotated[str | None, QueryParameter(min_length=1, max_length=32)] = None,
        card_number: Annotated[str | None, QueryParameter(min_length=1, max_length=32)] = None,
        email: Annotated[
            str | None, QueryParameter(min_length=1, max_length=254, pattern=DECODABLE_TEXT)
        ] = None,
        name: Annotated[
            str | None, QueryParameter(min_length=1, max_length=100, pattern=DECODABLE_TEXT)
        ] = None,
        external_id: Annotated[
            str | None, QueryParameter(min_length=1, max_length=128, pattern=DECODABLE_TEXT)
        ] = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> MemberFoundPageOut:
        after = decode_after(cursor)
        found = await find_members(
            MemberQuery(
                phone=phone,
                card_number=card_number,
                email=email,
                name=name,
                external_id=external_id,
            ),
            container.member_directory,
            contacts=container.contacts,
            after=after,
            limit=limit,
        )
        return MemberFoundPageOut(
            items=[MemberFoundOut.of(m) for m in found],
            next_cursor=next_cursor([m.member_id for m in found], limit),
        )

    @get(
        "/{member_id:uuid}",
        operation_id="getMemberOverview",
        summary="The 360-degree view: profile, cards, balances, lots, ledger, sales",
        responses=problems(401, 403, 404),
    )
    async def overview(
        self, member_id: FromPath[UUID], container: NamedDependency[Container]
    ) -> MemberOverviewOut:
        view = await transactions.read(
            container.uow,
            lambda uow: member_overview(member_id, uow, container.clock, container.ledger_sources),
        )
        return MemberOverviewOut.of(view, container.clock.now())

    @post(
        "/{member_id:uuid}/card/replace",
        operation_id="replaceMemberCard",
        summary="Issue a new card number; the old one is blocked for good",
        description="An erased member gets no new card: 422 `member_erased`.",
        status_code=201,
        responses=problems(401, 403, 404, 422),
    )
    async def replace_card(
        self,
        request: Request[Any, Any, Any],
        member_id: FromPath[UUID],
        container: NamedDependency[Container],
        principal: NamedDependency[Principal],
        idempotency_key: IdempotencyKey,
    ) -> Response[NewCardOut]:
        command = ReplaceCard(member_id=member_id, actor=principal.actor)

        async def action(uow: UnitOfWork) -> tuple[int, NewCardOut]:
            card = await replace_card(command, uow, clock=container.clock, random=container.random)
            return 201, NewCardOut(
                member_id=member_id, card_number=card.card_number, issued_at=card.issued_at
            )

        return await respond_idempotently(request, container, principal, idempotency_key, action)

    @post(
        "/{member_id:uuid}/adjustments",
        operation_id="adjustMemberPoints",
        summary="Credit or debit a member's points with a reason (audited)",
        description="A token of staff role `service` adjusts at most "
        "LOYALTY_SERVICE_ADJUSTMENT_LIMIT points either way (403 `adjustment_over_limit`, "
        "with `limit`); an owner's has no limit.",
        status_code=201,
        responses=problems(401, 403, 404, 422),
    )
    async def adjust(
        self,
        request: Request[Any, Any, Any],
        member_id: FromPath[UUID],
        data: JSONBody[AdjustmentIn],
        container: NamedDependency[Container],
        principal: NamedDependency[Principal],
        idempotency_key: IdempotencyKey,
    ) -> Response[AdjustmentOut]:
        command = AdjustPoints(
            member_id=member_id,
            points=data.points,
            reason=data.reason,
            actor=principal.actor,
            limit=adjustment_limit(
                principal.staff_role, container.settings.service_adjustment_limit
            ),
        )

        async def action(uow: UnitOfWork) -> tuple[int, AdjustmentOut]:
            done = await adjust_points(command, uow, clock=container.clock, ids=container.ids)
            return 201, AdjustmentOut(
                adjustment_id=done.adjustment_id,
                member_id=done.member_id,
                points=done.points,
                reason=done.reason,
                balance=BalancesOut.of(done.balances),
            )

        return await respond_idempotently(request, container, principal, idempotency_key, action)

    @post(
        "/{member_id:uuid}/tier",
        operation_id="setMemberTier",
        summary="Set a member's tier by hand, with a reason and an optional end (audited)",
        description="Until `until`, reviews do not take the tier away.",
        status_code=200,
        responses=problems(401, 403, 404, 422),
    )
    async def set_tier(
        self,
        request: Request[Any, Any, Any],
        member_id: FromPath[UUID],
        data: JSONBody[SetTierIn],
        container: NamedDependency[Container],
        principal: NamedDependency[Principal],
        idempotency_key: IdempotencyKey,
    ) -> Response[TierOut]:
        command = SetTier(
            member_id=member_id,
            tier_code=data.tier_code,
            reason=data.reason,
            actor=principal.actor,
            until=data.until,
        )

        async def action(uow: UnitOfWork) -> tuple[int, TierOut]:
            tier = await set_member_tier(command, uow, clock=container.clock)
            return 200, TierOut.of(tier)

        return await respond_idempotently(request, container, principal, idempotency_key, action)
