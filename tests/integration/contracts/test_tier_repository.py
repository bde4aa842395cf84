"""The tier repository's contract (and the member's tier, which references it)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from domain.errors import TierPolicyChanged
from domain.repositories import TierEvent
from domain.tier_policy import Decision, MemberTier, TierChange, TierChangeReason, TierPolicy
from domain.tiers import BASE_TIER, Tier, TierLadder
from tests.integration.contracts.conftest import Backend
from tests.integration.factories import T0, a_sale

GOLD = Tier("gold", "Gold", 1, 100_000, Decimal("1.5"))
WITH_GOLD = TierLadder.of([BASE_TIER, GOLD])
ONLY_BASE = TierLadder.of([BASE_TIER])


def moved_to(code: str, since: str = "member") -> Decision:
    return Decision(MemberTier(code, None, None), TierChange(since, code, TierChangeReason.MANUAL))


async def test_the_ladder_starts_with_the_base_tier_and_is_replaced_whole(
    backend: Backend,
) -> None:
    async with backend.committed() as uow:
        assert await uow.tiers.ladder() == ONLY_BASE
        await uow.tiers.replace(WITH_GOLD)
    async with backend.committed() as uow:
        assert await uow.tiers.ladder() == WITH_GOLD
        await uow.tiers.replace(ONLY_BASE)  # nobody holds gold
    async with backend.new_uow() as uow:
        assert await uow.tiers.ladder() == ONLY_BASE


async def test_a_tier_held_by_members_cannot_be_removed(backend: Backend) -> None:
    member = await backend.member()
    async with backend.committed() as uow:
        await uow.tiers.replace(WITH_GOLD)
        await uow.members.change_tier(member.id, moved_to("gold"), TierEvent(T0, 1))
    async with backend.new_uow() as uow:
        with backend.refuses():
            await uow.tiers.replace(ONLY_BASE)


async def test_a_member_cannot_be_moved_to_a_tier_that_does_not_exist(backend: Backend) -> None:
    member = await backend.member()
    async with backend.new_uow() as uow:
        with backend.refuses():
            await uow.members.change_tier(member.id, moved_to("gold"), TierEvent(T0, 1))


async def test_a_policy_version_is_saved_once(backend: Backend) -> None:
    async with backend.committed() as uow:
        current = await uow.tiers.policy()
        proposed = TierPolicy(180, 14, WITH_GOLD, current.version + 1)
        await uow.tiers.save_policy(proposed, "admin:a", T0)
    async with backend.new_uow() as uow:
        assert await uow.tiers.policy() == proposed
        with pytest.raises(TierPolicyChanged):
            await uow.tiers.save_policy(proposed, "admin:b", T0)


async def test_adopting_a_policy_moves_up_who_qualifies_and_keeps_a_version_once(
    backend: Backend,
) -> None:
    store, member = await backend.store(), await backend.member()
    other = await backend.member("+8613900139000", card=2)
    async with backend.committed() as uow:
        await uow.sales.add(a_sale(store.id, member_id=member.id))  # pays 2200
    async with backend.committed() as uow:
        current = await uow.tiers.policy()
        gold = Tier("gold", "Gold", 1, 2000, Decimal("1.5"))
        proposed = TierPolicy(365, 30, TierLadder.of([BASE_TIER, gold]), current.version + 1)
        assert await uow.tiers.adopt_policy(proposed, "admin:a", T0 + timedelta(days=2)) == 1
    async with backend.new_uow() as uow:
        assert (await uow.members.standing(member.id)).tier_code == "gold"
        assert (await uow.members.standing(other.id)).tier_code == "member"
        history = await uow.members.tier_history(member.id)
        assert [(r.change.to_code, r.change.reason) for r in history] == [
            ("gold", TierChangeReason.POLICY_CHANGE)
        ]
        with pytest.raises(TierPolicyChanged):
            await uow.tiers.adopt_policy(proposed, "admin:b", T0)
