"""The reward catalogue through the use cases, on fakes: defining rewards, what a member sees,
redeeming (points through the ledger, stock, coupon or code) and cancelling."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from app.transactions import read, write
from app.use_cases.reward_catalogue import (
    Cancelled,
    CancelRedemption,
    FulfilRedemption,
    Redeemed,
    RedeemReward,
    RetireReward,
    cancel_redemption,
    create_reward,
    fulfil_redemption,
    member_catalogue,
    redeem_reward,
    retire_reward,
    revise_reward,
)
from domain.coupons import CouponSource, CouponStatus
from domain.errors import (
    CouponTemplateNotFound,
    InsufficientPoints,
    InvalidInput,
    RewardNotRedeemable,
    RewardRedemptionCancelled,
    RewardRedemptionUsed,
)
from domain.notifications import NotificationKind
from domain.outbound_webhooks import EventType
from domain.points import EntryType
from domain.program import ExpiryKind, PointsExpiryRule
from domain.reward_catalogue import (
    CatalogueReward,
    CatalogueRewardKind,
    RedemptionStatus,
    RewardOffer,
    Unavailable,
)
from tests.app.test_coupons import template
from tests.app.test_sales import fund, make_gold, set_program
from tests.support.fakes import FakeWorld, enrol

ADMIN = "admin:test"
NEVER = datetime.max.replace(tzinfo=UTC)


def item(**changes: object) -> RewardOffer:
    offer = RewardOffer(
        name="Tote bag", kind=CatalogueRewardKind.ITEM, points_cost=300, cash_price=990, stock=5
    )
    return replace(offer, **changes)  # type: ignore[arg-type]


async def define(world: FakeWorld, offer: RewardOffer) -> CatalogueReward:
    return await write(
        world.uow_factory,
        lambda uow: create_reward(offer, ADMIN, uow, clock=world.clock, ids=world.ids),
    )


async def redeem(world: FakeWorld, member: UUID, reward: UUID) -> Redeemed:
    return await write(
        world.uow_factory,
        lambda uow: redeem_reward(
            RedeemReward(member, reward), uow, clock=world.clock, ids=world.ids, random=world.random
        ),
    )


async def cancel(world: FakeWorld, redemption: UUID) -> Cancelled:
    return await write(
        world.uow_factory,
        lambda uow: cancel_redemption(
            CancelRedemption(redemption, ADMIN, "customer changed their mind"),
            uow,
            clock=world.clock,
        ),
    )


def available(world: FakeWorld, member: UUID) -> int:
    return world.db.points.accounts[member].available


# Defining ------------------------------------------------------------------------------------


async def test_creating_revising_and_retiring_a_reward_is_audited(world: FakeWorld) -> None:
    reward = await define(world, item())
    revised = await write(
        world.uow_factory,
        lambda uow: revise_reward(reward.id, item(points_cost=250), ADMIN, uow, clock=world.clock),
    )
    await write(
        world.uow_factory,
        lambda uow: retire_reward(
            RetireReward(reward.id, ADMIN, "season over"), uow, clock=world.clock
        ),
    )
    assert revised.version == 2
    assert revised.offer.points_cost == 250
    actions = [r.action for r in world.db.audit.records]
    assert actions == [
        "catalogue_reward.created",
        "catalogue_reward.revised",
        "catalogue_reward.retired",
    ]


async def test_a_coupon_reward_needs_a_template_that_exists(world: FakeWorld) -> None:
    with pytest.raises(InvalidInput) as missing:
        RewardOffer(name="Voucher", kind=CatalogueRewardKind.COUPON, points_cost=100)
    assert missing.value.field == "coupon_template_id"
    with pytest.raises(CouponTemplateNotFound):
        await define(
            world,
            RewardOffer(
                name="Voucher",
                kind=CatalogueRewardKind.COUPON,
                points_cost=100,
                coupon_template_id=UUID(int=404),
            ),
        )


async def test_the_stock_cannot_be_revised_below_what_is_redeemed(world: FakeWorld) -> None:
    member = await enrol(world)
    await fund(world, member, 1_000)
    reward = await define(world, item(stock=3))
    await redeem(world, member, reward.id)
    await redeem(world, member, reward.id)
    with pytest.raises(InvalidInput) as refused:
        await write(
            world.uow_factory,
            lambda uow: revise_reward(reward.id, item(stock=1), ADMIN, uow, clock=world.clock),
        )
    assert refused.value.field == "stock"


# What the member sees -------------------------------------------------------------------------


async def test_the_members_catalogue_marks_what_they_can_afford_now_and_why_not(
    world: FakeWorld,
) -> None:
    member = await enrol(world)
    await fund(world, member, 400)
    cheap = await define(world, item(name="Mug", points_cost=400))
    dear = await define(world, item(name="Lamp", points_cost=401))
    gold_only = await define(world, item(name="Lounge", points_cost=10, tiers=frozenset({"gold"})))
    gone = await define(world, item(name="Poster", points_cost=10, stock=0))
    await define(world, item(name="Later", available_from=world.clock.now() + timedelta(days=1)))

    offers, balances = await read(
        world.uow_factory,
        lambda uow: member_catalogue(member, uow, clock=world.clock, after=None, limit=50),
    )

    marks = {o.reward.id: o.unavailable for o in offers}
    assert marks == {
        cheap.id: None,
        dear.id: Unavailable.INSUFFICIENT_POINTS,
        gold_only.id: Unavailable.TIER_NOT_ELIGIBLE,
        gone.id: Unavailable.OUT_OF_STOCK,
    }
    assert balances.available == 400


# Redeeming ------------------------------------------------------------------------------------


async def test_redeeming_an_item_takes_the_soonest_expiring_points_one_of_stock_and_gives_a_code(
    world: FakeWorld,
) -> None:
    set_program(world, points_expiry=PointsExpiryRule(ExpiryKind.DAYS, 30))
    member = await enrol(world)
    await fund(world, member, 200, receipt="R-OLD")
    world.clock.advance(days=10)
    await fund(world, member, 500, receipt="R-NEW")
    reward = await define(world, item(points_cost=300))

    redeemed = await redeem(world, member, reward.id)

    assert redeemed.redemption.fulfilment_code is not None
    assert redeemed.redemption.cash_price == 990
    assert redeemed.points.available == 400
    assert world.db.catalogue.rewards[reward.id].redeemed == 1
    entry = world.db.points.ledger[-1]
    assert (entry.type, entry.points, entry.posting_key) == (
        EntryType.REDEEM,
        -300,
        f"reward:{redeemed.redemption.id}:redeem",
    )
    # The older lot is emptied first, the newer one gives the other 100.
    remaining = sorted((s.lot.expires_at, s.lot.remaining) for s in world.db.points.lots.values())
    assert [r for _, r in remaining] == [0, 400]


async def test_a_redemption_is_told_to_the_member_and_announced_to_integrators(
    world: FakeWorld,
) -> None:
    member = await enrol(world)
    await fund(world, member, 500)
    reward = await define(world, item(points_cost=300))

    redeemed = await redeem(world, member, reward.id)

    receipts = [
        n for n in world.db.outbox.notifications if n.kind is NotificationKind.REWARD_REDEEMED
    ]
    assert [(n.payload["title"], n.payload["points"]) for n in receipts] == [
        (redeemed.redemption.name, 300)
    ]
    announced = [
        e for e in world.db.integration_events.events if e.type is EventType.REWARD_REDEEMED
    ]
    assert [e.data for e in announced] == [
        {
            "member_id": str(member),
            "redemption_id": str(redeemed.redemption.id),
            "reward_id": str(reward.id),
            "points": 300,
            "cash_price": redeemed.redemption.cash_price,
        }
    ]
    # No fulfilment code leaves the service: it is what the member presents.
    assert redeemed.redemption.fulfilment_code not in str(announced[0].data)


async def test_redeeming_a_coupon_reward_issues_the_coupon_from_its_template(
    world: FakeWorld,
) -> None:
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

    assert redeemed.coupon is not None
    stored = world.db.coupons.coupons[redeemed.coupon.id]
    assert (stored.member_id, stored.template_id, stored.source) == (
        member,
        voucher.id,
        CouponSource.REWARD,
    )
    assert redeemed.redemption.coupon_id == stored.id
    assert available(world, member) == 300


@pytest.mark.parametrize(
    ("offer", "reason"),
    [
        (item(stock=0), "out_of_stock"),
        (item(tiers=frozenset({"gold"})), "tier_not_eligible"),
        (item(per_member_limit=1), "member_limit_reached"),
    ],
)
async def test_a_refused_redemption_takes_no_points_and_no_stock(
    world: FakeWorld, offer: RewardOffer, reason: str
) -> None:
    member = await enrol(world)
    await fund(world, member, 1_000)
    reward = await define(world, offer)
    if reason == "member_limit_reached":
        await redeem(world, member, reward.id)
    before = (available(world, member), world.db.catalogue.rewards[reward.id].redeemed)

    with pytest.raises(RewardNotRedeemable) as refused:
        await redeem(world, member, reward.id)

    assert refused.value.reason == reason
    assert (available(world, member), world.db.catalogue.rewards[reward.id].redeemed) == before


async def test_a_member_without_enough_points_is_refused_with_insufficient_points(
    world: FakeWorld,
) -> None:
    member = await enrol(world)
    await fund(world, member, 299)
    reward = await define(world, item(points_cost=300))
    with pytest.raises(InsufficientPoints):
        await redeem(world, member, reward.id)
    assert available(world, member) == 299
    assert world.db.catalogue.redemptions == {}


async def test_a_tier_restricted_reward_is_redeemed_by_a_member_of_that_tier(
    world: FakeWorld,
) -> None:
    member = await enrol(world)
    await fund(world, member, 500)
    await make_gold(world, member)
    reward = await define(world, item(tiers=frozenset({"gold"})))
    redeemed = await redeem(world, member, reward.id)
    assert redeemed.redemption.status is RedemptionStatus.ISSUED


async def test_a_retired_or_ended_reward_cannot_be_redeemed(world: FakeWorld) -> None:
    member = await enrol(world)
    await fund(world, member, 1_000)
    retired = await define(world, item())
    await write(
        world.uow_factory,
        lambda uow: retire_reward(RetireReward(retired.id, ADMIN), uow, clock=world.clock),
    )
    ended = await define(world, item(available_until=world.clock.now() + timedelta(hours=1)))
    world.clock.advance(hours=1)
    for reward, reason in ((retired, "retired"), (ended, "no_longer_available")):
        with pytest.raises(RewardNotRedeemable) as refused:
            await redeem(world, member, reward.id)
        assert refused.value.reason == reason


# Cancelling ------------------------------------------------------------------------------------


async def test_cancelling_gives_the_points_back_with_their_expiry_and_the_stock_back(
    world: FakeWorld,
) -> None:
    set_program(world, points_expiry=PointsExpiryRule(ExpiryKind.DAYS, 30))
    member = await enrol(world)
    await fund(world, member, 200, receipt="R-OLD")
    world.clock.advance(days=10)
    await fund(world, member, 500, receipt="R-NEW")
    expiries = sorted(s.lot.expires_at or NEVER for s in world.db.points.lots.values())
    reward = await define(world, item(points_cost=300))
    redeemed = await redeem(world, member, reward.id)
    world.clock.advance(days=1)

    cancelled = await cancel(world, redeemed.redemption.id)

    assert cancelled.redemption.status is RedemptionStatus.CANCELLED
    assert cancelled.points.available == 700
    assert world.db.catalogue.rewards[reward.id].redeemed == 0
    restored = sorted(
        (s.lot.expires_at, s.lot.points)
        for s in world.db.points.lots.values()
        if s.lot.reference.kind == "reward_cancel"
    )
    assert restored == [(expiries[0], 200), (expiries[1], 100)]
    assert world.db.audit.records[-1].action == "reward_redemption.cancelled"


async def test_cancelling_a_coupon_reward_withdraws_its_coupon_and_a_used_one_is_refused(
    world: FakeWorld,
) -> None:
    member = await enrol(world)
    await fund(world, member, 1_000)
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
    unused = await redeem(world, member, reward.id)
    used = await redeem(world, member, reward.id)
    assert unused.coupon is not None
    assert used.coupon is not None
    world.db.coupons.coupons[used.coupon.id].status = CouponStatus.REDEEMED

    await cancel(world, unused.redemption.id)
    with pytest.raises(RewardRedemptionUsed):
        await cancel(world, used.redemption.id)

    assert world.db.coupons.coupons[unused.coupon.id].status is CouponStatus.VOIDED
    assert available(world, member) == 800


async def test_a_redemption_is_cancelled_once_and_a_handed_over_item_not_at_all(
    world: FakeWorld,
) -> None:
    member = await enrol(world)
    await fund(world, member, 1_000)
    reward = await define(world, item())
    first = await redeem(world, member, reward.id)
    second = await redeem(world, member, reward.id)
    await cancel(world, first.redemption.id)
    await write(
        world.uow_factory,
        lambda uow: fulfil_redemption(
            FulfilRedemption(second.redemption.id, ADMIN), uow, clock=world.clock
        ),
    )
    with pytest.raises(RewardRedemptionCancelled):
        await cancel(world, first.redemption.id)
    with pytest.raises(RewardRedemptionUsed):
        await cancel(world, second.redemption.id)
    assert available(world, member) == 700
