"""Tier use cases on fakes, with a fixed clock."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from uuid import UUID

import pytest

from app.transactions import read, write
from app.use_cases.sales import LineInput, RecordSale, record_sale
from app.use_cases.tiers import (
    PolicyUpdated,
    ProposedPolicy,
    SetTier,
    get_tier_policy,
    my_tier,
    set_member_tier,
    update_tier_policy,
)
from domain.errors import InvalidInput, MemberNotFound, TierPolicyChanged
from domain.sale_dating import SaleDating
from domain.tier_policy import TierChangeReason, TierPolicy
from domain.tiers import BASE_TIER, Tier, TierLadder
from tests.support.fakes import STORE, FakeWorld, enrol

ADMIN = "admin:alice"
SILVER = Tier("silver", "Silver", rank=1, threshold=10_000, earn_multiplier=Decimal("1.5"))
GOLD = Tier("gold", "Gold", rank=2, threshold=50_000, earn_multiplier=Decimal(2))


async def buy(world: FakeWorld, member_id: UUID, receipt: str, amount: int = 10_000) -> None:
    cmd = RecordSale(
        store_id=STORE,
        terminal_id=None,
        receipt_id=receipt,
        lines=[LineInput("A", 1, amount)],
        member_id=member_id,
    )
    await write(
        world.uow_factory,
        lambda uow: record_sale(cmd, uow, clock=world.clock, ids=world.ids, dating=SaleDating()),
    )


async def adopt(world: FakeWorld, *tiers: Tier, window: int = 365) -> PolicyUpdated:
    proposed = ProposedPolicy(window, 30, TierLadder.of([BASE_TIER, *tiers]))
    return await write(
        world.uow_factory,
        lambda uow: update_tier_policy(proposed, ADMIN, uow, clock=world.clock),
    )


async def test_a_policy_update_is_the_next_version_and_audited(world: FakeWorld) -> None:
    updated = await adopt(world, SILVER)

    assert updated.policy.version == 2
    policy = await read(world.uow_factory, get_tier_policy)
    assert policy == TierPolicy(365, 30, TierLadder.of([BASE_TIER, SILVER]), 2)
    (record,) = world.db.audit.records
    assert (record.actor, record.action, record.subject) == (ADMIN, "tiers.updated", "tiers")
    assert record.details["from"]["version"] == 1  # type: ignore[index]
    assert record.details["to"]["version"] == 2  # type: ignore[index]


async def test_a_version_someone_else_saved_first_is_a_conflict(
    world: FakeWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    stale = await world.db.tiers.policy()  # what this admin read: version 1
    await adopt(world, SILVER)  # another admin saves version 2 meanwhile

    async def outdated() -> TierPolicy:
        return stale

    monkeypatch.setattr(world.db.tiers, "policy", outdated)
    with pytest.raises(TierPolicyChanged):
        await adopt(world, GOLD)
    assert [p.version for p in world.db.tiers.policies] == [1, 2]


async def test_lowering_a_threshold_moves_qualifying_members_up_only(world: FakeWorld) -> None:
    await adopt(world, GOLD)
    spender = await enrol(world, "13800138001")
    idle = await enrol(world, "13800138002")
    await buy(world, spender, "R-1", 20_000)

    updated = await adopt(world, Tier("gold", "Gold", 2, 20_000, Decimal(2)))

    assert updated.members_moved == 1
    assert world.db.members.members[spender].tier_code == "gold"
    assert world.db.members.members[idle].tier_code == "member"
    (change,) = world.db.members.history[spender]
    assert change.change.reason is TierChangeReason.POLICY_CHANGE
    assert change.event.policy_version == updated.policy.version
    assert change.event.actor == ADMIN


async def test_removing_a_held_tier_moves_its_members_to_what_they_qualify_for(
    world: FakeWorld,
) -> None:
    await adopt(world, SILVER, GOLD)
    member = await enrol(world)
    await buy(world, member, "R-1", 20_000)
    assert world.db.members.members[member].tier_code == "silver"

    updated = await adopt(world, GOLD)

    assert updated.members_moved == 1
    assert world.db.members.members[member].tier_code == "member"


async def test_a_tier_set_by_hand_is_recorded_with_its_reason(world: FakeWorld) -> None:
    await adopt(world, SILVER, GOLD)
    member = await enrol(world)
    until = world.clock.now() + timedelta(days=90)
    cmd = SetTier(member, "gold", "goodwill", ADMIN, until)

    view = await write(world.uow_factory, lambda uow: set_member_tier(cmd, uow, clock=world.clock))

    assert (view.code, view.name) == ("gold", "Gold")
    standing = await world.db.members.standing(member)
    assert (standing.tier_code, standing.manual_until) == ("gold", until)
    (change,) = world.db.members.history[member]
    assert change.change.reason is TierChangeReason.MANUAL
    assert (change.event.actor, change.event.note) == (ADMIN, "goodwill")
    assert world.db.audit.records[-1].action == "member.tier_set"


async def test_a_tier_by_hand_needs_a_member_and_a_known_tier(world: FakeWorld) -> None:
    member = await enrol(world)

    cmd = SetTier(member, "platinum", "x", ADMIN)
    nobody = SetTier(UUID(int=99), "member", "x", ADMIN)
    with pytest.raises(InvalidInput) as error:
        await write(world.uow_factory, lambda uow: set_member_tier(cmd, uow, clock=world.clock))
    assert error.value.field == "tier_code"
    with pytest.raises(MemberNotFound):
        await write(world.uow_factory, lambda uow: set_member_tier(nobody, uow, clock=world.clock))


async def test_my_tier_counts_the_window_and_dates_the_drop_out(world: FakeWorld) -> None:
    await adopt(world, SILVER, GOLD, window=30)
    member = await enrol(world)
    start = world.clock.now()  # 2025-03-01 09:30 UTC
    await buy(world, member, "R-OLD", 5_000)
    world.clock.set(start + timedelta(days=20))
    await buy(world, member, "R-NEW", 7_000)

    mine = await read(world.uow_factory, lambda uow: my_tier(member, uow, clock=world.clock))

    assert (mine.current.code, mine.next and mine.next.code) == ("silver", "gold")
    assert mine.qualifying_value == 12_000
    assert mine.remaining == 38_000
    assert mine.drops_out_on == date(2025, 3, 31)  # 17:30 in Shanghai on the 31st

    world.clock.set(start + timedelta(days=31))
    later = await read(world.uow_factory, lambda uow: my_tier(member, uow, clock=world.clock))
    assert later.qualifying_value == 7_000
    assert later.current.code == "silver"  # only a review downgrades
    assert later.drops_out_on == date(2025, 4, 20)
