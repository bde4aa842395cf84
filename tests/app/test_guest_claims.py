"""Claims of guest sales through the use cases, on fakes: the code a guest sale gets, the
claim (once, within the window) and the points it earns, the same as a named sale's."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.transactions import write
from app.use_cases.guest_claims import (
    ClaimAtTill,
    Claimed,
    ClaimWithCode,
    RecordedSale,
    claim_guest_sale,
    record_sale_with_claim_code,
)
from app.use_cases.sales import PriceSale, RefundSale
from domain.errors import (
    ClaimWindowClosed,
    SaleAlreadyClaimed,
    SaleClaimNotFound,
    SaleNotClaimable,
)
from domain.points import EntryType, Reference
from domain.program import ExpiryKind, PointsExpiryRule
from domain.sale_dating import SaleDating
from tests.app.test_sales import (
    LINES,
    make_gold,
    quote,
    refund,
    sale_cmd,
    set_program,
)
from tests.support.fakes import STORE, TERMINAL, FakeWorld, enrol


async def guest_sale(world: FakeWorld, receipt: str = "G-1") -> RecordedSale:
    return await write(
        world.uow_factory,
        lambda uow: record_sale_with_claim_code(
            sale_cmd(None, receipt=receipt),
            uow,
            clock=world.clock,
            ids=world.ids,
            dating=SaleDating(),
            random=world.random,
        ),
    )


async def claim(world: FakeWorld, cmd: ClaimWithCode | ClaimAtTill) -> Claimed:
    return await write(world.uow_factory, lambda uow: claim_guest_sale(cmd, uow, clock=world.clock))


async def test_a_guest_sale_gets_a_claim_code_and_a_members_sale_none(world: FakeWorld) -> None:
    member = await enrol(world)
    guest = await guest_sale(world)
    named = await write(
        world.uow_factory,
        lambda uow: record_sale_with_claim_code(
            sale_cmd(member, receipt="M-1"),
            uow,
            clock=world.clock,
            ids=world.ids,
            dating=SaleDating(),
            random=world.random,
        ),
    )
    assert guest.claim_code is not None
    assert named.claim_code is None
    assert len(world.db.guest_claims.claims) == 1


async def test_a_claimed_guest_sale_earns_what_the_sale_would_have_earned_for_the_member(
    world: FakeWorld,
) -> None:
    set_program(world, points_expiry=PointsExpiryRule(ExpiryKind.DAYS, 30))
    member = await enrol(world)
    await make_gold(world, member)  # the tier's multiplier applies, as at the till
    sold_at = world.clock.now()
    guest = await guest_sale(world)
    named_quote = await quote(world, PriceSale(STORE, LINES, member_id=member))
    world.clock.advance(days=3)
    assert guest.claim_code is not None

    claimed = await claim(world, ClaimWithCode(member, guest.claim_code.lower()))

    assert claimed.points_earned == named_quote.pricing.points_earned > 0
    assert claimed.points.available == claimed.points_earned
    sale = world.db.sales.sales[claimed.sale_id]
    assert (sale.member_id, sale.pricing.points_earned) == (member, claimed.points_earned)
    entry = world.db.points.ledger[-1]
    assert (entry.type, entry.reference) == (EntryType.EARN, Reference("sale", str(sale.id)))
    # The lot expires counted from the purchase, as the sale's own would.
    program = world.db.program.settings
    assert entry.expires_at == program.expiry_for(sold_at)


async def test_a_sale_is_claimed_once(world: FakeWorld) -> None:
    first, second = await enrol(world), await enrol(world, phone="13800138001")
    guest = await guest_sale(world)
    assert guest.claim_code is not None
    await claim(world, ClaimWithCode(first, guest.claim_code))
    for member in (first, second):
        with pytest.raises(SaleAlreadyClaimed):
            await claim(world, ClaimWithCode(member, guest.claim_code))
    assert world.db.points.accounts[second].available == 0


async def test_a_claim_after_the_programmes_window_is_refused(world: FakeWorld) -> None:
    set_program(world, guest_claim_days=7)
    member = await enrol(world)
    guest = await guest_sale(world)
    assert guest.claim_code is not None
    world.clock.advance(days=7, seconds=1)
    with pytest.raises(ClaimWindowClosed):
        await claim(world, ClaimWithCode(member, guest.claim_code))
    set_program(world, guest_claim_days=0)  # claims off
    world.clock.advance(days=-7)
    with pytest.raises(ClaimWindowClosed):
        await claim(world, ClaimWithCode(member, guest.claim_code))


async def test_a_refunded_or_a_members_sale_cannot_be_claimed_and_an_unknown_code_is_not_found(
    world: FakeWorld,
) -> None:
    member = await enrol(world)
    guest = await guest_sale(world)
    assert guest.claim_code is not None
    assert guest.outcome.sale_id is not None
    await refund(world, RefundSale(STORE, guest.outcome.sale_id, "F-1", amount=100))
    with pytest.raises(SaleNotClaimable):
        await claim(world, ClaimWithCode(member, guest.claim_code))
    await write(
        world.uow_factory,
        lambda uow: record_sale_with_claim_code(
            sale_cmd(member, receipt="M-1"),
            uow,
            clock=world.clock,
            ids=world.ids,
            dating=SaleDating(),
            random=world.random,
        ),
    )
    with pytest.raises(SaleNotClaimable):
        await claim(world, ClaimAtTill(member, STORE, TERMINAL, "M-1"))
    with pytest.raises(SaleClaimNotFound):
        await claim(world, ClaimWithCode(member, "not-a-code"))
    with pytest.raises(SaleClaimNotFound):
        await claim(world, ClaimAtTill(member, STORE, TERMINAL, "NO-SUCH-RECEIPT"))


async def test_a_till_claims_by_receipt_and_a_later_refund_reverses_the_claimed_points(
    world: FakeWorld,
) -> None:
    member = await enrol(world)
    guest = await guest_sale(world, receipt="G-7")
    claimed = await claim(world, ClaimAtTill(member, STORE, TERMINAL, "G-7"))
    assert claimed.points_earned > 0
    stored = world.db.guest_claims.claims[claimed.sale_id]
    assert (stored.member_id, stored.claimed_via, stored.code) == (
        member,
        "pos",
        guest.claim_code.replace("-", "") if guest.claim_code else None,
    )

    outcome = await refund(world, RefundSale(STORE, claimed.sale_id, "F-1", amount=25_000))

    assert outcome.points_reversed == claimed.points_earned
    assert world.db.points.accounts[member].available == 0


async def test_claim_window_counts_from_the_purchase(world: FakeWorld) -> None:
    set_program(world, guest_claim_days=2)
    member = await enrol(world)
    guest = await guest_sale(world)
    assert guest.claim_code is not None
    world.clock.advance(timedelta(days=2))
    claimed = await claim(world, ClaimWithCode(member, guest.claim_code))
    assert claimed.points_earned > 0
