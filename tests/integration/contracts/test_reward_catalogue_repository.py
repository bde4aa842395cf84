"""The reward catalogue's and the guest claims' repositories' contract."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from uuid import UUID, uuid4

from domain.guest_claims import GuestSaleClaim
from domain.reward_catalogue import (
    CatalogueReward,
    CatalogueRewardKind,
    RedemptionStatus,
    RewardOffer,
    RewardRedemption,
)
from tests.integration.contracts.conftest import Backend
from tests.integration.factories import T0, a_sale


def a_reward(n: int, *, stock: int | None = 5) -> CatalogueReward:
    offer = RewardOffer(
        name=f"Tote bag {n}",
        kind=CatalogueRewardKind.ITEM,
        points_cost=100 * n,
        cash_price=50,
        stock=stock,
        per_member_limit=2,
        available_from=T0,
        available_until=T0 + timedelta(days=30),
        tiers=frozenset({"gold", "silver"}),
        description="canvas",
    )
    return CatalogueReward(id=UUID(int=n), offer=offer, created_at=T0, updated_at=T0)


def a_redemption(reward: CatalogueReward, member_id: UUID, code: str) -> RewardRedemption:
    return RewardRedemption(
        id=uuid4(),
        reward_id=reward.id,
        reward_version=reward.version,
        member_id=member_id,
        kind=reward.offer.kind,
        name=reward.offer.name,
        points=reward.offer.points_cost,
        cash_price=reward.offer.cash_price,
        redeemed_at=T0,
        fulfilment_code=code,
    )


async def test_rewards_round_trip_and_list_by_id_with_or_without_the_retired(
    backend: Backend,
) -> None:
    async with backend.committed() as uow:
        for n in (1, 2, 3):
            await uow.catalogue.add(a_reward(n))
    async with backend.committed() as uow:
        second = await uow.catalogue.get_for_update(UUID(int=2))
        assert second is not None
        second.retire(now=T0 + timedelta(days=1))
        second.redeemed = 3
        await uow.catalogue.save(second)
    async with backend.new_uow() as uow:
        assert await uow.catalogue.get(UUID(int=2)) == second
        assert await uow.catalogue.get(UUID(int=1)) == a_reward(1)
        every = await uow.catalogue.list(after=None, limit=10)
        assert [r.id.int for r in every] == [1, 2, 3]
        assert [r.id.int for r in await uow.catalogue.list(after=UUID(int=1), limit=1)] == [2]
        live = await uow.catalogue.list(after=None, limit=10, include_retired=False)
        assert [r.id.int for r in live] == [1, 3]


async def test_a_reward_cannot_be_redeemed_beyond_its_stock(backend: Backend) -> None:
    async with backend.committed() as uow:
        await uow.catalogue.add(a_reward(1, stock=1))
    async with backend.new_uow() as uow:
        reward = await uow.catalogue.get_for_update(UUID(int=1))
        assert reward is not None
        reward.redeemed = 2
        with backend.refuses():
            await uow.catalogue.save(reward)


async def test_holdings_count_the_redemptions_not_cancelled_and_codes_are_unique(
    backend: Backend,
) -> None:
    member = await backend.member()
    reward = a_reward(1)
    async with backend.committed() as uow:
        await uow.catalogue.add(reward)
        first = a_redemption(reward, member.id, "AAAAAAAAAAAAAAA")
        second = a_redemption(reward, member.id, "BBBBBBBBBBBBBBB")
        assert await uow.catalogue.add_redemption(first)
        assert await uow.catalogue.add_redemption(second)
        assert not await uow.catalogue.add_redemption(
            a_redemption(reward, member.id, "AAAAAAAAAAAAAAA")
        )
    async with backend.committed() as uow:
        cancelled = await uow.catalogue.get_redemption_for_update(first.id)
        assert cancelled is not None
        cancelled.status = RedemptionStatus.CANCELLED
        cancelled.cancelled_at = T0 + timedelta(hours=1)
        cancelled.cancelled_by = "admin:ops"
        cancelled.cancel_reason = "changed mind"
        await uow.catalogue.save_redemption(cancelled)
    async with backend.new_uow() as uow:
        assert await uow.catalogue.holdings(member.id, [reward.id, uuid4()]) == {reward.id: 1}
        assert await uow.catalogue.get_redemption(first.id) == cancelled
        mine = await uow.catalogue.redemptions_of(member.id, after=None, limit=5)
        assert {r.id for r in mine} == {first.id, second.id}
        newest, *_ = await uow.catalogue.redemptions_of(member.id, after=None, limit=1)
        rest = await uow.catalogue.redemptions_of(member.id, after=newest.id, limit=5)
        assert [r.id for r in rest] == [r.id for r in mine if r.id != newest.id]


async def test_a_redemption_of_a_member_who_does_not_exist_is_refused(backend: Backend) -> None:
    reward = a_reward(1)
    async with backend.committed() as uow:
        await uow.catalogue.add(reward)
    async with backend.new_uow() as uow:
        with backend.refuses():
            await uow.catalogue.add_redemption(a_redemption(reward, uuid4(), "CCCCCCCCCCCCCCC"))


async def test_a_claim_code_names_one_guest_sale_and_a_claim_makes_the_sale_the_members(
    backend: Backend,
) -> None:
    store = await backend.store()
    member = await backend.member()
    sale = a_sale(store.id)
    other = a_sale(store.id, receipt_id="R-0002")
    async with backend.committed() as uow:
        assert await uow.sales.add(sale)
        assert await uow.sales.add(other)
        assert await uow.guest_claims.add(GuestSaleClaim(sale.id, "DDDDDDDDDDDDDDD"))
        assert not await uow.guest_claims.add(GuestSaleClaim(other.id, "DDDDDDDDDDDDDDD"))
    async with backend.committed() as uow:
        assert await uow.guest_claims.sale_for_code("DDDDDDDDDDDDDDD") == sale.id
        assert await uow.guest_claims.sale_for_code("EEEEEEEEEEEEEEE") is None
        claimed = replace(
            sale, member_id=member.id, pricing=replace(sale.pricing, points_earned=24)
        )
        claim = GuestSaleClaim(
            sale.id, "DDDDDDDDDDDDDDD", member.id, T0 + timedelta(days=2), "app", None
        )
        await uow.guest_claims.attach(claimed, claim)
    async with backend.new_uow() as uow:
        stored = await uow.sales.get(sale.id)
        assert stored is not None
        assert (stored.member_id, stored.pricing.points_earned) == (member.id, 24)
        assert await uow.guest_claims.of_sale(sale.id) == claim
        assert await uow.guest_claims.of_sale(other.id) is None


async def test_a_redemption_is_found_by_its_code_and_a_collection_round_trips(
    backend: Backend,
) -> None:
    store = await backend.store()
    member = await backend.member()
    reward = a_reward(1)
    redemption = a_redemption(reward, member.id, "FFFFFFFFFFFFFFF")
    async with backend.committed() as uow:
        await uow.catalogue.add(reward)
        assert await uow.catalogue.add_redemption(redemption)
    async with backend.committed() as uow:
        found = await uow.catalogue.redemption_by_code("FFFFFFFFFFFFFFF", for_update=True)
        assert found == redemption
        assert await uow.catalogue.redemption_by_code("GGGGGGGGGGGGGGG") is None
        found.collect(
            cash_paid=50,
            now=T0 + timedelta(hours=2),
            by="pos:t",
            store_id=store.id,
            terminal_id=None,
        )
        await uow.catalogue.save_redemption(found)
    async with backend.new_uow() as uow:
        assert await uow.catalogue.redemption_by_code("FFFFFFFFFFFFFFF") == found
        stored = await uow.catalogue.get_redemption(redemption.id)
        assert stored is not None
        assert (stored.status, stored.cash_paid, stored.fulfilled_store_id) == (
            RedemptionStatus.FULFILLED,
            50,
            store.id,
        )


async def test_cash_paid_other_than_the_price_is_refused(backend: Backend) -> None:
    member = await backend.member()
    reward = a_reward(1)
    redemption = a_redemption(reward, member.id, "HHHHHHHHHHHHHHH")
    async with backend.committed() as uow:
        await uow.catalogue.add(reward)
        assert await uow.catalogue.add_redemption(redemption)
    async with backend.new_uow() as uow:
        redemption.status = RedemptionStatus.FULFILLED
        redemption.fulfilled_at = T0
        redemption.cash_paid = 49  # the price is 50
        with backend.refuses():
            await uow.catalogue.save_redemption(redemption)


async def test_every_members_redemptions_list_newest_first_by_status(backend: Backend) -> None:
    first = await backend.member()
    second = await backend.member("+8613800138001", card=2)
    reward = a_reward(1)
    made = []
    async with backend.committed() as uow:
        await uow.catalogue.add(reward)
        for n, (member, code) in enumerate(
            [(first, "JJJJJJJJJJJJJJJ"), (second, "KKKKKKKKKKKKKKK"), (first, "MMMMMMMMMMMMMMM")]
        ):
            redemption = replace(
                a_redemption(reward, member.id, code), redeemed_at=T0 + timedelta(hours=n)
            )
            assert await uow.catalogue.add_redemption(redemption)
            made.append(redemption)
    async with backend.committed() as uow:
        cancelled = made[1]
        cancelled.status = RedemptionStatus.CANCELLED
        cancelled.cancelled_at = T0 + timedelta(days=1)
        cancelled.cancelled_by = "admin:ops"
        cancelled.cancel_reason = "asked"
        await uow.catalogue.save_redemption(cancelled)
    async with backend.new_uow() as uow:
        every = await uow.catalogue.recent_redemptions(after=None, limit=10)
        assert [r.id for r in every] == [made[2].id, made[1].id, made[0].id]
        page = await uow.catalogue.recent_redemptions(after=made[2].id, limit=1)
        assert [r.id for r in page] == [made[1].id]
        issued = await uow.catalogue.recent_redemptions(
            after=None, limit=10, status=RedemptionStatus.ISSUED
        )
        assert [r.id for r in issued] == [made[2].id, made[0].id]
