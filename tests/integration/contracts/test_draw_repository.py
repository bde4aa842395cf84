"""The draw repository's contract: campaigns, their stock, members' chances."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from uuid import UUID, uuid4

from domain.draws import Chance, ChanceRule, ChanceStatus, DrawCampaign, Prize
from tests.integration.contracts.conftest import Backend
from tests.integration.factories import T0, a_sale

CAMPAIGN = DrawCampaign(
    id=UUID(int=70),
    name="Spring draw",
    threshold=1000,
    chances=ChanceRule.ONE,
    chance_valid_days=30,
    starts_at=T0,
    ends_at=T0 + timedelta(days=30),
    prizes=(Prize("mug", "A mug", 1, stock=1), Prize("thanks", "Thank you", 9)),
    created_at=T0,
)


def a_chance(n: int, member_id: UUID, sale_id: UUID, *, days: int = 30) -> Chance:
    return Chance(UUID(int=n), CAMPAIGN.id, member_id, sale_id, T0, T0 + timedelta(days=days))


async def test_a_campaign_round_trips_and_its_limited_prize_runs_out(backend: Backend) -> None:
    async with backend.committed() as uow:
        await uow.draws.add_campaign(CAMPAIGN)
    async with backend.committed() as uow:
        assert await uow.draws.get_campaign(CAMPAIGN.id) == CAMPAIGN
        assert [c.id for c in await uow.draws.running_at(T0 + timedelta(days=1))] == [CAMPAIGN.id]
        assert await uow.draws.running_at(T0 + timedelta(days=31)) == []
        assert await uow.draws.take_stock(CAMPAIGN.id, "mug") is True
        assert await uow.draws.take_stock(CAMPAIGN.id, "mug") is False
        assert await uow.draws.take_stock(CAMPAIGN.id, "thanks") is False  # unlimited: no stock
    async with backend.new_uow() as uow:
        locked = await uow.draws.get_campaign_for_update(CAMPAIGN.id)
        assert locked is not None
        assert [p.stock for p in locked.prizes] == [0, None]


async def test_chances_are_listed_unplayed_soonest_to_expire_first(backend: Backend) -> None:
    store, member = await backend.store(), await backend.member()
    sale = a_sale(store.id, member_id=member.id)
    async with backend.committed() as uow:
        await uow.draws.add_campaign(CAMPAIGN)
        await uow.sales.add(sale)
        await uow.draws.add_chances(
            [a_chance(1, member.id, sale.id, days=20), a_chance(2, member.id, sale.id, days=10)]
        )
    async with backend.committed() as uow:
        played = await uow.draws.get_chance_for_update(UUID(int=2))
        assert played is not None
        await uow.draws.save_chance(
            replace(played, status=ChanceStatus.PLAYED, played_at=T0, prize_code="thanks")
        )
    async with backend.new_uow() as uow:
        unplayed = await uow.draws.unplayed(member.id, T0, after=None, limit=5)
        assert [c.id.int for c in unplayed] == [1]
        of_sale = await uow.draws.chances_of_sale_for_update(sale.id)
        assert [(c.id.int, c.status) for c in of_sale] == [
            (1, ChanceStatus.UNPLAYED),
            (2, ChanceStatus.PLAYED),
        ]


async def test_a_chance_of_a_sale_that_does_not_exist_is_refused(backend: Backend) -> None:
    member = await backend.member()
    async with backend.committed() as uow:
        await uow.draws.add_campaign(CAMPAIGN)
    async with backend.new_uow() as uow:
        with backend.refuses():
            await uow.draws.add_chances([a_chance(1, member.id, uuid4())])


async def test_chance_counts_are_by_status_and_by_campaign(backend: Backend) -> None:
    store, member = await backend.store(), await backend.member()
    sale = a_sale(store.id, member_id=member.id)
    other = replace(CAMPAIGN, id=UUID(int=71), name="Other draw")
    async with backend.committed() as uow:
        await uow.draws.add_campaign(CAMPAIGN)
        await uow.draws.add_campaign(other)
        await uow.sales.add(sale)
        await uow.draws.add_chances(
            [a_chance(n, member.id, sale.id) for n in (1, 2, 3)]
            + [replace(a_chance(4, member.id, sale.id), campaign_id=other.id)]
        )
        assert await uow.draws.chance_counts(CAMPAIGN.id) == {ChanceStatus.UNPLAYED: 3}
    async with backend.committed() as uow:
        for n, status in ((1, ChanceStatus.PLAYED), (2, ChanceStatus.REVOKED)):
            chance = await uow.draws.get_chance_for_update(UUID(int=n))
            assert chance is not None
            played_at = T0 if status is ChanceStatus.PLAYED else None
            await uow.draws.save_chance(replace(chance, status=status, played_at=played_at))
    async with backend.new_uow() as uow:
        assert await uow.draws.chance_counts(CAMPAIGN.id) == {
            ChanceStatus.UNPLAYED: 1,
            ChanceStatus.PLAYED: 1,
            ChanceStatus.REVOKED: 1,
        }
        assert await uow.draws.chance_counts(other.id) == {ChanceStatus.UNPLAYED: 1}
        assert await uow.draws.chance_counts(uuid4()) == {}
