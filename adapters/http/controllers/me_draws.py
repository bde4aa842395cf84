from __future__ import annotations

from enum import StrEnum
from typing import Any
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery

from adapters.http.controllers.me import Cursor, Limit
from adapters.http.cursors import decode_after, next_cursor
from adapters.http.idempotency import IdempotencyKey, respond_idempotently
from adapters.http.schemas.draws import ChanceOut, ChancePageOut, PlayOut
from adapters.http.schemas.problem import problems
from app import transactions
from app.container import Container
from app.principal import Principal
from app.unit_of_work import UnitOfWork
from app.use_cases.draws import play_chance, played_chances, unplayed_chances


class ChanceListing(StrEnum):
    UNPLAYED = "unplayed"
    PLAYED = "played"


class MeDrawsController(Controller):
    path = "/draws"
    tags = ["member", "draws"]

    @get(
        operation_id="listMyDrawChances",
        summary="The member's draw chances: unplayed ones, or played ones with their prize",
        description=(
            "`status=unplayed` (the default): the chances that can still be played, soonest "
            "to expire first. `status=played`: the chances already played, most recent "
            "first, each with the prize it won (and the prize's coupon), or `prize: null` "
            "for no prize; a played chance a refund took back since shows `status: revoked`."
        ),
        responses=problems(401, 403, 422),
    )
    async def index(
        self,
        container: NamedDependency[Container],
        principal: NamedDependency[Principal],
        limit: Limit = 50,
        cursor: Cursor = None,
        status: FromQuery[ChanceListing] = ChanceListing.UNPLAYED,
    ) -> ChancePageOut:
        assert principal.member_id is not None
        member_id = principal.member_id
        after = decode_after(cursor)
        if status is ChanceListing.PLAYED:
            played = await transactions.read(
                container.uow,
                lambda uow: played_chances(member_id, uow, after=after, limit=limit),
            )
            return ChancePageOut(
                items=[ChanceOut.of_played(p) for p in played],
                next_cursor=next_cursor([p.chance.id for p in played], limit),
            )
        chances = await transactions.read(
            container.uow,
            lambda uow: unplayed_chances(
                member_id, uow, clock=container.clock, after=after, limit=limit
            ),
        )
        return ChancePageOut(
            items=[ChanceOut.of(c) for c in chances],
            next_cursor=next_cursor([c.id for c in chances], limit),
        )

    @post(
        "/{chance_id:uuid}/play",
        operation_id="playDrawChance",
        summary="Play a chance: draw a prize by the published odds",
        description="Playing a chance that was already played answers its first result. "
        "409 chance_not_playable for an expired or revoked chance.",
        status_code=200,
        responses=problems(401, 403, 404, 409),
    )
    async def play(
        self,
        request: Request[Any, Any, Any],
        chance_id: FromPath[UUID],
        container: NamedDependency[Container],
        principal: NamedDependency[Principal],
        idempotency_key: IdempotencyKey,
    ) -> Response[PlayOut]:
        assert principal.member_id is not None
        member_id = principal.member_id

        async def action(uow: UnitOfWork) -> tuple[int, PlayOut]:
            played = await play_chance(
                member_id,
                chance_id,
                uow,
                clock=container.clock,
                random=container.random,
                ids=container.ids,
            )
            return 200, PlayOut.of(played)

        return await respond_idempotently(request, container, principal, idempotency_key, action)
