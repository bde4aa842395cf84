"""Tier standing: immediate upgrades after a purchase."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from app.unit_of_work import UnitOfWork
from app.use_cases.views import TierView
from domain.repositories import TierEvent
from domain.tier_policy import on_purchase


async def upgrade_if_qualified(uow: UnitOfWork, member_id: UUID, now: datetime) -> TierView:
    """Moves the member up at once if their rolling spend now reaches a higher tier.

    Runs in the purchase's own transaction, after its points were earned at the old tier's
    multiplier; the member's next purchase earns at the new one.
    """
    policy = await uow.tiers.policy()
    standing = await uow.members.standing(member_id)
    value = await uow.sales.qualifying_value(member_id, policy.window_start(now))
    decision = on_purchase(policy, standing, value)
    if decision.change is not None:
        await uow.members.change_tier(member_id, decision, TierEvent(now, policy.version))
    tier = policy.ladder.get(decision.standing.tier_code) or policy.ladder.entry_tier
    return TierView(tier.code, tier.name)
