from __future__ import annotations

from litestar import Controller, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from adapters.http.idempotency import SimulationKey
from adapters.http.schemas.problem import problems
from adapters.http.schemas.tier_simulation import TierSimulationIn, TierSimulationOut
from app import transactions
from app.container import Container
from app.unit_of_work import UnitOfWork
from domain.program import ProgramSettings


class AdminTierSimulationController(Controller):
    path = "/tiers"
    tags = ["admin"]

    @post(
        "/simulate",
        operation_id="simulateTiers",
        summary="What a proposed tier policy would do to today's members (nothing is saved)",
        description=(
            "Places every member on the tier their spend over the proposed window (payable "
            "net of refunds, sales at or after now - window_days) qualifies for, ignoring "
            "grace periods and tiers set by hand; counts members per proposed tier and those "
            "ranked above (moving_up) or below (moving_down) their current tier, by rank (a "
            "current tier missing from the proposal counts by its current rank). Points per "
            "month: per member floor(spend in major units x earn_rate x multiplier), summed, "
            "times 30.4375 / window_days, floored; at current multipliers and at the "
            "proposed ones. Runs read-only on live data. No Idempotency-Key is needed: "
            "nothing is saved, so a repeat computes the answer again."
        ),
        status_code=200,
        responses=problems(400, 401, 403, 422),
    )
    async def simulate(
        self,
        data: JSONBody[TierSimulationIn],
        container: NamedDependency[Container],
        # Taken for clients that send one anyway: nothing is stored, a repeat recomputes.
        idempotency_key: SimulationKey = None,
    ) -> TierSimulationOut:
        policy = data.to_policy()

        async def load_program(uow: UnitOfWork) -> ProgramSettings:
            return await uow.program.get()

        program = await transactions.read(container.uow, load_program)
        now = container.clock.now()
        result = await container.reports.simulate_tiers(
            policy,
            now=now,
            earn_rate=program.earn_rate,
            currency_exponent=program.currency_exponent,
        )
        return TierSimulationOut.of(policy, result, as_of=now)
