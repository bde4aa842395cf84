from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from uuid import UUID

import pytest

from app.transactions import read, write
from app.unit_of_work import UnitOfWork
from app.use_cases.members import EnrolMember, enrol_member
from app.use_cases.sales import (
    LineInput,
    PriceSale,
    RecordSale,
    RefundOutcome,
    RefundSale,
    SaleOutcome,
    quote_sale,
    record_sale,
    refund_sale,
)
from app.use_cases.views import Balances, TierView
from domain.errors import (
    CouponNotRedeemable,
    DuplicateReceipt,
    DuplicateRefund,
    Forbidden,
    InvalidInput,
    MemberNotFound,
    PointsRedemptionUnavailable,
    RefundExceedsSale,
    SaleNotFound,
)
from domain.points import EntryType, Reference
from domain.sales import Pricing, RefundLine, RejectedCoupon, SaleLine
from domain.tiers import BASE_TIER, Tier, TierLadder
from tests.support.fakes import FakeWorld

STORE = UUID("00000000-0000-0000-0000-00000000a001")
OTHER_STORE = UUID("00000000-0000-0000-0000-00000000a002")
TERMINAL = UUID("00000000-0000-0000-0000-00000000b001")
GOLD = Tier("gold", "Gold", rank=1, threshold=100_000, earn_multiplier=Decimal("1.5"))
LINES = (LineInput("SHEET-1", 2, 10_000, "bedding"), LineInput("TOWEL-1", 1, 5_000))


@pytest.fixture
def world() -> FakeWorld:
    return FakeWorld()


async def enrol(world: FakeWorld, phone: str = "13800138000") -> UUID:
    async def run(uow: UnitOfWork) -> UUID:
        summary = await enrol_member(
            EnrolMember(phone=phone),
            uow,
            clock=world.clock,
            ids=world.ids,
            random=world.random,
            contacts=world.contacts,
        )
        return summary.member_id

    return await write(world.uow_factory, run)


async def make_gold(world: FakeWorld, member_id: UUID) -> None:
    world.db.tiers.current = TierLadder.of([BASE_TIER, GOLD])
    world.db.members.members[member_id].tier_code = "gold"


async def quote(world: FakeWorld, cmd: PriceSale) -> SaleOutcome:
    return await read(world.uow_factory, lambda uow: quote_sale(cmd, uow))


async def record(world: FakeWorld, cmd: RecordSale) -> SaleOutcome:
    return await write(
        world.uow_factory, lambda uow: record_sale(cmd, uow, clock=world.clock, ids=world.ids)
    )


async def refund(world: FakeWorld, cmd: RefundSale) -> RefundOutcome:
    return await write(
        world.uow_factory, lambda uow: refund_sale(cmd, uow, clock=world.clock, ids=world.ids)
    )


def sale_cmd(member_id: UUID | None, receipt: str = "R-1", **changes: object) -> RecordSale:
    fields: dict[str, object] = {
        "store_id": STORE,
        "terminal_id": TERMINAL,
        "receipt_id": receipt,
        "lines": LINES,
        "member_id": member_id,
    }
    fields.update(changes)
    return RecordSale(**fields)  # type: ignore[arg-type]


def balances(world: FakeWorld, member_id: UUID) -> tuple[int, int]:
    account = world.db.points.accounts[member_id]
    return account.available, account.debt


# Quotes -------------------------------------------------------------------------------------


async def test_a_quote_prices_the_basket_and_shows_the_points_it_would_earn(
    world: FakeWorld,
) -> None:
    member = await enrol(world)
    outcome = await quote(world, PriceSale(STORE, LINES, member_id=member))
    assert outcome == SaleOutcome(
        pricing=Pricing(
            subtotal=25_000,
            discount_total=0,
            points_redeemed=0,
            points_value=0,
            points_earned=250,
        ),
        points=Balances(0, 0),
        tier=TierView("member", "Member"),
    )
    assert outcome.pricing.payable == 25_000


async def test_a_quote_writes_nothing(world: FakeWorld) -> None:
    member = await enrol(world)
    before = world.db.snapshot()
    async with world.uow() as uow:
        await quote_sale(PriceSale(STORE, LINES, member_id=member, coupon_codes=["X"]), uow)
        await uow.commit()  # even a caller that commits finds nothing written
    assert world.db.snapshot() == before
    assert world.db.sales.sales == {}
    assert world.db.points.ledger == []


async def test_a_quote_reports_coupons_it_cannot_apply(world: FakeWorld) -> None:
    outcome = await quote(world, PriceSale(STORE, LINES, coupon_codes=["SAVE10", "VIP"]))
    assert outcome.pricing.rejected_coupons == (
        RejectedCoupon("SAVE10", "not_redeemable"),
        RejectedCoupon("VIP", "not_redeemable"),
    )
    assert outcome.pricing.applied_coupons == ()
    assert outcome.pricing.discount_total == 0


