from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID

import pytest

from app.transactions import read, write
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
from domain.coupon_codes import check_symbol
from domain.earning_rules import Breakdown
from domain.errors import (
    CouponNotRedeemable,
    DuplicateReceipt,
    DuplicateRefund,
    InsufficientPoints,
    InvalidInput,
    MemberNotFound,
    OtherStoreReturnsDisabled,
    PointsExceedPayable,
    RedemptionNeedsMember,
    RefundExceedsSale,
    SaleNotFound,
    SkuNotOnSale,
)
from domain.points import Consumption, EntryType, Reference
from domain.program import ExpiryKind, PointsExpiryRule, ProgramSettings
from domain.sale_dating import SaleDating
from domain.sales import Pricing, RefundLine, RejectedCoupon, SaleLine
from domain.tiers import BASE_TIER, Tier, TierLadder
from tests.support.fakes import OTHER_STORE, STORE, TERMINAL, FakeWorld, enrol

GOLD = Tier("gold", "Gold", rank=1, threshold=100_000, earn_multiplier=Decimal("1.5"))
LINES = (LineInput("SHEET-1", 2, 10_000, "bedding"), LineInput("TOWEL-1", 1, 5_000))


async def make_gold(world: FakeWorld, member_id: UUID) -> None:
    world.db.tiers.current = TierLadder.of([BASE_TIER, GOLD])
    world.db.members.members[member_id].tier_code = "gold"


async def quote(world: FakeWorld, cmd: PriceSale) -> SaleOutcome:
    return await read(
        world.uow_factory, lambda uow: quote_sale(cmd, uow, clock=world.clock, dating=SaleDating())
    )


async def record(
    world: FakeWorld, cmd: RecordSale, dating: SaleDating = SaleDating()
) -> SaleOutcome:
    return await write(
        world.uow_factory,
        lambda uow: record_sale(cmd, uow, clock=world.clock, ids=world.ids, dating=dating),
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
            breakdown=Breakdown(base=250, tier_multiplier=Decimal(1)),
        ),
        points=Balances(0, 0),
        tier=TierView("member", "Member"),
    )
    assert outcome.pricing.payable == 25_000


async def test_a_quote_writes_nothing(world: FakeWorld) -> None:
    member = await enrol(world)
    before = world.db.snapshot()
    async with world.uow() as uow:
        await quote_sale(
            PriceSale(STORE, LINES, member_id=member, coupon_codes=["X"]),
            uow,
            clock=world.clock,
            dating=SaleDating(),
        )
        await uow.commit()  # even a caller that commits finds nothing written
    assert world.db.snapshot() == before
    assert world.db.sales.sales == {}
    assert world.db.points.ledger == []


async def test_a_quote_reports_coupons_it_cannot_apply(world: FakeWorld) -> None:
    unknown = "0000000000000" + "0" + check_symbol("00000000000000")
    outcome = await quote(world, PriceSale(STORE, LINES, coupon_codes=["SAVE10", unknown]))
    assert outcome.pricing.rejected_coupons == (
        RejectedCoupon("SAVE10", "malformed"),  # fails the check symbol: never looked up
        RejectedCoupon(unknown, "not_redeemable"),
    )
    assert outcome.pricing.applied_coupons == ()
    assert outcome.pricing.discount_total == 0


async def test_a_guest_quote_earns_no_points_and_has_no_balances(world: FakeWorld) -> None:
    outcome = await quote(world, PriceSale(STORE, LINES))
    assert outcome.pricing.points_earned == 0
    assert outcome.pricing.subtotal == 25_000
    assert (outcome.points, outcome.tier) == (None, None)


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


# Paying with points -------------------------------------------------------------------------


async def fund(world: FakeWorld, member: UUID, points: int, receipt: str = "R-FUND") -> UUID:
    """The member earns ``points`` (at one point per yuan) on a sale of their own."""
    outcome = await record(
        world, sale_cmd(member, receipt=receipt, lines=(LineInput("DUVET", 1, points * 100),))
    )
    assert outcome.pricing.points_earned == points
    assert outcome.sale_id is not None
    return outcome.sale_id


def set_program(world: FakeWorld, **changes: object) -> ProgramSettings:
    world.db.program.settings = replace(world.db.program.settings, **changes)  # type: ignore[arg-type]
    return world.db.program.settings


