from __future__ import annotations

from uuid import UUID

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromPath

from adapters.http.schemas.draws import OddsOut
from adapters.http.schemas.problem import problems
from app import transactions
from app.container import Container
from app.use_cases.draws import current_odds


class DrawOddsController(Controller):
    """Published without authentication: anyone may check the odds they play at."""

    path = "/v1/draw-campaigns"
    tags = ["draws"]

    @get(
        "/{campaign_id:uuid}/odds",
        operation_id="getDrawOdds",
        summary="The current odds of each prize (the ones the next draw uses)",
        description="Out-of-stock prizes drop out and the other weights are renormalised.",
        responses=problems(404),
    )
    async def odds(
        self, campaign_id: FromPath[UUID], container: NamedDependency[Container]
    ) -> OddsOut:
        campaign, odds = await transactions.read(
            container.uow, lambda uow: current_odds(campaign_id, uow, clock=container.clock)
        )
        return OddsOut.of(campaign, odds)
