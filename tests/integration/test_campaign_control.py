"""Campaign control through the use cases on PostgreSQL: a retired template stops the review
and birthday rewards and every issue, and keeps its coupons; a void is audited; a draw
campaign is edited only before it starts and ended only while it runs."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest
from piccolo.engine.postgres import PostgresEngine

from app.use_cases.coupon_issuing import Issuer, issue_from_template
from app.use_cases.coupon_templates import RetireTemplate, retire_template
from app.use_cases.coupons import IssueCoupons, VoidCoupon, issue_coupons, void_coupon
from app.use_cases.draws import NewCampaign, create_campaign, edit_campaign, end_campaign
from app.use_cases.review_rewards import NotRewarded
from domain.coupon_repositories import IssuedFrom
from domain.coupons import CouponSource
from domain.draws import ChanceRule, Prize
from domain.errors import (
    CouponNotVoidable,
    CouponTemplateRetired,
    DrawCampaignNotRunning,
    DrawCampaignStarted,
    InvalidInput,
)
from tests.integration.test_coupon_jobs import (
    IDS,
    NOW,
    RANDOM,
    FixedClock,
    UowFactory,
    a_store_id,
    a_template,
    an_order,
    birthday_job,
    birthday_settings,
    coupons,
    fetch,
    members_born,
    review,
    reward_settings,
)

pytestmark = pytest.mark.db
CLOCK = FixedClock(NOW)


async def retire(uow_factory: UowFactory, template_id: object) -> None:
    async with uow_factory() as uow:
        await retire_template(
            RetireTemplate(template_id=template_id, actor="test-admin"),  # type: ignore[arg-type]
            uow,
            clock=CLOCK,
        )
        await uow.commit()


async def test_a_retired_birthday_template_issues_nothing_and_the_job_says_why(
    engine: PostgresEngine, uow_factory: UowFactory
) -> None:
    template_id = await birthday_settings(uow_factory, days_ahead=7)
    await members_born(uow_factory, date(1990, 6, 2))
    await retire(uow_factory, template_id)

    report = await birthday_job(engine, uow_factory, NOW)

    assert report.template_closed is True
    assert report.issued == 0
    assert await coupons(engine) == []


async def test_a_retired_review_template_rewards_nothing(
    engine: PostgresEngine, uow_factory: UowFactory
) -> None:
    template_id = await reward_settings(uow_factory)
    store_id = await a_store_id(uow_factory)
    [member_id] = await members_born(uow_factory, None)
    await an_order(uow_factory, store_id, member_id, "WEB-1")
    await retire(uow_factory, template_id)

    outcome = await review(uow_factory, member_id, "WEB-1", 5)

    assert outcome.coupon is None
    assert outcome.not_rewarded is NotRewarded.TEMPLATE_CLOSED
    assert await coupons(engine) == []


async def test_retiring_keeps_the_coupons_already_issued_and_stops_every_issue(
    engine: PostgresEngine, uow_factory: UowFactory
) -> None:
    template_id = await a_template(uow_factory)
    [member_id] = await members_born(uow_factory, None)
    async with uow_factory() as uow:
        await issue_from_template(
            uow, template_id, [member_id], IssuedFrom(CouponSource.ADMIN), Issuer(NOW, RANDOM, IDS)
        )
        await uow.commit()
    await retire(uow_factory, template_id)
    await retire(uow_factory, template_id)  # again: nothing changes, nothing more audited

    async with uow_factory() as uow:
        with pytest.raises(CouponTemplateRetired):
            await issue_coupons(
                IssueCoupons(template_id=template_id, member_ids=[member_id], actor="a"),
                uow,
                clock=CLOCK,
                random=RANDOM,
                ids=IDS,
            )
        with pytest.raises(CouponTemplateRetired):
            await issue_from_template(
                uow,
                template_id,
                [member_id],
                IssuedFrom(CouponSource.DRAW, "chance:1"),
                Issuer(NOW, RANDOM, IDS),
                enforce_limits=False,
            )

    [coupon] = await coupons(engine)
    assert coupon["status"] == "available"
    audits = await fetch(
        engine, "SELECT count(*) AS n FROM audit_log WHERE action = 'coupon_template.retired'"
    )
    assert audits[0]["n"] == 1


async def test_a_void_needs_a_reason_and_an_available_coupon(
    engine: PostgresEngine, uow_factory: UowFactory
) -> None:
    template_id = await a_template(uow_factory)
    [member_id] = await members_born(uow_factory, None)
    async with uow_factory() as uow:
        issued = await issue_from_template(
            uow, template_id, [member_id], IssuedFrom(CouponSource.ADMIN), Issuer(NOW, RANDOM, IDS)
        )
        await uow.commit()
    [coupon] = issued.coupons

    async with uow_factory() as uow:
        with pytest.raises(InvalidInput):
            await void_coupon(VoidCoupon(coupon.id, "   ", "a"), uow, clock=CLOCK)
    async with uow_factory() as uow:
        voided = await void_coupon(VoidCoupon(coupon.id, "mistake", "a"), uow, clock=CLOCK)
        await uow.commit()
    async with uow_factory() as uow:
        with pytest.raises(CouponNotVoidable, match="voided"):
            await void_coupon(VoidCoupon(coupon.id, "again", "a"), uow, clock=CLOCK)

    assert voided.status.value == "voided"
    [row] = await coupons(engine)
    assert row["status"] == "voided"


def a_campaign(starts_in: timedelta, ends_in: timedelta, name: str = "Draw") -> NewCampaign:
    return NewCampaign(
        name=name,
        threshold=10000,
        chances=ChanceRule.ONE,
        chance_valid_days=30,
        starts_at=NOW + starts_in,
        ends_at=NOW + ends_in,
        prizes=[Prize("mug", "A mug", 1, None, 10)],
    )


async def test_a_campaign_is_edited_only_before_it_starts_and_ended_only_while_it_runs(
    engine: PostgresEngine, uow_factory: UowFactory
) -> None:
    async with uow_factory() as uow:
        campaign = await create_campaign(
            a_campaign(timedelta(days=1), timedelta(days=8)), "a", uow, clock=CLOCK, ids=IDS
        )
        await uow.commit()

    async with uow_factory() as uow:
        with pytest.raises(DrawCampaignNotRunning):
            await end_campaign(campaign.id, "a", uow, clock=CLOCK)
    async with uow_factory() as uow:
        edited = await edit_campaign(
            campaign.id,
            replace(a_campaign(timedelta(hours=1), timedelta(days=8)), name="Renamed"),
            "a",
            uow,
            clock=CLOCK,
        )
        await uow.commit()
    running = FixedClock(NOW + timedelta(hours=2))
    async with uow_factory() as uow:
        with pytest.raises(DrawCampaignStarted):
            await edit_campaign(
                campaign.id,
                a_campaign(timedelta(days=1), timedelta(days=9)),
                "a",
                uow,
                clock=running,
            )
    async with uow_factory() as uow:
        ended = await end_campaign(campaign.id, "a", uow, clock=running, reason="done")
        await uow.commit()

    assert (edited.name, edited.id, edited.created_at) == (
        "Renamed",
        campaign.id,
        campaign.created_at,
    )
    assert ended.ends_at == running.now()
    [row] = await fetch(engine, "SELECT name, starts_at, ends_at FROM draw_campaigns")
    assert (row["name"], row["ends_at"]) == ("Renamed", running.now())
    [prize] = await fetch(engine, "SELECT code, stock FROM draw_prizes")
    assert (prize["code"], prize["stock"]) == ("mug", 10)
