"""Collecting an item reward at a till, through the use cases on fakes: looked up by the code
the member shows, handed over once for exactly its cash price, audited and announced."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest

from app.transactions import read, write
from app.use_cases.reward_collection import (
    CollectReward,
    FindRedemptionByCode,
    collect_reward,
    find_redemption_by_code,
)
from domain.coupon_codes import display
from domain.errors import (
    CashPriceMismatch,
    InvalidInput,
    RewardRedemptionCancelled,
    RewardRedemptionNotFound,
    RewardRedemptionUsed,
)
from domain.outbound_webhooks import EventType
from domain.reward_catalogue import (
    CatalogueRewardKind,
    RedemptionStatus,
    RewardOffer,
    RewardRedemption,
)
from tests.app.test_coupons import template
from tests.app.test_reward_catalogue import cancel, define, item, redeem
from tests.app.test_sales import fund
from tests.support.fakes import OTHER_STORE, STORE, TERMINAL, FakeWorld, enrol

TILL = f"pos:{TERMINAL}"


async def redeemed_item(world: FakeWorld, **changes: object) -> tuple[UUID, str]:
    member = await enrol(world)
    await fund(world, member, 500)
    reward = await define(world, item(**changes))
    redemption = (await redeem(world, member, reward.id)).redemption
    assert redemption.fulfilment_code is not None
    return redemption.id, redemption.fulfilment_code


async def collect(
    world: FakeWorld, code: str, cash_paid: int, *, store: UUID = STORE
) -> RedemptionStatus:
    collected = await write(
        world.uow_factory,
        lambda uow: collect_reward(
            CollectReward(code, cash_paid, store, TERMINAL if store == STORE else None, TILL),
            uow,
            clock=world.clock,
        ),
    )
    return collected.status


async def test_a_till_finds_the_redemption_by_the_code_as_shown_and_collects_it_for_its_price(
    world: FakeWorld,
) -> None:
    redemption_id, code = await redeemed_item(world, cash_price=990)
    shown = display(code).lower()  # typed in any case, with the hyphens

    found = await read(
        world.uow_factory, lambda uow: find_redemption_by_code(FindRedemptionByCode(shown), uow)
    )
    status = await collect(world, shown, 990)

    assert (found.id, found.status, found.cash_price) == (
        redemption_id,
        RedemptionStatus.ISSUED,
        990,
    )
    assert status is RedemptionStatus.FULFILLED
    stored = world.db.catalogue.redemptions[redemption_id]
    assert (stored.cash_paid, stored.fulfilled_store_id, stored.fulfilled_terminal_id) == (
        990,
        STORE,
        TERMINAL,
    )
    assert (stored.fulfilled_at, stored.fulfilled_by) == (world.clock.now(), TILL)


async def test_a_collection_is_audited_and_announced_without_the_code(world: FakeWorld) -> None:
    redemption_id, code = await redeemed_item(world, cash_price=0)
    await collect(world, code, 0)

    audit = world.db.audit.records[-1]
    assert (audit.action, audit.subject) == (
        "reward_redemption.collected",
        f"reward_redemption:{redemption_id}",
    )
    assert audit.details["cash_paid"] == 0
    event = world.db.integration_events.events[-1]
    assert event.type is EventType.REWARD_COLLECTED
    assert event.data["redemption_id"] == str(redemption_id)
    assert event.data["store_id"] == str(STORE)
    assert code not in str(event.data)


async def test_cash_other_than_the_price_is_refused_naming_the_price_and_nothing_changes(
    world: FakeWorld,
) -> None:
    redemption_id, code = await redeemed_item(world, cash_price=990)
    for wrong in (0, 989, 991):
        with pytest.raises(CashPriceMismatch) as refused:
            await collect(world, code, wrong)
        assert refused.value.extras() == {"cash_price": 990}
    assert world.db.catalogue.redemptions[redemption_id].status is RedemptionStatus.ISSUED
    assert world.db.catalogue.redemptions[redemption_id].cash_paid is None


async def test_an_item_is_collected_once_at_any_store_and_then_cannot_be_cancelled(
    world: FakeWorld,
) -> None:
    redemption_id, code = await redeemed_item(world, cash_price=0)
    await collect(world, code, 0, store=OTHER_STORE)
    with pytest.raises(RewardRedemptionUsed):
        await collect(world, code, 0)
    with pytest.raises(RewardRedemptionUsed):
        await cancel(world, redemption_id)
    assert world.db.catalogue.redemptions[redemption_id].fulfilled_store_id == OTHER_STORE


async def test_a_cancelled_redemption_cannot_be_collected(world: FakeWorld) -> None:
    redemption_id, code = await redeemed_item(world, cash_price=0)
    await cancel(world, redemption_id)
    with pytest.raises(RewardRedemptionCancelled):
        await collect(world, code, 0)


async def test_an_unknown_code_or_a_coupon_rewards_redemption_is_not_found(
    world: FakeWorld,
) -> None:
    await redeemed_item(world)
    for code in ("", "no-such-code", "ABCD-EFGH-JKLM"):
        with pytest.raises(RewardRedemptionNotFound):
            await collect(world, code, 990)


def test_the_domain_refuses_to_collect_a_coupon_reward() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    coupon = RewardRedemption(
        uuid4(), uuid4(), 1, uuid4(), CatalogueRewardKind.COUPON, "20 off", 200, 0, now
    )
    with pytest.raises(InvalidInput):
        coupon.collect(cash_paid=0, now=now, by=TILL, store_id=STORE, terminal_id=None)


async def test_a_coupon_reward_has_no_code_to_collect(world: FakeWorld) -> None:
    member = await enrol(world)
    await fund(world, member, 500)
    voucher = await template(world)
    reward = await define(
        world,
        RewardOffer(
            name="20 off",
            kind=CatalogueRewardKind.COUPON,
            points_cost=200,
            coupon_template_id=voucher.id,
        ),
    )
    redeemed = await redeem(world, member, reward.id)
    assert redeemed.redemption.fulfilment_code is None
    assert redeemed.coupon is not None
    with pytest.raises(RewardRedemptionNotFound):
        await collect(world, redeemed.coupon.code, 0)