async def test_a_guest_quote_earns_no_points_and_has_no_balances(world: FakeWorld) -> None:
    outcome = await quote(world, PriceSale(STORE, LINES))
    assert outcome.pricing.points_earned == 0
    assert outcome.pricing.subtotal == 25_000
    assert (outcome.points, outcome.tier) == (None, None)


async def test_paying_with_points_is_not_available_yet(world: FakeWorld) -> None:
    member = await enrol(world)
    with pytest.raises(PointsRedemptionUnavailable):
        await quote(world, PriceSale(STORE, LINES, member_id=member, redeem_points=100))
    with pytest.raises(PointsRedemptionUnavailable):
        await record(world, sale_cmd(member, redeem_points=100))
    assert world.db.sales.sales == {}


async def test_a_quote_for_an_unknown_member_is_member_not_found(world: FakeWorld) -> None:
    with pytest.raises(MemberNotFound):
        await quote(world, PriceSale(STORE, LINES, member_id=UUID(int=404)))


async def test_a_quote_uses_the_members_tier_multiplier(world: FakeWorld) -> None:
    member = await enrol(world)
    await make_gold(world, member)
    outcome = await quote(world, PriceSale(STORE, LINES, member_id=member))
    assert outcome.pricing.points_earned == 375
    assert outcome.tier == TierView("gold", "Gold")


async def test_a_member_whose_tier_was_removed_earns_at_the_entry_tier(world: FakeWorld) -> None:
    member = await enrol(world)
    world.db.members.members[member].tier_code = "platinum"
    outcome = await quote(world, PriceSale(STORE, LINES, member_id=member))
    assert outcome.tier == TierView("member", "Member")
    assert outcome.pricing.points_earned == 250


# Recording sales ----------------------------------------------------------------------------


async def test_a_recorded_sale_credits_the_points_at_the_tier_multiplier(world: FakeWorld) -> None:
    member = await enrol(world)
    await make_gold(world, member)
    lines = (LineInput("SHEET-1", 1, 3_333),)  # 33.33 * 1.5 = 49.995 -> 49
    outcome = await record(world, sale_cmd(member, lines=lines))
    assert outcome.pricing.points_earned == 49
    assert outcome.points == Balances(49, 0)
    assert outcome.tier == TierView("gold", "Gold")
    assert balances(world, member) == (49, 0)
    [entry] = world.db.points.ledger
    assert entry.type is EntryType.EARN
    assert entry.points == 49
    assert entry.reference == Reference("sale", str(outcome.sale_id))
    assert entry.posting_key == f"sale:{outcome.sale_id}:earn"
    assert entry.created_at == world.clock.now()


async def test_a_recorded_sale_is_stored_as_it_was_priced(world: FakeWorld) -> None:
    member = await enrol(world)
    outcome = await record(world, sale_cmd(member))
    assert outcome.receipt_id == "R-1"
    assert outcome.sale_id is not None
    sale = world.db.sales.sales[outcome.sale_id]
    assert (sale.store_id, sale.terminal_id, sale.receipt_id) == (STORE, TERMINAL, "R-1")
    assert sale.member_id == member
    assert sale.currency == "CNY"
    assert sale.occurred_at == sale.recorded_at == world.clock.now()
    assert sale.lines == (
        SaleLine("SHEET-1", 2, 10_000, "bedding"),
        SaleLine("TOWEL-1", 1, 5_000, None),
    )
    assert sale.pricing == outcome.pricing
    assert (sale.refunded_amount, sale.points_reversed) == (0, 0)


async def test_a_sale_keeps_the_time_the_till_says_it_happened(world: FakeWorld) -> None:
    earlier = world.clock.now() - timedelta(hours=3)
    outcome = await record(world, sale_cmd(None, occurred_at=earlier))
    assert outcome.sale_id is not None
    sale = world.db.sales.sales[outcome.sale_id]
    assert sale.occurred_at == earlier
    assert sale.recorded_at == world.clock.now()


async def test_a_till_clock_up_to_five_minutes_ahead_is_tolerated(world: FakeWorld) -> None:
    ahead = world.clock.now() + timedelta(minutes=5)
    outcome = await record(world, sale_cmd(None, occurred_at=ahead))
    assert outcome.sale_id is not None


