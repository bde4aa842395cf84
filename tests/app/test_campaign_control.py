"""Campaign control through the use cases, on fakes: retiring a template, voiding a coupon,
and what a campaign key remembers of who it skipped."""

from __future__ import annotations

import pytest

from app.transactions import read, write
from app.use_cases.coupon_templates import RetireTemplate, retire_template
from app.use_cases.coupons import VoidCoupon, campaign_recipients, campaign_skips, void_coupon
from domain.coupons import CouponStatus
from domain.errors import CouponNotVoidable, CouponTemplateClosed, CouponTemplateRetired
from tests.app.test_coupons import ADMIN, issue, template
from tests.app.test_sales import enrol
from tests.support.fakes import FakeWorld


@pytest.fixture
def world() -> FakeWorld:
    return FakeWorld()


async def test_a_retired_template_refuses_every_issue_as_a_closed_one(world: FakeWorld) -> None:
    a = await enrol(world)
    t = await template(world)
    [kept] = (await issue(world, t.id, a)).coupons

    retired = await write(
        world.uow_factory,
        lambda uow: retire_template(RetireTemplate(t.id, ADMIN), uow, clock=world.clock),
    )

    assert retired.active is False
    with pytest.raises(CouponTemplateRetired) as refused:
        await issue(world, t.id, a)
    assert isinstance(refused.value, CouponTemplateClosed)  # rewards and draws stop as well
    coupon = world.db.coupons.coupons[kept.id]
    assert coupon.status is CouponStatus.AVAILABLE


async def test_a_void_is_audited_with_its_reason_and_only_once(world: FakeWorld) -> None:
    a = await enrol(world)
    t = await template(world)
    [coupon] = (await issue(world, t.id, a)).coupons

    voided = await write(
        world.uow_factory,
        lambda uow: void_coupon(VoidCoupon(coupon.id, " lost ", ADMIN), uow, clock=world.clock),
    )
    with pytest.raises(CouponNotVoidable):
        await write(
            world.uow_factory,
            lambda uow: void_coupon(VoidCoupon(coupon.id, "again", ADMIN), uow, clock=world.clock),
        )

    assert voided.status is CouponStatus.VOIDED
    [entry] = [e for e in world.db.audit.records if e.action == "coupon.voided"]
    assert entry.details["reason"] == "lost"


async def test_a_campaign_remembers_who_it_skipped_until_a_sending_reaches_them(
    world: FakeWorld,
) -> None:
    a, b, c = [await enrol(world, f"1380013800{n}") for n in range(1, 4)]
    t = await template(world, total_limit=1)

    await issue(world, t.id, a, b, campaign_key="spring")
    skipped = await read(
        world.uow_factory, lambda uow: campaign_skips("spring", uow, after=None, limit=10)
    )
    await issue(world, t.id, a, c, campaign_key="spring")  # a: already issued, not a skip
    again = await read(
        world.uow_factory, lambda uow: campaign_skips("spring", uow, after=None, limit=10)
    )
    reached = await read(
        world.uow_factory, lambda uow: campaign_recipients("spring", uow, after=None, limit=10)
    )

    assert [(s.member_id, s.reason) for s in skipped] == [(b, "total_limit_reached")]
    assert sorted((s.member_id, s.reason) for s in again) == sorted(
        [(b, "total_limit_reached"), (c, "total_limit_reached")]
    )
    assert [r.member_id for r in reached] == [a]
