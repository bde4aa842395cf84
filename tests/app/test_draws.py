"""Prize draws through the use cases, on fakes: chances from sales, plays, refunds."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import pytest

from app.transactions import read, write
from app.use_cases.draws import (
    NewCampaign,
    Played,
    create_campaign,
    current_odds,
    play_chance,
    unplayed_chances,
)
from app.use_cases.sales import RefundSale
from domain.coupons import CouponStatus, Validity
from domain.draws import ChanceRule, ChanceStatus, DrawCampaign, Prize
from domain.errors import ChanceNotPlayable, Forbidden
from domain.sales import RefundLine
from tests.app.test_coupons import template
from tests.app.test_sales import STORE, enrol, record, refund, sale_cmd
from tests.support.fakes import FakeWorld, SequenceRandom


async def wheel(
    world: FakeWorld,
    prizes: tuple[Prize, ...],
    rule: ChanceRule = ChanceRule.ONE,
    threshold: int = 20_000,
) -> DrawCampaign:
    now = world.clock.now()
    cmd = NewCampaign(
        "Wheel", threshold, rule, 7, now - timedelta(days=1), now + timedelta(days=30), prizes
    )
    return await write(
        world.uow_factory,
        lambda uow: create_campaign(cmd, "admin", uow, clock=world.clock, ids=world.ids),
    )


async def play(world: FakeWorld, member: UUID, chance: UUID) -> Played:
    return await write(
        world.uow_factory,
        lambda uow: play_chance(
            member, chance, uow, clock=world.clock, random=world.random, ids=world.ids
        ),
    )


async def chances_of(world: FakeWorld, member: UUID) -> list[UUID]:
    found = await read(
        world.uow_factory,
        lambda uow: unplayed_chances(member, uow, clock=world.clock, after=None, limit=50),
    )
    return [c.id for c in found]


async def test_a_sale_reaching_the_threshold_earns_a_chance_on_its_payable(
    world: FakeWorld,
) -> None:
    a = await enrol(world)
    await wheel(world, (Prize("mug", "Mug", 1),))
    sale = await record(world, sale_cmd(a))  # 25,000 payable
    assert sale.pricing.draw_chances == 1
    assert len(await chances_of(world, a)) == 1


async def test_per_multiple_earns_a_chance_per_whole_threshold(world: FakeWorld) -> None:
    a = await enrol(world)
    await wheel(world, (Prize("mug", "Mug", 1),), ChanceRule.PER_MULTIPLE, threshold=10_000)
    assert (await record(world, sale_cmd(a))).pricing.draw_chances == 2


async def test_guests_earn_no_chances(world: FakeWorld) -> None:
    await wheel(world, (Prize("mug", "Mug", 1),))
    assert (await record(world, sale_cmd(None))).pricing.draw_chances == 0


async def test_playing_draws_by_weight_issues_the_prize_coupon_and_takes_stock(
    world: FakeWorld,
) -> None:
    a = await enrol(world)
    prize_template = await template(world, value=1_000)
    campaign = await wheel(
        world,
        (Prize("voucher", "Voucher", 3, prize_template.id, stock=1), Prize("thanks", "Thanks", 1)),
    )
    await record(world, sale_cmd(a))
    [chance] = await chances_of(world, a)
    world.random = SequenceRandom([0])  # ticket 0 of 4 falls on the voucher
    played = await play(world, a, chance)
    assert played.prize is not None
    assert played.prize.code == "voucher"
    assert played.coupon is not None
    assert played.coupon.member_id == a
    stock = world.db.draws.campaigns_by_id[campaign.id].prizes[0].stock
    assert stock == 0
    assert await chances_of(world, a) == []


async def test_playing_twice_answers_the_first_result(world: FakeWorld) -> None:
    a = await enrol(world)
    await wheel(world, (Prize("mug", "Mug", 1), Prize("bag", "Bag", 1)))
    await record(world, sale_cmd(a))
    [chance] = await chances_of(world, a)
    first = await play(world, a, chance)
    world.random = SequenceRandom([1, 0, 1, 0])
    again = await play(world, a, chance)
    assert again.prize == first.prize
    assert again.chance.played_at == first.chance.played_at


async def test_another_members_chance_cannot_be_played(world: FakeWorld) -> None:
    a, b = await enrol(world, "13800138001"), await enrol(world, "13800138002")
    await wheel(world, (Prize("mug", "Mug", 1),))
    await record(world, sale_cmd(a))
    [chance] = await chances_of(world, a)
    with pytest.raises(Forbidden):
        await play(world, b, chance)


async def test_an_expired_chance_cannot_be_played(world: FakeWorld) -> None:
    a = await enrol(world)
    await wheel(world, (Prize("mug", "Mug", 1),))
    await record(world, sale_cmd(a))
    [chance] = await chances_of(world, a)
    world.clock.advance(days=7)
    with pytest.raises(ChanceNotPlayable):
        await play(world, a, chance)


async def test_a_refund_below_the_threshold_revokes_the_unplayed_chance(world: FakeWorld) -> None:
    a = await enrol(world)
    await wheel(world, (Prize("mug", "Mug", 1),))
    sale = await record(world, sale_cmd(a))
    assert sale.sale_id is not None
    kept = await refund(world, RefundSale(STORE, sale.sale_id, "P-1", amount=5_000))
    assert kept.draw_chances_revoked == 0  # 20,000 still reaches the threshold
    gone = await refund(world, RefundSale(STORE, sale.sale_id, "P-2", amount=1))
    assert gone.draw_chances_revoked == 1
    assert await chances_of(world, a) == []


async def test_a_refund_voids_the_unused_prize_coupon_of_a_played_chance(world: FakeWorld) -> None:
    a = await enrol(world)
    prize_template = await template(world, value=1_000)
    await wheel(world, (Prize("voucher", "Voucher", 1, prize_template.id),))
    sale = await record(world, sale_cmd(a))
    assert sale.sale_id is not None
    [chance] = await chances_of(world, a)
    played = await play(world, a, chance)
    assert played.coupon is not None
    done = await refund(
        world, RefundSale(STORE, sale.sale_id, "F-1", lines=[RefundLine("SHEET-1", 2)])
    )
    assert done.draw_chances_revoked == 1
    assert world.db.coupons.coupons[played.coupon.id].status is CouponStatus.VOIDED
    assert world.db.draws.chances[chance].status is ChanceStatus.REVOKED
    # A revoked chance answers as not playable, not with its old result.
    with pytest.raises(ChanceNotPlayable):
        await play(world, a, chance)


async def test_a_prize_whose_template_stopped_issuing_drops_out_of_the_draw_and_the_odds(
    world: FakeWorld,
) -> None:
    a = await enrol(world)
    now = world.clock.now()
    closing = await template(
        world, validity=Validity(valid_from=now, valid_until=now + timedelta(days=1))
    )
    campaign = await wheel(
        world, (Prize("voucher", "Voucher", 99, closing.id), Prize("thanks", "Thanks", 1))
    )
    await record(world, sale_cmd(a))
    [chance] = await chances_of(world, a)
    world.clock.advance(days=2)
    _, published = await read(
        world.uow_factory, lambda uow: current_odds(campaign.id, uow, clock=world.clock)
    )
    assert {o.code: o.probability for o in published} == {"voucher": 0, "thanks": 1}
    played = await play(world, a, chance)
    assert played.prize is not None
    assert played.prize.code == "thanks"