def entries_of(world: FakeWorld, sale_id: UUID | None) -> list[tuple[EntryType, int, str]]:
    return [
        (e.type, e.points, e.posting_key)
        for e in world.db.points.ledger
        if e.reference == Reference("sale", str(sale_id))
    ]


async def test_a_sale_paid_partly_with_points_debits_them_and_earns_on_what_is_left_to_pay(
    world: FakeWorld,
) -> None:
    member = await enrol(world)
    await fund(world, member, 500)
    outcome = await record(world, sale_cmd(member, receipt="R-2", redeem_points=300))
    assert outcome.pricing == Pricing(
        subtotal=25_000,
        discount_total=0,
        points_redeemed=300,
        points_value=300,
        points_earned=247,  # on the 247.00 paid, not on 250.00
        breakdown=Breakdown(base=247, tier_multiplier=Decimal(1)),
    )
    assert outcome.pricing.payable == 24_700
    assert outcome.points == Balances(available=500 - 300 + 247, pending=0)
    assert entries_of(world, outcome.sale_id) == [
        (EntryType.REDEEM, -300, f"sale:{outcome.sale_id}:redeem"),
        (EntryType.EARN, 247, f"sale:{outcome.sale_id}:earn"),
    ]
    assert [(lot.points, lot.remaining) for lot in world.db.points.lots_of(member)] == [
        (500, 200),
        (247, 247),
    ]
    assert outcome.sale_id is not None
    assert world.db.sales.sales[outcome.sale_id].pricing == outcome.pricing


async def test_a_quote_shows_what_paying_with_points_would_come_to_and_writes_nothing(
    world: FakeWorld,
) -> None:
    member = await enrol(world)
    await fund(world, member, 500)
    before = world.db.snapshot()
    outcome = await quote(world, PriceSale(STORE, LINES, member_id=member, redeem_points=300))
    assert (outcome.pricing.points_value, outcome.pricing.payable) == (300, 24_700)
    assert outcome.pricing.points_earned == 247
    assert outcome.points == Balances(500, 0)  # what the member has now
    assert world.db.snapshot() == before


async def test_paying_with_more_points_than_available_is_refused_and_writes_nothing(
    world: FakeWorld,
) -> None:
    member = await enrol(world)
    await fund(world, member, 500)
    before = world.db.snapshot()
    with pytest.raises(InsufficientPoints, match="501 points requested, 500 available"):
        await quote(world, PriceSale(STORE, LINES, member_id=member, redeem_points=501))
    with pytest.raises(InsufficientPoints):
        await record(world, sale_cmd(member, receipt="R-2", redeem_points=501))
    assert world.db.snapshot() == before
    outcome = await record(world, sale_cmd(member, receipt="R-2", redeem_points=500))
    assert outcome.points == Balances(available=245, pending=0)


async def test_pending_points_cannot_pay(world: FakeWorld) -> None:
    member = await enrol(world)
    await record(world, sale_cmd(member, receipt="R-WEB", channel="web"))
    with pytest.raises(InsufficientPoints, match="1 points requested, 0 available"):
        await quote(world, PriceSale(STORE, LINES, member_id=member, redeem_points=1))
    with pytest.raises(InsufficientPoints):
        await record(world, sale_cmd(member, receipt="R-2", redeem_points=1))


async def test_only_a_member_can_pay_with_points(world: FakeWorld) -> None:
    with pytest.raises(RedemptionNeedsMember):
        await quote(world, PriceSale(STORE, LINES, redeem_points=1))
    with pytest.raises(RedemptionNeedsMember):
        await record(world, sale_cmd(None, redeem_points=1))
    assert world.db.sales.sales == {}


async def test_points_worth_more_than_is_left_to_pay_are_refused(world: FakeWorld) -> None:
    member = await enrol(world)
    await fund(world, member, 500)
    socks = (LineInput("SOCK", 1, 100),)
    with pytest.raises(PointsExceedPayable):
        await quote(world, PriceSale(STORE, socks, member_id=member, redeem_points=101))
    with pytest.raises(PointsExceedPayable):
        await record(world, sale_cmd(member, receipt="R-2", lines=socks, redeem_points=101))
    assert balances(world, member) == (500, 0)
    assert len(world.db.sales.sales) == 1


