"""Coupons issued and expired without a request on real PostgreSQL: review rewards, the birthday
job and the expiry job.

The programme's time zone is Asia/Shanghai (UTC+8): birthdays are local days, so a fixed clock
at 04:00 UTC is noon of the same day there, and 17:00 UTC is already the next day.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import pytest
from piccolo.engine.postgres import PostgresEngine

from adapters.persistence.birthday_calendar import PostgresBirthdayCalendar
from adapters.persistence.coupon_expiry import expire_coupons
from adapters.persistence.unit_of_work import PostgresUnitOfWork
from adapters.system import CryptoRandom, UuidGenerator
from app.use_cases.birthdays import BirthdayReport, run_birthday_job, set_birthday_reward
from app.use_cases.coupon_issuing import Issuer, issue_from_template
from app.use_cases.coupon_templates import TemplateDefinition, create_template
from app.use_cases.review_rewards import (
    NotRewarded,
    ReviewPosted,
    reward_review,
    set_review_reward,
)
from app.use_cases.sales import LineInput, RecordSale, RefundSale, record_sale, refund_sale
from domain.coupon_codes import display
from domain.coupon_repositories import IssuedFrom
from domain.coupons import CouponKind, CouponSource, CouponTerms, Validity
from domain.errors import OrderNotFound
from domain.sale_dating import SaleDating
from tests.integration.factories import a_member, a_store

pytestmark = pytest.mark.db

UowFactory = Callable[[], PostgresUnitOfWork]
NOW = datetime(2026, 6, 1, 4, tzinfo=UTC)  # noon, 1 June, in Shanghai


def utc(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


@dataclass(frozen=True)
class FixedClock:
    instant: datetime

    def now(self) -> datetime:
        return self.instant


IDS = UuidGenerator()
RANDOM = CryptoRandom()


# Arranging -----------------------------------------------------------------------------------


async def a_template(uow_factory: UowFactory, *, valid_days: int = 30, value: int = 1000) -> UUID:
    definition = TemplateDefinition(
        name=f"{value} off",
        terms=CouponTerms(kind=CouponKind.FIXED, value=value),
        validity=Validity(valid_days=valid_days),
    )
    async with uow_factory() as uow:
        template = await create_template(
            definition, "test-admin", uow, clock=FixedClock(NOW - timedelta(days=30)), ids=IDS
        )
        await uow.commit()
    return template.id


async def members_born(uow_factory: UowFactory, *birthdays: date | None) -> list[UUID]:
    """One member per birthday (None: no birthday known), each with a points account."""
    ids = []
    async with uow_factory() as uow:
        for n, birthday in enumerate(birthdays, start=1):
            member = a_member(f"+86138001{n:05d}", card=n, birthday=birthday)
            assert await uow.members.add(member) is True
            await uow.points.open_account(member.id)
            ids.append(member.id)
        await uow.commit()
    return ids


async def a_store_id(uow_factory: UowFactory) -> UUID:
    store = a_store()
    async with uow_factory() as uow:
        assert await uow.stores.add_store(store) is True
        await uow.commit()
    return store.id


async def an_order(
    uow_factory: UowFactory,
    store_id: UUID,
    member_id: UUID,
    receipt_id: str,
    *,
    amount: int = 20000,
    channel: str = "web",
    coupon_codes: tuple[str, ...] = (),
    at: datetime = NOW,
) -> UUID:
    async with uow_factory() as uow:
        outcome = await record_sale(
            RecordSale(
                store_id=store_id,
                terminal_id=None,
                receipt_id=receipt_id,
                lines=[LineInput(sku="TEAPOT", quantity=1, unit_price=amount)],
                member_id=member_id,
                coupon_codes=coupon_codes,
                channel=channel,
            ),
            uow,
            clock=FixedClock(at),
            ids=IDS,
            dating=SaleDating(),
        )
        await uow.commit()
    assert outcome.sale_id is not None
    return outcome.sale_id


async def fetch(engine: PostgresEngine, sql: str, *args: Any) -> list[asyncpg.Record]:
    assert engine.pool is not None
    async with engine.pool.acquire() as connection:
        rows: list[asyncpg.Record] = await connection.fetch(sql, *args)
        return rows


async def coupons(engine: PostgresEngine) -> list[asyncpg.Record]:
    return await fetch(engine, "SELECT * FROM coupons ORDER BY issued_at, id")


# Review rewards ------------------------------------------------------------------------------


async def reward_settings(
    uow_factory: UowFactory, *, enabled: bool = True, min_rating: int = 4
) -> UUID:
    template_id = await a_template(uow_factory)
    async with uow_factory() as uow:
        await set_review_reward(enabled, min_rating, template_id, "test-admin", uow)
        await uow.commit()
    return template_id


async def review(
    uow_factory: UowFactory,
    member_id: UUID,
    order_id: str,
    rating: int,
    *,
    review_id: str = "rev-1",
    at: datetime = NOW,
) -> Any:
    async with uow_factory() as uow:
        outcome = await reward_review(
            ReviewPosted(
                review_id=review_id, order_id=order_id, rating=rating, member_id=member_id
            ),
            uow,
            clock=FixedClock(at),
            random=RANDOM,
            ids=IDS,
        )
        await uow.commit()
    return outcome


async def test_a_good_review_of_ones_own_order_earns_one_coupon_once(
    engine: PostgresEngine, uow_factory: UowFactory
) -> None:
    template_id = await reward_settings(uow_factory, min_rating=4)
    store_id = await a_store_id(uow_factory)
    [member_id] = await members_born(uow_factory, None)
    sale_id = await an_order(uow_factory, store_id, member_id, "WEB-1001")

    first = await review(uow_factory, member_id, "WEB-1001", 4)
    again = await review(uow_factory, member_id, "WEB-1001", 5, review_id="rev-1-edited")

    assert first.coupon is not None
    assert first.not_rewarded is None
    assert first.already_rewarded is False
    assert first.coupon.member_id == member_id
    assert first.coupon.template_id == template_id
    assert first.coupon.source is CouponSource.REVIEW
    assert again.coupon is not None
    assert again.coupon.id == first.coupon.id
    assert again.already_rewarded is True
    [row] = await coupons(engine)
    assert (row["member_id"], row["source"], row["source_ref"]) == (
        member_id,
        "review",
        f"sale:{sale_id}",
    )
    assert row["status"] == "available"
    [template] = await fetch(engine, "SELECT issued FROM coupon_templates")
    assert template["issued"] == 1


async def test_the_same_review_arriving_twice_at_once_earns_one_coupon(
    engine: PostgresEngine, uow_factory: UowFactory
) -> None:
    await reward_settings(uow_factory)
    store_id = await a_store_id(uow_factory)
    [member_id] = await members_born(uow_factory, None)
    await an_order(uow_factory, store_id, member_id, "WEB-1001")

    outcomes = await asyncio.wait_for(
        asyncio.gather(*(review(uow_factory, member_id, "WEB-1001", 5) for _ in range(4))), 20
    )

    ids = {o.coupon.id for o in outcomes if o.coupon is not None}
    assert len(ids) == 1
    assert len([o for o in outcomes if o.coupon is not None]) == 4
    assert [o.already_rewarded for o in outcomes].count(False) == 1
    assert len(await coupons(engine)) == 1


async def test_a_low_rating_earns_nothing(engine: PostgresEngine, uow_factory: UowFactory) -> None:
    await reward_settings(uow_factory, min_rating=4)
    store_id = await a_store_id(uow_factory)
    [member_id] = await members_born(uow_factory, None)
    await an_order(uow_factory, store_id, member_id, "WEB-1001")

    outcome = await review(uow_factory, member_id, "WEB-1001", 3)

    assert outcome.coupon is None
    assert outcome.not_rewarded is NotRewarded.RATING_TOO_LOW
    assert await coupons(engine) == []


async def test_a_review_of_a_fully_refunded_order_earns_nothing(
    engine: PostgresEngine, uow_factory: UowFactory
) -> None:
    await reward_settings(uow_factory)
    store_id = await a_store_id(uow_factory)
    [member_id] = await members_born(uow_factory, None)
    sale_id = await an_order(uow_factory, store_id, member_id, "WEB-1001", amount=20000)
    async with uow_factory() as uow:
        await refund_sale(
            RefundSale(store_id=store_id, sale_id=sale_id, refund_id="F-1", amount=20000),
            uow,
            clock=FixedClock(NOW + timedelta(hours=1)),
            ids=IDS,
        )
        await uow.commit()

    outcome = await review(uow_factory, member_id, "WEB-1001", 5, at=NOW + timedelta(hours=2))

    assert outcome.coupon is None
    assert outcome.not_rewarded is NotRewarded.FULLY_REFUNDED
    assert await coupons(engine) == []


async def test_a_partly_refunded_order_still_earns_the_coupon(
    engine: PostgresEngine, uow_factory: UowFactory
) -> None:
    await reward_settings(uow_factory)
    store_id = await a_store_id(uow_factory)
    [member_id] = await members_born(uow_factory, None)
    sale_id = await an_order(uow_factory, store_id, member_id, "WEB-1001", amount=20000)
    async with uow_factory() as uow:
        await refund_sale(
            RefundSale(store_id=store_id, sale_id=sale_id, refund_id="F-1", amount=5000),
            uow,
            clock=FixedClock(NOW + timedelta(hours=1)),
            ids=IDS,
        )
        await uow.commit()

    outcome = await review(uow_factory, member_id, "WEB-1001", 5, at=NOW + timedelta(hours=2))

    assert outcome.coupon is not None


async def test_a_review_of_another_members_order_is_order_not_found(
    engine: PostgresEngine, uow_factory: UowFactory
) -> None:
    await reward_settings(uow_factory)
    store_id = await a_store_id(uow_factory)
    buyer, reviewer = await members_born(uow_factory, None, None)
    await an_order(uow_factory, store_id, buyer, "WEB-1001")

    with pytest.raises(OrderNotFound):
        await review(uow_factory, reviewer, "WEB-1001", 5)
    with pytest.raises(OrderNotFound):
        await review(uow_factory, buyer, "WEB-9999", 5)

    assert await coupons(engine) == []


async def test_a_disabled_review_reward_earns_nothing(
    engine: PostgresEngine, uow_factory: UowFactory
) -> None:
    await reward_settings(uow_factory, enabled=False)
    store_id = await a_store_id(uow_factory)
    [member_id] = await members_born(uow_factory, None)
    await an_order(uow_factory, store_id, member_id, "WEB-1001")

    outcome = await review(uow_factory, member_id, "WEB-1001", 5)

    assert outcome.coupon is None
    assert outcome.not_rewarded is NotRewarded.DISABLED
    assert await coupons(engine) == []


# Birthdays -----------------------------------------------------------------------------------


async def birthday_settings(
    uow_factory: UowFactory, *, days_ahead: int, enabled: bool = True
) -> UUID:
    template_id = await a_template(uow_factory)
    async with uow_factory() as uow:
        await set_birthday_reward(enabled, template_id, days_ahead, "test-admin", uow)
        await uow.commit()
    return template_id


async def birthday_job(
    engine: PostgresEngine, uow_factory: UowFactory, at: datetime, *, batch_size: int = 500
) -> BirthdayReport:
    return await run_birthday_job(
        uow_factory,
        PostgresBirthdayCalendar(engine),
        clock=FixedClock(at),
        random=RANDOM,
        ids=IDS,
        batch_size=batch_size,
    )


async def birthday_refs(engine: PostgresEngine) -> dict[UUID, list[str]]:
    found: dict[UUID, list[str]] = {}
    for row in await coupons(engine):
        assert row["source"] == "birthday"
        found.setdefault(row["member_id"], []).append(row["source_ref"])
    return found


async def test_members_with_a_birthday_in_the_window_get_one_coupon_however_often_it_runs(
    engine: PostgresEngine, uow_factory: UowFactory
) -> None:
    template_id = await birthday_settings(uow_factory, days_ahead=7)
    today, last_day, after, before, _ = await members_born(
        uow_factory,
        date(1990, 6, 1),
        date(1985, 6, 8),
        date(1990, 6, 9),
        date(1990, 5, 31),
        None,
    )
    # 17:00 UTC on 31 May is 01:00 on 1 June in Shanghai: the window is 1-8 June.
    at = utc(2026, 5, 31, 17)

    first = await birthday_job(engine, uow_factory, at, batch_size=1)
    second = await birthday_job(engine, uow_factory, at)
    later = await birthday_job(engine, uow_factory, at + timedelta(days=3))

    assert (first.issued, first.batches, first.enabled) == (2, 2, True)
    assert second.issued == 0
    assert later.issued == 1  # 9 June came into the window; the others already have theirs
    refs = await birthday_refs(engine)
    assert refs == {
        today: ["birthday:2026"],
        last_day: ["birthday:2026"],
        after: ["birthday:2026"],
    }
    assert before not in refs
    rows = await coupons(engine)
    assert {row["template_id"] for row in rows} == {template_id}
    assert {row["status"] for row in rows} == {"available"}


async def test_two_birthday_jobs_at_once_issue_each_coupon_once(
    engine: PostgresEngine, uow_factory: UowFactory
) -> None:
    await birthday_settings(uow_factory, days_ahead=7)
    born = await members_born(uow_factory, *([date(1990, 6, 3)] * 6))

    reports = await asyncio.wait_for(
        asyncio.gather(
            birthday_job(engine, uow_factory, NOW, batch_size=2),
            birthday_job(engine, uow_factory, NOW, batch_size=3),
        ),
        20,
    )

    assert sum(r.issued for r in reports) == 6
    assert await birthday_refs(engine) == {m: ["birthday:2026"] for m in born}


async def test_a_29_february_birthday_is_celebrated_on_28_february_in_other_years(
    engine: PostgresEngine, uow_factory: UowFactory
) -> None:
    await birthday_settings(uow_factory, days_ahead=0)
    leapling, first_of_march, twenty_eighth = await members_born(
        uow_factory, date(2000, 2, 29), date(1999, 3, 1), date(1990, 2, 28)
    )

    report = await birthday_job(engine, uow_factory, utc(2027, 2, 28, 4))

    assert report.issued == 2
    assert await birthday_refs(engine) == {
        leapling: ["birthday:2027"],
        twenty_eighth: ["birthday:2027"],
    }
    assert first_of_march not in await birthday_refs(engine)


async def test_in_a_leap_year_29_february_is_celebrated_on_the_day(
    engine: PostgresEngine, uow_factory: UowFactory
) -> None:
    await birthday_settings(uow_factory, days_ahead=0)
    [leapling] = await members_born(uow_factory, date(2000, 2, 29))

    on_28th = await birthday_job(engine, uow_factory, utc(2028, 2, 28, 4))
    on_29th = await birthday_job(engine, uow_factory, utc(2028, 2, 29, 4))

    assert (on_28th.issued, on_29th.issued) == (0, 1)
    assert await birthday_refs(engine) == {leapling: ["birthday:2028"]}


async def test_a_december_window_reaching_into_january_gives_the_new_years_ref(
    engine: PostgresEngine, uow_factory: UowFactory
) -> None:
    await birthday_settings(uow_factory, days_ahead=7)
    january, december = await members_born(uow_factory, date(1990, 1, 2), date(1992, 12, 30))

    in_december = await birthday_job(engine, uow_factory, utc(2026, 12, 28, 4))
    in_january = await birthday_job(engine, uow_factory, utc(2027, 1, 1, 4))

    assert in_december.issued == 2
    assert in_january.issued == 0  # 2 January 2027 was already celebrated in December
    assert await birthday_refs(engine) == {
        january: ["birthday:2027"],
        december: ["birthday:2026"],
    }


async def test_the_birthday_job_does_nothing_while_disabled(
    engine: PostgresEngine, uow_factory: UowFactory
) -> None:
    await birthday_settings(uow_factory, days_ahead=7, enabled=False)
    await members_born(uow_factory, date(1990, 6, 1))

    report = await birthday_job(engine, uow_factory, NOW)

    assert report.enabled is False
    assert report.issued == 0
    assert await coupons(engine) == []


# Expiry --------------------------------------------------------------------------------------


async def issue(uow_factory: UowFactory, template_id: UUID, member_id: UUID, at: datetime) -> Any:
    async with uow_factory() as uow:
        issued = await issue_from_template(
            uow, template_id, [member_id], IssuedFrom(CouponSource.ADMIN), Issuer(at, RANDOM, IDS)
        )
        await uow.commit()
    [coupon] = issued.coupons
    return coupon


async def test_expiry_marks_only_available_coupons_past_their_end(
    engine: PostgresEngine, uow_factory: UowFactory
) -> None:
    short = await a_template(uow_factory, valid_days=1)
    long = await a_template(uow_factory, valid_days=30)
    store_id = await a_store_id(uow_factory)
    [member_id] = await members_born(uow_factory, None)
    left = await issue(uow_factory, short, member_id, NOW)
    used = await issue(uow_factory, short, member_id, NOW)
    withdrawn = await issue(uow_factory, short, member_id, NOW)
    lasting = await issue(uow_factory, long, member_id, NOW)
    await an_order(
        uow_factory, store_id, member_id, "R-1", channel="pos", coupon_codes=(display(used.code),)
    )
    async with uow_factory() as uow:
        assert await uow.coupons.void(withdrawn.id, NOW) is True
        await uow.commit()
    # Issued at noon on 1 June with one day: usable to the end of 2 June in Shanghai.
    end = utc(2026, 6, 2, 16)
    assert left.expires_at == end

    early = await expire_coupons(engine, end - timedelta(microseconds=1))
    on_time = await expire_coupons(engine, end)
    again = await expire_coupons(engine, end + timedelta(days=1))

    assert (early, on_time, again) == (0, 1, 0)
    statuses = {row["id"]: row["status"] for row in await coupons(engine)}
    assert statuses == {
        left.id: "expired",
        used.id: "redeemed",
        withdrawn.id: "voided",
        lasting.id: "available",
    }


async def test_expiry_works_through_small_batches(
    engine: PostgresEngine, uow_factory: UowFactory
) -> None:
    short = await a_template(uow_factory, valid_days=1)
    member_ids = await members_born(uow_factory, *([None] * 5))
    for member_id in member_ids:
        await issue(uow_factory, short, member_id, NOW)

    expired = await expire_coupons(engine, NOW + timedelta(days=5), batch_size=2)

    assert expired == 5
    assert {row["status"] for row in await coupons(engine)} == {"expired"}
