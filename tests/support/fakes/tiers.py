"""The tier repository: the ladder and the versions of the tier policy."""

from __future__ import annotations

from datetime import datetime

from domain.errors import TierPolicyChanged
from domain.notifications import tier_changed
from domain.repositories import TierEvent
from domain.tier_policy import Decision, MemberTier, TierChange, TierChangeReason, TierPolicy
from domain.tiers import BASE_TIER, TierLadder
from tests.support.fakes.common import Linked, require


class FakeTierRepository(Linked):
    """The ladder and the policy versions; members reference a tier (adopt_policy moves them)."""

    def __init__(self, ladder: TierLadder | None = None) -> None:
        self.current = ladder or TierLadder.of([BASE_TIER])
        self.policies: list[TierPolicy] = [TierPolicy(365, 30, self.current)]

    async def ladder(self) -> TierLadder:
        return self.current

    async def replace(self, ladder: TierLadder) -> None:
        held = {m.tier_code for m in self.db.members.members.values()}
        require(held <= {t.code for t in ladder.tiers}, "members_tier_code_fkey")
        self.current = ladder

    async def policy(self) -> TierPolicy:
        latest = self.policies[-1]
        return TierPolicy(latest.window_days, latest.grace_days, self.current, latest.version)

    async def save_policy(self, policy: TierPolicy, actor: str, at: datetime) -> None:
        if any(p.version == policy.version for p in self.policies):
            raise TierPolicyChanged()  # the version is the primary key
        await self.replace(policy.ladder)
        self.policies.append(policy)

    async def adopt_policy(self, policy: TierPolicy, actor: str, at: datetime) -> int:
        if any(p.version == policy.version for p in self.policies):
            raise TierPolicyChanged()
        db = self.db
        # As in PostgreSQL: the new tiers exist before members move onto them, and a removed
        # tier goes once nobody holds it.
        previous, self.current = self.current, policy.ladder
        moved = 0
        for member in list(db.members.members.values()):
            value = await db.sales.qualifying_value(member.id, policy.window_start(at))
            qualified = policy.qualifying_tier(value)
            current = policy.ladder.get(member.tier_code)
            if qualified.code == member.tier_code:
                continue
            if current is not None and qualified.rank <= current.rank:
                continue
            standing = await db.members.standing(member.id)
            decision = Decision(
                MemberTier(qualified.code, None, standing.manual_until),
                TierChange(member.tier_code, qualified.code, TierChangeReason.POLICY_CHANGE),
            )
            await db.members.change_tier(member.id, decision, TierEvent(at, policy.version, actor))
            assert decision.change is not None
            await db.outbox.add(tier_changed(member.id, decision.change, at))
            moved += 1
        self.current = previous
        await self.replace(policy.ladder)
        self.policies.append(policy)
        return moved
