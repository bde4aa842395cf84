"""The one-statement member reads answer exactly what the repositories answer.

PostgresMemberReads (one statement, no transaction) is compared with UnitOfWorkMemberReads
(the repositories' reads in a transaction) on the same database, over states that exercise
each rule: lots pending, frozen, expiring inside and outside the window or already due, a
debt, coupons of other channels, not yet valid, expired, voided or someone else's, a tier
above the entry tier, a blocked card, members without an account or unknown.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest
from piccolo.engine.postgres import PostgresEngine

from adapters.persistence.read_models import PostgresMemberReads
from adapters.persistence.tables import CouponRow, MemberRow
from adapters.persistence.unit_of_work import PostgresUnitOfWork
from app.read_models import CardAtTill, CouponView, Expiring, UnitOfWorkMemberReads
from domain.cards import CardStatus, MemberCard
from domain.coupon_repositories import IssuedFrom
from domain.coupons import Coupon, CouponKind, CouponSource, CouponTemplate, CouponTerms, Validity
from domain.points import Reference
from domain.sales import IN_STORE, ONLINE
from domain.tiers import BASE_TIER, Tier, TierLadder
from tests.integration.factories import a_member, card_number

UowFactory = Callable[[], PostgresUnitOfWork]
NOW = datetime(2026, 6, 10, 8, 0, tzinfo=UTC)
UNTIL = NOW + timedelta(days=30)


@pytest.fixture
def reads(
    engine: PostgresEngine, uow_factory: UowFactory
) -> tuple[PostgresMemberReads, UnitOfWorkMemberReads]:
    return PostgresMemberReads(engine), UnitOfWorkMemberReads(uow_factory)


async def a_member_with_points(uow_factory: UowFactory, n: int, *, name: str | None) -> UUID:
    member = a_member(f"+86138002{n:05d}", card=n, name=name)
    async with uow_factory() as uow:
        assert await uow.members.add(member) is True
        await uow.points.open_account(member.id)
        account = await uow.points.get_for_update(member.id)
        end_of_day = datetime(2026, 6, 20, 16, 0, tzinfo=UTC)
        for points, expires_at in [
            (10, end_of_day),
            (20, end_of_day),
            (30, UNTIL),  # the last instant of the window
            (40, UNTIL + timedelta(seconds=1)),
            (50, None),
            (60, NOW),  # already due: the job takes it, it is not "expiring"
        ]:
            account.earn(
                points,
                reference=Reference("sale", str(uuid4())),
                now=NOW - timedelta(days=1),
                expires_at=expires_at,
            )
        account.earn(
            70,
            reference=Reference("sale", "web"),
            now=NOW,
            expires_at=end_of_day,
            pending_until=NOW + timedelta(days=14),
        )
        disputed = Reference("sale", "disputed")
        account.earn(80, reference=disputed, now=NOW, expires_at=end_of_day)
        account.earn(
            90,
            reference=disputed,
            now=NOW,
            expires_at=end_of_day,
            pending_until=NOW + timedelta(days=14),
        )
        account.freeze(disputed)
        await uow.points.save(account)
        await uow.commit()
    return member.id


async def coupons_for(uow_factory: UowFactory, member_id: UUID, other_id: UUID) -> None:
    template = CouponTemplate(
        id=uuid4(),
        version=1,
        name="10 off",
        terms=CouponTerms(kind=CouponKind.FIXED, value=1000),
        validity=Validity(valid_days=30),
        created_at=NOW - timedelta(days=60),
    )

    def coupon(n: int, owner: UUID, *, starts: int, ends: int, **terms: object) -> Coupon:
        return Coupon(
            id=UUID(int=n),  # ordered: equal expiries are listed by id
            code=f"{n:015d}",
            member_id=owner,
            template_id=template.id,
            template_version=1,
            title=f"coupon {n}",
            terms=replace(template.terms, **terms),  # type: ignore[arg-type]
            valid_from=NOW + timedelta(days=starts),
            expires_at=NOW + timedelta(days=ends),
            issued_at=NOW - timedelta(days=40),
        )

    usable_late = coupon(1, member_id, starts=-1, ends=20, min_spend=5000)
    usable_soon = coupon(2, member_id, starts=-10, ends=3, kind=CouponKind.PERCENT, value=15)
    usable_same_expiry = coupon(3, member_id, starts=0, ends=3)  # valid from this very instant
    online_only = coupon(4, member_id, starts=-1, ends=5, channels=frozenset({ONLINE}))
    not_yet = coupon(5, member_id, starts=1, ends=9)
    past_its_end = coupon(6, member_id, starts=-9, ends=0)  # available, but over
    marked_expired = coupon(7, member_id, starts=-9, ends=1)
    voided = coupon(8, member_id, starts=-9, ends=9)
    someone_elses = coupon(9, other_id, starts=-9, ends=9)
    async with uow_factory() as uow:
        await uow.coupon_templates.add(template)
        await uow.coupons.add(
            [
                usable_late,
                usable_soon,
                usable_same_expiry,
                online_only,
                not_yet,
                past_its_end,
                marked_expired,
                voided,
                someone_elses,
            ],
            IssuedFrom(CouponSource.ADMIN),
        )
        assert await uow.coupons.void(voided.id, NOW)
        # The expiry job's mark, ahead of the coupon's end.
        await CouponRow.raw(
            "UPDATE coupons SET status = 'expired' WHERE id = {}", marked_expired.id
        )
        await uow.commit()


async def test_a_member_at_the_till_is_read_as_the_repositories_read_them(
    reads: tuple[PostgresMemberReads, UnitOfWorkMemberReads], uow_factory: UowFactory
) -> None:
    one, reference = reads
    member_id = await a_member_with_points(uow_factory, 1, name=None)
    other_id = await a_member_with_points(uow_factory, 2, name="Han Meimei")
    await coupons_for(uow_factory, member_id, other_id)
    async with uow_factory() as uow:
        member = await uow.members.get(member_id)
    assert member is not None

    by_id = await one.member_at_till(member_id, now=NOW, channel=IN_STORE)
    assert by_id == await reference.member_at_till(member_id, now=NOW, channel=IN_STORE)
    assert by_id is not None
    assert by_id.member == member
    # 10+20+30+40+50+60 released, 80 frozen (in the balance, not spendable), 70+90 pending.
    assert (by_id.points.available, by_id.points.frozen) == (290, 80)
    assert (by_id.points.pending, by_id.points.debt) == (160, 0)
    assert [c.code for c in by_id.coupons] == [f"{n:015d}" for n in (2, 3, 1)]
    assert by_id.coupons[0] == CouponView(
        f"{2:015d}", "coupon 2", "percent", 15, 0, NOW + timedelta(days=3)
    )
    by_phone = await one.phone_at_till(member.phone or "", now=NOW, channel=IN_STORE)
    assert by_phone == by_id
    by_card = await one.card_at_till(member.card_number, now=NOW, channel=IN_STORE)
    assert by_card == CardAtTill(CardStatus.ACTIVE, by_id)
    assert by_card == await reference.card_at_till(member.card_number, now=NOW, channel=IN_STORE)

    online = await one.member_at_till(member_id, now=NOW, channel=ONLINE)
    assert online == await reference.member_at_till(member_id, now=NOW, channel=ONLINE)
    assert online is not None
    assert [c.code for c in online.coupons] == [f"{n:015d}" for n in (2, 3, 4, 1)]


async def test_the_members_app_view_is_read_as_the_repositories_read_it(
    reads: tuple[PostgresMemberReads, UnitOfWorkMemberReads], uow_factory: UowFactory
) -> None:
    one, reference = reads
    member_id = await a_member_with_points(uow_factory, 1, name="Li Lei")

    mine = await one.in_app(member_id, now=NOW, until=UNTIL)

    assert mine == await reference.in_app(member_id, now=NOW, until=UNTIL)
    assert mine is not None
    assert mine.expiring == [
        Expiring(30, datetime(2026, 6, 20, 16, 0, tzinfo=UTC)),
        Expiring(30, UNTIL),
    ]


async def test_a_higher_tier_a_debt_and_a_blocked_card_read_the_same(
    reads: tuple[PostgresMemberReads, UnitOfWorkMemberReads], uow_factory: UowFactory
) -> None:
    one, reference = reads
    member_id = await a_member_with_points(uow_factory, 1, name=None)
    gold = Tier("gold", "Gold", 1, 100_000, BASE_TIER.earn_multiplier)
    async with uow_factory() as uow:
        await uow.tiers.replace(TierLadder.of([BASE_TIER, gold]))
        await MemberRow.raw("UPDATE members SET tier_code = 'gold' WHERE id = {}", member_id)
        account = await uow.points.get_for_update(member_id)
        account.available, account.debt = 0, 45
        await uow.points.save(account)
        await uow.members.replace_card(
            member_id, MemberCard(card_number(77), member_id, CardStatus.ACTIVE, NOW)
        )
        await uow.commit()

    blocked = await one.card_at_till(card_number(1), now=NOW, channel=IN_STORE)
    assert blocked == await reference.card_at_till(card_number(1), now=NOW, channel=IN_STORE)
    assert blocked is not None
    assert blocked.status is CardStatus.BLOCKED
    found = await one.card_at_till(card_number(77), now=NOW, channel=IN_STORE)
    assert found == await reference.card_at_till(card_number(77), now=NOW, channel=IN_STORE)
    assert found is not None
    assert found.holder is not None
    assert (found.holder.tier.code, found.holder.tier.name) == ("gold", "Gold")
    assert (found.holder.points.available, found.holder.points.debt) == (0, 45)
    assert found.holder.member.card_number == card_number(77)
    mine = await one.in_app(member_id, now=NOW, until=UNTIL)
    assert mine == await reference.in_app(member_id, now=NOW, until=UNTIL)


async def test_unknown_keys_and_a_member_without_an_account_read_the_same(
    reads: tuple[PostgresMemberReads, UnitOfWorkMemberReads], uow_factory: UowFactory
) -> None:
    one, reference = reads
    member = a_member("+8613800300001", card=5)
    async with uow_factory() as uow:
        assert await uow.members.add(member) is True
        await uow.commit()

    for answer in (one, reference):
        assert await answer.card_at_till(card_number(6), now=NOW, channel=IN_STORE) is None
        assert await answer.phone_at_till("+8613800300002", now=NOW, channel=IN_STORE) is None
        assert await answer.member_at_till(uuid4(), now=NOW, channel=IN_STORE) is None
        assert await answer.in_app(uuid4(), now=NOW, until=UNTIL) is None
    bare = await one.member_at_till(member.id, now=NOW, channel=IN_STORE)
    assert bare == await reference.member_at_till(member.id, now=NOW, channel=IN_STORE)
    assert bare is not None
    assert (bare.points.available, bare.points.pending, bare.coupons) == (0, 0, [])
    assert await one.in_app(member.id, now=NOW, until=UNTIL) == await reference.in_app(
        member.id, now=NOW, until=UNTIL
    )