async def test_a_sale_more_than_five_minutes_in_the_future_is_rejected(world: FakeWorld) -> None:
    member = await enrol(world)
    ahead = world.clock.now() + timedelta(minutes=5, seconds=1)
    with pytest.raises(InvalidInput) as caught:
        await record(world, sale_cmd(member, occurred_at=ahead))
    assert caught.value.field == "occurred_at"
    assert world.db.sales.sales == {}
    assert balances(world, member) == (0, 0)


async def test_a_guest_sale_is_recorded_without_points(world: FakeWorld) -> None:
    outcome = await record(world, sale_cmd(None))
    assert outcome.pricing.points_earned == 0
    assert (outcome.points, outcome.tier) == (None, None)
    assert outcome.sale_id is not None
    assert world.db.sales.sales[outcome.sale_id].member_id is None
    assert world.db.points.ledger == []


async def test_a_receipt_recorded_twice_at_one_store_is_a_duplicate(world: FakeWorld) -> None:
    member = await enrol(world)
    await record(world, sale_cmd(member, receipt="R-7"))
    with pytest.raises(DuplicateReceipt):
        await record(world, sale_cmd(member, receipt="R-7"))
    assert len(world.db.sales.sales) == 1
    assert balances(world, member) == (250, 0)
    assert len(world.db.points.ledger) == 1


async def test_the_same_receipt_number_at_another_store_is_another_sale(world: FakeWorld) -> None:
    member = await enrol(world)
    await record(world, sale_cmd(member, receipt="R-7"))
    await record(world, sale_cmd(member, receipt="R-7", store_id=OTHER_STORE))
    assert len(world.db.sales.sales) == 2
    assert balances(world, member) == (500, 0)


async def test_a_sale_with_a_coupon_fails_and_writes_nothing(world: FakeWorld) -> None:
    member = await enrol(world)
    before = world.db.snapshot()
    with pytest.raises(CouponNotRedeemable):
        await record(world, sale_cmd(member, coupon_codes=["SAVE10"]))
    assert world.db.snapshot() == before


async def test_a_sale_for_an_unknown_member_is_member_not_found(world: FakeWorld) -> None:
    with pytest.raises(MemberNotFound):
        await record(world, sale_cmd(UUID(int=404)))
    assert world.db.sales.sales == {}


async def test_a_sale_without_lines_is_invalid(world: FakeWorld) -> None:
    with pytest.raises(InvalidInput):
        await record(world, sale_cmd(None, lines=()))


# Refunds ------------------------------------------------------------------------------------


async def recorded_sale(world: FakeWorld, member: UUID | None) -> UUID:
    outcome = await record(world, sale_cmd(member))
    assert outcome.sale_id is not None
    return outcome.sale_id


async def test_a_partial_refund_reverses_its_share_of_the_points(world: FakeWorld) -> None:
    member = await enrol(world)
    sale_id = await recorded_sale(world, member)
    world.clock.advance(days=1)
    outcome = await refund(world, RefundSale(STORE, sale_id, "RF-1", amount=10_000))
    assert outcome == RefundOutcome(
        refund_id="RF-1",
        sale_id=sale_id,
        amount=10_000,
        points_reversed=100,
        points=Balances(150, 0),
    )
    assert balances(world, member) == (150, 0)
    reversal = world.db.points.ledger[-1]
    assert reversal.type is EntryType.REVERSE
    assert reversal.points == -100
    assert reversal.created_at == world.clock.now()
    recorded = world.db.sales.refunds[(sale_id, "RF-1")]
    assert reversal.reference == Reference("refund", str(recorded.id))
    assert recorded.decision.amount == 10_000
    sale = world.db.sales.sales[sale_id]
    assert (sale.refunded_amount, sale.points_reversed) == (10_000, 100)


async def test_a_refund_by_lines_gives_back_those_lines(world: FakeWorld) -> None:
    member = await enrol(world)
    sale_id = await recorded_sale(world, member)
    outcome = await refund(
        world, RefundSale(STORE, sale_id, "RF-1", lines=[RefundLine("TOWEL-1", 1)])
    )
    assert (outcome.amount, outcome.points_reversed) == (5_000, 50)
    assert world.db.sales.sales[sale_id].refunded_quantities == {1: 1}
    assert balances(world, member) == (200, 0)


async def test_a_sale_refunded_in_three_pieces_takes_back_exactly_its_points(
    world: FakeWorld,
) -> None:
    member = await enrol(world)
    sale_id = await recorded_sale(world, member)
    amounts = [8_333, 8_333, 8_334]
    reversed_ = [
        (await refund(world, RefundSale(STORE, sale_id, f"RF-{n}", amount=a))).points_reversed
        for n, a in enumerate(amounts)
    ]
    assert reversed_ == [83, 83, 84]
    assert balances(world, member) == (0, 0)
    with pytest.raises(RefundExceedsSale):
        await refund(world, RefundSale(STORE, sale_id, "RF-9", amount=1))


