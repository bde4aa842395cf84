"""Coupons through the use cases, on fakes: issuing and its limits, redemption, refunds."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import pytest

from app.transactions import read, write
from app.use_cases.coupon_issuing import Issued, SkipReason
from app.use_cases.coupon_templates import TemplateDefinition, create_template, revise_template
from app.use_cases.coupons import IssueCoupons, issue_coupons, member_coupons, usable_coupons
from app.use_cases.sales import LineInput, PriceSale, RefundSale, quote_sale
from domain.coupon_codes import display
from domain.coupons import CouponKind, CouponStatus, CouponTemplate, CouponTerms, Validity
from domain.errors import CouponNotRedeemable, CouponTemplateClosed, CouponTemplateNotFound
from domain.notifications import NotificationKind
from domain.sale_dating import SaleDating
from domain.sales import RefundLine
from tests.app.test_sales import LINES, STORE, enrol, quote, record, refund, sale_cmd
from tests.support.fakes import FakeWorld

ADMIN = "admin:test"


async def template(
    world: FakeWorld,
    kind: CouponKind = CouponKind.FIXED,
    value: int = 2_000,
    *,
    validity: Validity | None = None,
    min_spend: int = 0,
    channels: frozenset[str] = frozenset({"pos", "web"}),
    per_member_limit: int | None = None,
    total_limit: int | None = None,
) -> CouponTemplate:
    definition = TemplateDefinition(
        name="Welcome",
        terms=CouponTerms(kind, value, min_spend=min_spend, channels=channels),
        validity=validity or Validity(valid_days=30),
        per_member_limit=per_member_limit,
        total_limit=total_limit,
    )
    return await write(
        world.uow_factory,
        lambda uow: create_template(definition, ADMIN, uow, clock=world.clock, ids=world.ids),
    )


async def issue(
    world: FakeWorld, template_id: UUID, *members: UUID, campaign_key: str | None = None
) -> Issued:
    cmd = IssueCoupons(template_id, members, ADMIN, campaign_key)
    return await write(
        world.uow_factory,
        lambda uow: issue_coupons(cmd, uow, clock=world.clock, random=world.random, ids=world.ids),
    )


async def code_for(world: FakeWorld, member: UUID, **kwargs: object) -> str:
    t = await template(world, **kwargs)  # type: ignore[arg-type]
    issued = await issue(world, t.id, member)
    return display(issued.coupons[0].code)


# Issuing ------------------------------------------------------------------------------------


async def test_each_listed_member_gets_one_coupon_with_the_templates_terms(
    world: FakeWorld,
) -> None:
    a, b = await enrol(world, "13800138001"), await enrol(world, "13800138002")
    t = await template(world, CouponKind.PERCENT, 10, min_spend=5_000)
    issued = await issue(world, t.id, a, b, a)  # a listed twice still gets one
    assert sorted(c.member_id for c in issued.coupons) == sorted([a, b])
    assert all(c.terms == t.terms and c.template_version == 1 for c in issued.coupons)
    assert world.db.coupon_templates.templates[t.id].issued == 2


async def test_unknown_members_are_skipped_not_failed(world: FakeWorld) -> None:
    a = await enrol(world)
    ghost = UUID(int=999)
    t = await template(world)
    issued = await issue(world, t.id, a, ghost)
    assert [c.member_id for c in issued.coupons] == [a]
    assert [(s.member_id, s.reason) for s in issued.skipped] == [
        (ghost, SkipReason.MEMBER_NOT_FOUND)
    ]


async def test_the_per_member_limit_holds_across_issues(world: FakeWorld) -> None:
    a = await enrol(world)
    t = await template(world, per_member_limit=2)
    for _ in range(2):
        assert len((await issue(world, t.id, a)).coupons) == 1
    third = await issue(world, t.id, a)
    assert third.coupons == ()
    assert third.skipped[0].reason is SkipReason.PER_MEMBER_LIMIT


async def test_the_total_limit_issues_to_the_first_members_listed(world: FakeWorld) -> None:
    members = [await enrol(world, f"1380013800{i}") for i in range(5)]
    t = await template(world, total_limit=3)
    issued = await issue(world, t.id, *members)
    assert [c.member_id for c in issued.coupons] == members[:3]
    assert {s.reason for s in issued.skipped} == {SkipReason.TOTAL_LIMIT}
    assert (await issue(world, t.id, members[4])).skipped[0].reason is SkipReason.TOTAL_LIMIT


async def test_a_campaign_key_gives_each_member_one_coupon_however_often_it_is_sent(
    world: FakeWorld,
) -> None:
    a, b = await enrol(world, "13800138001"), await enrol(world, "13800138002")
    t = await template(world)
    first = await issue(world, t.id, a, campaign_key="spring")
    again = await issue(world, t.id, a, b, campaign_key="spring")
    assert [c.member_id for c in first.coupons] == [a]
    assert [c.member_id for c in again.coupons] == [b]
    assert [(s.member_id, s.reason) for s in again.skipped] == [(a, SkipReason.ALREADY_ISSUED)]


async def test_a_template_whose_window_has_ended_issues_nothing(world: FakeWorld) -> None:
    a = await enrol(world)
    now = world.clock.now()
    t = await template(
        world, validity=Validity(valid_from=now, valid_until=now + timedelta(days=1))
    )
    world.clock.advance(days=1)
    with pytest.raises(CouponTemplateClosed):
        await issue(world, t.id, a)


async def test_an_unknown_template_is_not_found(world: FakeWorld) -> None:
    a = await enrol(world)
    with pytest.raises(CouponTemplateNotFound):
        await issue(world, UUID(int=5), a)


async def test_a_new_template_version_leaves_issued_coupons_their_terms(world: FakeWorld) -> None:
    a = await enrol(world)
    t = await template(world, value=2_000)
    old = (await issue(world, t.id, a)).coupons[0]
    revised = TemplateDefinition(
        "Welcome", CouponTerms(CouponKind.FIXED, 500), Validity(valid_days=30)
    )
    v2 = await write(
        world.uow_factory,
        lambda uow: revise_template(t.id, revised, ADMIN, uow, clock=world.clock),
    )
    new = (await issue(world, t.id, a)).coupons[0]
    assert (v2.version, new.template_version, new.terms.value) == (2, 2, 500)
    outcome = await quote(world, PriceSale(STORE, LINES, member_id=a, coupon_codes=[old.code]))
    assert outcome.pricing.discount_total == 2_000


# Redemption ---------------------------------------------------------------------------------


async def test_a_sale_with_a_coupon_earns_points_on_what_is_paid_after_it(world: FakeWorld) -> None:
    a = await enrol(world)
    code = await code_for(world, a, value=5_000)
    outcome = await record(world, sale_cmd(a, coupon_codes=[code]))
    assert outcome.pricing.discount_total == 5_000
    assert outcome.pricing.payable == 20_000
    assert outcome.pricing.points_earned == 200  # 1 point per yuan paid, not per yuan listed
    assert outcome.pricing.applied_coupons == (code,)


async def test_a_coupon_is_redeemed_once(world: FakeWorld) -> None:
    a = await enrol(world)
    code = await code_for(world, a)
    await record(world, sale_cmd(a, "R-1", coupon_codes=[code]))
    with pytest.raises(CouponNotRedeemable):
        await record(world, sale_cmd(a, "R-2", coupon_codes=[code]))
    assert len(world.db.sales.sales) == 1  # the refused sale left nothing behind
    outcome = await quote(world, PriceSale(STORE, LINES, member_id=a, coupon_codes=[code]))
    assert [(r.code, r.code_reason) for r in outcome.pricing.rejected_coupons] == [
        (code, "redeemed")
    ]


async def test_another_members_coupon_reads_as_not_redeemable(world: FakeWorld) -> None:
    a, b = await enrol(world, "13800138001"), await enrol(world, "13800138002")
    code = await code_for(world, a)
    outcome = await quote(world, PriceSale(STORE, LINES, member_id=b, coupon_codes=[code]))
    assert [(r.code, r.code_reason) for r in outcome.pricing.rejected_coupons] == [
        (code, "not_redeemable")
    ]
    guest = await quote(world, PriceSale(STORE, LINES, coupon_codes=[code]))
    assert guest.pricing.rejected_coupons[0].code_reason == "not_redeemable"


async def test_a_members_own_expired_coupon_says_so_in_the_quote(world: FakeWorld) -> None:
    a = await enrol(world)
    code = await code_for(world, a)
    world.clock.advance(days=40)
    outcome = await quote(world, PriceSale(STORE, LINES, member_id=a, coupon_codes=[code]))
    assert outcome.pricing.rejected_coupons[0].code_reason == "expired"


async def test_a_web_only_coupon_is_refused_at_the_till(world: FakeWorld) -> None:
    a = await enrol(world)
    code = await code_for(world, a, channels=frozenset({"web"}))
    till = await quote(world, PriceSale(STORE, LINES, member_id=a, coupon_codes=[code]))
    assert till.pricing.rejected_coupons[0].code_reason == "wrong_channel"
    online = await quote(
        world, PriceSale(STORE, LINES, member_id=a, coupon_codes=[code], channel="web")
    )
    assert online.pricing.discount_total == 2_000


async def test_a_mistyped_code_is_caught_before_any_lookup(world: FakeWorld) -> None:
    a = await enrol(world)
    code = await code_for(world, a)
    typo = ("Z" if code[0] != "Z" else "Y") + code[1:]
    outcome = await quote(world, PriceSale(STORE, LINES, member_id=a, coupon_codes=[typo]))
    assert outcome.pricing.rejected_coupons[0].code_reason == "malformed"


# Refunds ------------------------------------------------------------------------------------


async def test_a_full_refund_gives_a_still_valid_coupon_back(world: FakeWorld) -> None:
    a = await enrol(world)
    code = await code_for(world, a)
    sale = await record(world, sale_cmd(a, coupon_codes=[code]))
    assert sale.sale_id is not None
    done = await refund(world, RefundSale(STORE, sale.sale_id, "F-1", amount=sale.pricing.payable))
    assert done.coupons_restored == (code,)
    usable = await read(
        world.uow_factory, lambda uow: usable_coupons(a, uow, clock=world.clock, channel="pos")
    )
    assert [display(c.code) for c in usable] == [code]


async def test_a_partial_refund_keeps_the_coupon_used(world: FakeWorld) -> None:
    a = await enrol(world)
    code = await code_for(world, a)
    sale = await record(world, sale_cmd(a, coupon_codes=[code]))
    assert sale.sale_id is not None
    done = await refund(
        world, RefundSale(STORE, sale.sale_id, "P-1", lines=[RefundLine("TOWEL-1", 1)])
    )
    assert done.coupons_restored == ()


async def test_refunding_the_rest_of_a_sale_in_pieces_restores_the_coupon_at_the_last_piece(
    world: FakeWorld,
) -> None:
    a = await enrol(world)
    code = await code_for(world, a)
    sale = await record(world, sale_cmd(a, coupon_codes=[code]))
    assert sale.sale_id is not None
    first = await refund(
        world, RefundSale(STORE, sale.sale_id, "P-1", lines=[RefundLine("TOWEL-1", 1)])
    )
    last = await refund(
        world, RefundSale(STORE, sale.sale_id, "P-2", lines=[RefundLine("SHEET-1", 2)])
    )
    assert (first.coupons_restored, last.coupons_restored) == ((), (code,))


async def test_a_coupon_past_its_end_is_not_restored_by_a_refund(world: FakeWorld) -> None:
    a = await enrol(world)
    code = await code_for(world, a)
    sale = await record(world, sale_cmd(a, coupon_codes=[code]))
    assert sale.sale_id is not None
    world.clock.advance(days=40)
    done = await refund(world, RefundSale(STORE, sale.sale_id, "F-1", amount=sale.pricing.payable))
    assert done.coupons_restored == ()
    coupons = await read(
        world.uow_factory,
        lambda uow: member_coupons(a, uow, clock=world.clock, status=None, after=None, limit=10),
    )
    assert coupons[0].status is CouponStatus.REDEEMED


async def test_a_sale_paid_entirely_by_coupon_restores_it_when_every_line_comes_back(
    world: FakeWorld,
) -> None:
    a = await enrol(world)
    code = await code_for(world, a, value=100_000)
    lines = (LineInput("MUG", 1, 3_000),)
    sale = await record(world, sale_cmd(a, lines=lines, coupon_codes=[code]))
    assert sale.sale_id is not None
    assert sale.pricing.payable == 0
    done = await refund(world, RefundSale(STORE, sale.sale_id, "F-1", lines=[RefundLine("MUG", 1)]))
    assert done.coupons_restored == (code,)


async def test_quote_and_sale_agree_on_the_discount(world: FakeWorld) -> None:
    a = await enrol(world)
    code = await code_for(world, a, kind=CouponKind.PERCENT, value=15)
    quoted = await read(
        world.uow_factory,
        lambda uow: quote_sale(
            PriceSale(STORE, LINES, member_id=a, coupon_codes=[code]),
            uow,
            clock=world.clock,
            dating=SaleDating(),
        ),
    )
    sold = await record(world, sale_cmd(a, coupon_codes=[code]))
    assert quoted.pricing == sold.pricing
    assert sold.pricing.discount_total == 3_750


async def test_each_issued_coupon_is_announced_to_its_member_in_the_same_transaction(
    world: FakeWorld,
) -> None:
    a, b = await enrol(world, "13800138001"), await enrol(world, "13800138002")
    t = await template(world)
    issued = await issue(world, t.id, a, b)
    sent = world.db.outbox.of_kind(NotificationKind.COUPON_ISSUED)
    assert sorted(n.member_id for n in sent if n.member_id) == sorted([a, b])
    assert all(display(c.code) not in str(n.payload) for n in sent for c in issued.coupons)