async def test_points_are_valued_at_the_programmes_point_value_floored(world: FakeWorld) -> None:
    set_program(world, point_value=Decimal("0.5"))
    member = await enrol(world)
    await fund(world, member, 500)
    outcome = await record(world, sale_cmd(member, receipt="R-2", redeem_points=301))
    # 301 points at half a fen each are worth 150.5 fen, floored to 150; 300 points buy that.
    assert (outcome.pricing.points_value, outcome.pricing.payable) == (150, 24_850)
    assert outcome.pricing.points_redeemed == 300
    assert outcome.pricing.points_earned == 248
    assert outcome.points == Balances(500 - 300 + 248, 0)


async def test_a_negative_number_of_points_to_pay_with_is_invalid(world: FakeWorld) -> None:
    member = await enrol(world)
    await fund(world, member, 500)
    with pytest.raises(InvalidInput):
        await quote(world, PriceSale(STORE, LINES, member_id=member, redeem_points=-100))
    with pytest.raises(InvalidInput):
        await record(world, sale_cmd(member, receipt="R-2", redeem_points=-100))


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


# Pending points from online orders ---------------------------------------------------------


async def test_an_online_sale_earns_pending_points_outside_the_ledger(world: FakeWorld) -> None:
    member = await enrol(world)
    await fund(world, member, 100)
    program = await world.db.program.get()
    outcome = await record(world, sale_cmd(member, receipt="R-WEB", channel="web"))
    assert outcome.points == Balances(available=100, pending=250)
    assert balances(world, member) == (100, 0)
    assert world.db.points.accounts[member].pending == 250
    assert entries_of(world, outcome.sale_id) == []
    lot = world.db.points.lots_of(member)[-1]
    assert (lot.pending, lot.points, lot.remaining) == (True, 250, 250)
    assert lot.release_at == program.pending_until(world.clock.now())
    assert lot.release_at == datetime(2025, 3, 15, 16, 0, tzinfo=UTC)  # 14 days, Shanghai
    sale = world.db.sales.sales[outcome.sale_id] if outcome.sale_id else None
    assert sale is not None
    assert sale.channel == "web"


async def test_with_no_pending_days_online_points_are_available_at_once(world: FakeWorld) -> None:
    set_program(world, pending_days=0)
    member = await enrol(world)
    outcome = await record(world, sale_cmd(member, channel="web"))
    assert outcome.points == Balances(available=250, pending=0)
    assert [e.type for e in world.db.points.ledger] == [EntryType.EARN]


async def test_refunding_an_online_sale_still_pending_cancels_its_points_without_an_entry(
    world: FakeWorld,
) -> None:
    member = await enrol(world)
    await fund(world, member, 100)
    sale_id = (await record(world, sale_cmd(member, receipt="R-WEB", channel="web"))).sale_id
    assert sale_id is not None
    ledger_before = list(world.db.points.ledger)
    part = await refund(world, RefundSale(STORE, sale_id, "RF-1", amount=10_000))
    assert (part.points_reversed, part.points) == (100, Balances(available=100, pending=150))
    rest = await refund(world, RefundSale(STORE, sale_id, "RF-2", amount=15_000))
    assert (rest.points_reversed, rest.points) == (150, Balances(available=100, pending=0))
    assert world.db.points.ledger == ledger_before
    lot = world.db.points.lots_of(member)[-1]
    assert (lot.pending, lot.points, lot.remaining) == (True, 0, 0)
    assert balances(world, member) == (100, 0)


# Expiry of earned points --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "expires_at"),
    [
        # Till time 23:30 on 28 February in Shanghai; recorded at 17:30 on 1 March.
        (PointsExpiryRule(ExpiryKind.DAYS, 1), datetime(2025, 3, 1, 16, 0, tzinfo=UTC)),
        (PointsExpiryRule(ExpiryKind.END_OF_MONTH, 1), datetime(2025, 3, 31, 16, 0, tzinfo=UTC)),
        (PointsExpiryRule(ExpiryKind.END_OF_YEAR), datetime(2026, 12, 31, 16, 0, tzinfo=UTC)),
        (PointsExpiryRule(), None),
    ],
    ids=["1 day", "end of next month", "end of next year", "never"],
)
async def test_earned_points_expire_by_the_programme_rule_from_when_the_sale_happened(
    world: FakeWorld, rule: PointsExpiryRule, expires_at: datetime | None
) -> None:
    set_program(world, points_expiry=rule)
    member = await enrol(world)
    occurred = datetime(2025, 2, 28, 15, 30, tzinfo=UTC)
    outcome = await record(world, sale_cmd(member, occurred_at=occurred))
    [lot] = world.db.points.lots_of(member)
    assert lot.expires_at == expires_at
    assert lot.earned_at == world.clock.now()
    [entry] = world.db.points.ledger
    assert (entry.expires_at, entry.reference) == (
        expires_at,
        Reference("sale", str(outcome.sale_id)),
    )


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
        points_restored=0,
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
    # The member spends 200 of the 250 points on a 2.00 pair of socks.
    socks = (LineInput("SOCK", 1, 200),)
    paid = await record(world, sale_cmd(member, receipt="R-2", lines=socks, redeem_points=200))
    assert (paid.pricing.payable, paid.points) == (0, Balances(50, 0))
    outcome = await refund(world, RefundSale(STORE, sale_id, "RF-1", amount=25_000))
    assert outcome.points_reversed == 250
    assert outcome.points == Balances(available=-200, pending=0)
    assert balances(world, member) == (0, 200)
    # The next sale pays the debt off first.
    await record(world, sale_cmd(member, receipt="R-3"))
    assert balances(world, member) == (50, 0)