async def test_a_refund_of_points_already_spent_leaves_a_debt(world: FakeWorld) -> None:
    member = await enrol(world)
    sale_id = await recorded_sale(world, member)
    # The member has since lost 200 of the 250 points (as spending them would).
    account = await world.db.points.get_for_update(member)
    account.reverse(200, reference=Reference("adjustment", "a1"), now=world.clock.now())
    await world.db.points.save(account)
    outcome = await refund(world, RefundSale(STORE, sale_id, "RF-1", amount=25_000))
    assert outcome.points_reversed == 250
    assert outcome.points == Balances(available=-200, pending=0)
    assert balances(world, member) == (0, 200)
    # The next sale pays the debt off first.
    await record(world, sale_cmd(member, receipt="R-2"))
    assert balances(world, member) == (50, 0)


async def test_refunding_a_guest_sale_gives_money_back_without_points(world: FakeWorld) -> None:
    sale_id = await recorded_sale(world, None)
    outcome = await refund(world, RefundSale(STORE, sale_id, "RF-1", amount=25_000))
    assert (outcome.amount, outcome.points_reversed, outcome.points) == (25_000, 0, None)
    assert world.db.points.ledger == []


async def test_another_stores_sale_cannot_be_refunded(world: FakeWorld) -> None:
    member = await enrol(world)
    sale_id = await recorded_sale(world, member)
    with pytest.raises(Forbidden):
        await refund(world, RefundSale(OTHER_STORE, sale_id, "RF-1", amount=100))
    assert world.db.sales.refunds == {}
    assert world.db.sales.sales[sale_id].refunded_amount == 0
    assert balances(world, member) == (250, 0)


async def test_refunding_an_unknown_sale_is_sale_not_found(world: FakeWorld) -> None:
    with pytest.raises(SaleNotFound):
        await refund(world, RefundSale(STORE, UUID(int=404), "RF-1", amount=100))


async def test_a_refund_id_used_before_on_the_sale_is_a_duplicate(world: FakeWorld) -> None:
    member = await enrol(world)
    sale_id = await recorded_sale(world, member)
    await refund(world, RefundSale(STORE, sale_id, "RF-1", amount=5_000))
    with pytest.raises(DuplicateRefund):
        await refund(world, RefundSale(STORE, sale_id, "RF-1", amount=5_000))
    sale = world.db.sales.sales[sale_id]
    assert (sale.refunded_amount, sale.points_reversed) == (5_000, 50)
    assert balances(world, member) == (200, 0)
    assert len(world.db.sales.refunds) == 1


async def test_the_same_refund_id_on_another_sale_is_fine(world: FakeWorld) -> None:
    first = await recorded_sale(world, None)
    second = (await record(world, sale_cmd(None, receipt="R-2"))).sale_id
    assert second is not None
    await refund(world, RefundSale(STORE, first, "RF-1", amount=100))
    await refund(world, RefundSale(STORE, second, "RF-1", amount=100))
    assert len(world.db.sales.refunds) == 2


async def test_reusing_the_refund_id_of_a_full_refund_is_a_duplicate(world: FakeWorld) -> None:
    sale_id = await recorded_sale(world, None)
    await refund(world, RefundSale(STORE, sale_id, "RF-1", amount=25_000))
    with pytest.raises(DuplicateRefund):
        await refund(world, RefundSale(STORE, sale_id, "RF-1", amount=25_000))


@pytest.mark.parametrize(
    "cmd",
    [
        RefundSale(STORE, UUID(int=1), "RF-1", lines=[RefundLine("TOWEL-1", 1)], amount=100),
        RefundSale(STORE, UUID(int=1), "RF-1"),
    ],
    ids=["lines and amount", "neither"],
)
async def test_a_refund_names_either_lines_or_an_amount(world: FakeWorld, cmd: RefundSale) -> None:
    with pytest.raises(InvalidInput) as caught:
        await refund(world, cmd)
    assert type(caught.value) is InvalidInput


async def test_a_refund_larger_than_the_sale_changes_nothing(world: FakeWorld) -> None:
    member = await enrol(world)
    sale_id = await recorded_sale(world, member)
    before = world.db.snapshot()
    with pytest.raises(RefundExceedsSale):
        await refund(world, RefundSale(STORE, sale_id, "RF-1", amount=25_001))
    with pytest.raises(RefundExceedsSale):
        await refund(world, RefundSale(STORE, sale_id, "RF-2", lines=[RefundLine("TOWEL-1", 2)]))
    assert world.db.snapshot() == before
