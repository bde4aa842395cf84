from __future__ import annotations

from litestar import Controller, get
from litestar.di import NamedDependency

from adapters.http.auth import CHECKS_ERASURE_ITSELF
from adapters.http.schemas.login import CardTokenOut
from adapters.http.schemas.problem import problems
from app import transactions
from app.container import Container
from app.principal import Principal
from app.use_cases.card_tokens import issue_card_token


class MeCardTokenController(Controller):
    path = "/card-token"
    tags = ["member"]

    @get(
        operation_id="getMyCardToken",
        summary="A code for the in-store QR, valid for 60 seconds",
        description=(
            "Tills resolve it with GET /v1/pos/members/lookup?card_token= while it is valid; "
            "afterwards it is refused like an unknown member. Ask for a new one each minute."
        ),
        responses=problems(401, 403, 404),
        opt={CHECKS_ERASURE_ITSELF: True},
    )
    async def card_token(
        self, container: NamedDependency[Container], principal: NamedDependency[Principal]
    ) -> CardTokenOut:
        assert principal.member_id is not None
        member_id = principal.member_id
        codec = container.card_tokens
        token = await transactions.read(
            container.uow,
            lambda uow: issue_card_token(member_id, uow, codec=codec, clock=container.clock),
        )
        return CardTokenOut(card_token=token.token, expires_in=token.expires_in)
