from __future__ import annotations

from litestar import Controller, get, put
from litestar.di import NamedDependency
from litestar.params import JSONBody

from adapters.http.schemas.problem import problems
from adapters.http.schemas.tiers import TierPolicyIn, TierPolicyOut
from app import transactions
from app.container import Container
from app.principal import Principal
from app.use_cases.tiers import get_tier_policy, update_tier_policy


class AdminTiersController(Controller):
    path = "/tiers"
    tags = ["admin"]

    @get(
        operation_id="getTierPolicy",
        summary="The tier policy in force: window, grace and the ladder",
        responses=problems(401, 403),
    )
    async def show(self, container: NamedDependency[Container]) -> TierPolicyOut:
        return TierPolicyOut.of(await transactions.read(container.uow, get_tier_policy))

    @put(
        operation_id="updateTierPolicy",
        summary="Save a new version of the tier policy and apply it to members (audited)",
        description="Members whose tier is removed, and members who now qualify for a higher "
        "tier, move at once (reason policy_change); nobody moves down until a review. "
        "409 if another admin saved a version first.",
        responses=problems(401, 403, 409, 422),
    )
    async def update(
        self,
        data: JSONBody[TierPolicyIn],
        container: NamedDependency[Container],
        principal: NamedDependency[Principal],
    ) -> TierPolicyOut:
        proposed = data.to_proposed()
        updated = await transactions.write(
            container.uow,
            lambda uow: update_tier_policy(proposed, principal.actor, uow, clock=container.clock),
        )
        return TierPolicyOut.of(updated.policy)