async def test_refunding_a_guest_sale_gives_money_back_without_points(world: FakeWorld) -> None:
    sale_id = await recorded_sale(world, None)
    outcome = await refund(world, RefundSale(STORE, sale_id, "RF-1", amount=25_000))
    assert (outcome.amount, outcome.points_reversed, outcome.points) == (25_000, 0, None)
    assert world.db.points.ledger == []


async def test_another_stores_sale_cannot_be_refunded_when_returns_stay_at_the_store(
    world: FakeWorld,
) -> None:
    member = await enrol(world)
    sale_id = await recorded_sale(world, member)
    world.db.program.settings = replace(world.db.program.settings, refunds_at_any_store=False)
    with pytest.raises(OtherStoreReturnsDisabled):
        await refund(world, RefundSale(OTHER_STORE, sale_id, "RF-1", amount=100))
    assert world.db.sales.refunds == {}
    assert world.db.sales.sales[sale_id].refunded_amount == 0
    assert balances(world, member) == (250, 0)


async def test_another_stores_sale_is_refunded_by_default_and_audited_with_both_stores(
    world: FakeWorld,
) -> None:
    member = await enrol(world)
    sale_id = await recorded_sale(world, member)
    outcome = await refund(
        world, RefundSale(OTHER_STORE, sale_id, "RF-1", amount=100, actor="pos:till")
    )
    assert outcome.amount == 100
    (record,) = [r for r in world.db.audit.records if r.action == "sale.refunded_at_other_store"]
    assert (record.actor, record.subject) == ("pos:till", f"sale:{sale_id}")
    assert record.details == {
        "sale_store_id": str(STORE),
        "refund_store_id": str(OTHER_STORE),
        "refund_id": "RF-1",
        "amount": 100,
    }


async def test_refunding_an_sku_not_on_the_sale_names_it_and_refunds_nothing(
    world: FakeWorld,
) -> None:
    member = await enrol(world)
    sale_id = await recorded_sale(world, member)
    with pytest.raises(SkuNotOnSale, match="'SOCK' is not on this sale"):
        await refund(world, RefundSale(STORE, sale_id, "RF-1", lines=[RefundLine("SOCK", 1)]))
    assert world.db.sales.sales[sale_id].refunded_amount == 0


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


# Refunds of sales paid with points ---------------------------------------------------------


