"""Review rewards and birthday coupons through the use cases, on fakes."""

from __future__ import annotations

from datetime import date
from uuid import UUID

import pytest

from app.transactions import write
from app.use_cases.birthdays import issue_birthday_coupons, set_birthday_reward
from app.use_cases.coupon_issuing import Issuer
from app.use_cases.review_rewards import (
    NotRewarded,
    ReviewOutcome,
    ReviewPosted,
    reward_review,
    set_review_reward,
)
from app.use_cases.sales import RefundSale
from domain.coupon_repositories import BirthdayReward
from domain.errors import CouponTemplateNotFound, InvalidInput, OrderNotFound
from tests.app.test_coupons import template
from tests.app.test_sales import STORE, enrol, record, refund, sale_cmd
from tests.support.fakes import FakeWorld


async def enable_review_reward(world: FakeWorld, min_rating: int = 4) -> UUID:
    t = await template(world, value=1_000)
    await write(
        world.uow_factory, lambda uow: set_review_reward(True, min_rating, t.id, "admin", uow)
    )
    return t.id


async def review(world: FakeWorld, member: UUID, order: str, rating: int = 5) -> ReviewOutcome:
    event = ReviewPosted("rev-1", order, rating, member)
    return await write(
        world.uow_factory,
        lambda uow: reward_review(
            event, uow, clock=world.clock, random=world.random, ids=world.ids
        ),
    )


async def test_a_good_review_of_ones_own_order_earns_one_coupon(world: FakeWorld) -> None:
    a = await enrol(world)
    await enable_review_reward(world)
    await record(world, sale_cmd(a, "ORDER-1", channel="web"))
    first = await review(world, a, "ORDER-1")
    again = await review(world, a, "ORDER-1")
    assert first.coupon is not None
    assert again.coupon == first.coupon
    assert again.already_rewarded
    assert len(world.db.coupons.coupons) == 1


async def test_a_review_below_the_minimum_rating_earns_nothing(world: FakeWorld) -> None:
    a = await enrol(world)
    await enable_review_reward(world, min_rating=5)
    await record(world, sale_cmd(a, "ORDER-1", channel="web"))
    outcome = await review(world, a, "ORDER-1", rating=4)
    assert (outcome.coupon, outcome.not_rewarded) == (None, NotRewarded.RATING_TOO_LOW)


async def test_a_fully_refunded_order_earns_nothing(world: FakeWorld) -> None:
    a = await enrol(world)
    await enable_review_reward(world)
    sale = await record(world, sale_cmd(a, "ORDER-1", channel="web"))
    assert sale.sale_id is not None
    await refund(world, RefundSale(STORE, sale.sale_id, "F-1", amount=sale.pricing.payable))
    outcome = await review(world, a, "ORDER-1")
    assert outcome.not_rewarded is NotRewarded.FULLY_REFUNDED


async def test_a_review_of_someone_elses_order_is_refused(world: FakeWorld) -> None:
    a, b = await enrol(world, "13800138001"), await enrol(world, "13800138002")
    await enable_review_reward(world)
    await record(world, sale_cmd(a, "ORDER-1", channel="web"))
    with pytest.raises(OrderNotFound):
        await review(world, b, "ORDER-1")


async def test_nothing_is_given_while_the_reward_is_switched_off(world: FakeWorld) -> None:
    a = await enrol(world)
    await record(world, sale_cmd(a, "ORDER-1", channel="web"))
    assert (await review(world, a, "ORDER-1")).not_rewarded is NotRewarded.DISABLED


async def test_the_review_reward_needs_a_known_template_and_a_rating_in_range(
    world: FakeWorld,
) -> None:
    with pytest.raises(InvalidInput):
        await write(world.uow_factory, lambda uow: set_review_reward(True, 4, None, "a", uow))
    with pytest.raises(InvalidInput):
        await write(world.uow_factory, lambda uow: set_review_reward(False, 6, None, "a", uow))
    with pytest.raises(CouponTemplateNotFound):
        await write(
            world.uow_factory, lambda uow: set_review_reward(True, 4, UUID(int=1), "a", uow)
        )


async def test_birthday_coupons_go_out_once_per_member_per_birthday_year(world: FakeWorld) -> None:
    a, b = await enrol(world, "13800138001"), await enrol(world, "13800138002")
    t = await template(world)
    settings = await write(
        world.uow_factory, lambda uow: set_birthday_reward(True, t.id, 7, "admin", uow)
    )
    issuer = Issuer(world.clock.now(), world.random, world.ids)
    due = [(a, date(2026, 1, 2)), (b, date(2025, 12, 30))]

    async def run(settings: BirthdayReward = settings) -> tuple[int, int]:
        batch = await write(
            world.uow_factory, lambda uow: issue_birthday_coupons(due, settings, uow, issuer)
        )
        return batch.issued, batch.skipped

    assert await run() == (2, 0)
    assert await run() == (0, 2)  # the job ran again: nobody gets a second one
    refs = sorted(origin.ref or "" for origin in world.db.coupons.origins.values())
    assert refs == ["birthday:2025", "birthday:2026"]