async def test_a_full_refund_restores_redeemed_points_with_their_expiry_and_reverses_earned_ones(
    world: FakeWorld,
) -> None:
    program = set_program(world, points_expiry=PointsExpiryRule(ExpiryKind.DAYS, 30))
    member = await enrol(world)
    await fund(world, member, 300, receipt="R-A")
    expires_a = program.expiry_for(world.clock.now())
    world.clock.advance(days=10)
    await fund(world, member, 300, receipt="R-B")
    expires_b = program.expiry_for(world.clock.now())
    world.clock.advance(days=1)
    # Pays with 450 points: all 300 of the first lot, 150 of the second.
    paid = await record(world, sale_cmd(member, receipt="R-PAY", redeem_points=450))
    assert paid.sale_id is not None
    assert (paid.pricing.payable, paid.pricing.points_earned) == (24_550, 245)
    assert paid.points == Balances(150 + 245, 0)
    assert await world.db.points.consumed_by(member, f"sale:{paid.sale_id}:redeem") == [
        Consumption(expires_a, 300),
        Consumption(expires_b, 150),
    ]
    world.clock.advance(days=2)

    sheets = await refund(
        world, RefundSale(STORE, paid.sale_id, "RF-1", lines=[RefundLine("SHEET-1", 2)])
    )
    # 200.00 of 250.00 worth of lines: 196.40 of the 245.50 paid back, its share of points.
    assert (sheets.amount, sheets.points_restored, sheets.points_reversed) == (19_640, 360, 196)
    towel = await refund(
        world, RefundSale(STORE, paid.sale_id, "RF-2", lines=[RefundLine("TOWEL-1", 1)])
    )
    assert (towel.amount, towel.points_restored, towel.points_reversed) == (4_910, 90, 49)

    assert towel.points == Balances(600, 0)  # as before the sale
    restored: dict[datetime | None, int] = {}
    for lot in world.db.points.lots_of(member):
        if lot.reference.kind == "refund":
            restored[lot.expires_at] = restored.get(lot.expires_at, 0) + lot.points
    assert restored == {expires_a: 300, expires_b: 150}
    own = next(
        lot
        for lot in world.db.points.lots_of(member)
        if lot.reference == Reference("sale", str(paid.sale_id))
    )
    assert (own.points, own.remaining) == (245, 0)  # reversed from the sale's own lot
    refund_entries = [e for e in world.db.points.ledger if e.reference.kind == "refund"]
    assert sorted((e.type, e.points) for e in refund_entries) == sorted(
        [
            (EntryType.REVERSE, -196),
            (EntryType.RESTORE, 360),
            (EntryType.REVERSE, -49),
            (EntryType.RESTORE, 90),
        ]
    )
    sale = world.db.sales.sales[paid.sale_id]
    assert (sale.points_restored, sale.points_reversed) == (450, 245)


async def test_a_refund_by_amount_restores_its_share_of_the_points_paid_with(
    world: FakeWorld,
) -> None:
    member = await enrol(world)
    await fund(world, member, 500)
    paid = await record(world, sale_cmd(member, receipt="R-2", redeem_points=500))
    assert paid.sale_id is not None
    assert paid.pricing.payable == 24_500
    outcome = await refund(world, RefundSale(STORE, paid.sale_id, "RF-1", amount=4_900))
    # 49.00 of 245.00: a fifth of the 500 points and of the 245 earned.
    assert (outcome.points_restored, outcome.points_reversed) == (100, 49)
    assert outcome.points == Balances(245 - 49 + 100, 0)


async def test_a_sale_paid_entirely_with_points_gives_them_back_by_the_lines_refunded(
    world: FakeWorld,
) -> None:
    member = await enrol(world)
    await fund(world, member, 25_000)
    paid = await record(world, sale_cmd(member, receipt="R-2", redeem_points=25_000))
    assert paid.sale_id is not None
    assert (paid.pricing.payable, paid.pricing.points_earned, paid.points) == (
        0,
        0,
        Balances(0, 0),
    )
    towel = await refund(
        world, RefundSale(STORE, paid.sale_id, "RF-1", lines=[RefundLine("TOWEL-1", 1)])
    )
    assert (towel.amount, towel.points_restored, towel.points) == (0, 5_000, Balances(5_000, 0))
    sheets = await refund(
        world, RefundSale(STORE, paid.sale_id, "RF-2", lines=[RefundLine("SHEET-1", 2)])
    )
    assert (sheets.amount, sheets.points_restored, sheets.points) == (
        0,
        20_000,
        Balances(25_000, 0),
    )


async def test_restored_points_pay_off_a_debt_first(world: FakeWorld) -> None:
    member = await enrol(world)
    earned_on = await fund(world, member, 500)
    socks = (LineInput("SOCK", 1, 400),)
    paid = await record(world, sale_cmd(member, receipt="R-2", lines=socks, redeem_points=400))
    assert paid.sale_id is not None
    assert paid.points == Balances(100, 0)
    # Refunding the sale that earned the points takes back 500: 400 of them were spent.
    clawed = await refund(world, RefundSale(STORE, earned_on, "RF-1", amount=50_000))
    assert clawed.points == Balances(-400, 0)
    back = await refund(
        world, RefundSale(STORE, paid.sale_id, "RF-2", lines=[RefundLine("SOCK", 1)])
    )
    assert (back.points_restored, back.points) == (400, Balances(0, 0))
    assert balances(world, member) == (0, 0)
    restored = world.db.points.lots_of(member)[-1]
    assert (restored.reference.kind, restored.points, restored.remaining) == ("refund", 400, 0)
