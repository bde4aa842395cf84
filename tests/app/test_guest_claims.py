"""Claims of guest sales through the use cases, on fakes: the code a guest sale gets, the
claim (once, within the window) and the points it earns, the same as a named sale's."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from uuid import uuid4

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
from domain.draws import ChanceRule, ChanceStatus, DrawCampaign, Prize
from domain.errors import (
    ClaimWindowClosed,
    ImportedSaleNotClaimable,
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
    return await write(
        world.uow_factory, lambda uow: claim_guest_sale(cmd, uow, clock=world.clock, ids=world.ids)
    )


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


def draw_campaign(world: FakeWorld, *, threshold: int, days: int = 10) -> DrawCampaign:
    now = world.clock.now()
    campaign = DrawCampaign(
        id=uuid4(),
        name="Spring draw",
        threshold=threshold,
        chances=ChanceRule.PER_MULTIPLE,
        chance_valid_days=14,
        starts_at=now - timedelta(days=1),
        ends_at=now + timedelta(days=days),
        prizes=(Prize("P5", "5 off", 1),),
    )
    world.db.draws.campaigns_by_id[campaign.id] = campaign
    return campaign


async def test_a_claimed_guest_sale_grants_the_draw_chances_a_named_sale_would_have(
    world: FakeWorld,
) -> None:
    member = await enrol(world)
    campaign = draw_campaign(world, threshold=10_000, days=2)  # the sale pays 25,000
    named_quote = await quote(world, PriceSale(STORE, LINES, member_id=member))
    guest = await guest_sale(world)
    assert guest.outcome.pricing.draw_chances == 0  # a guest earns none at the till
    # The campaign ends before the claim: the sale was made while it ran, so it still counts.
    world.clock.advance(days=3)
    assert guest.claim_code is not None

    claimed = await claim(world, ClaimWithCode(member, guest.claim_code))

    assert claimed.draw_chances == named_quote.pricing.draw_chances == 2
    chances = [c for c in world.db.draws.chances.values() if c.sale_id == claimed.sale_id]
    assert len(chances) == 2
    assert {(c.member_id, c.campaign_id, c.status) for c in chances} == {
        (member, campaign.id, ChanceStatus.UNPLAYED)
    }
    # Valid from the claim, as a late-syncing till's sale's chances are from its recording.
    assert {c.expires_at for c in chances} == {world.clock.now() + timedelta(days=14)}


async def test_a_claimed_sale_gets_no_chances_from_a_campaign_that_started_after_the_sale(
    world: FakeWorld,
) -> None:
    member = await enrol(world)
    guest = await guest_sale(world)
    world.clock.advance(days=1)
    later = draw_campaign(world, threshold=10_000)
    world.db.draws.campaigns_by_id[later.id] = replace(
        later, starts_at=world.clock.now() - timedelta(hours=1)
    )
    assert guest.claim_code is not None
    claimed = await claim(world, ClaimWithCode(member, guest.claim_code))
    assert claimed.points_earned > 0
    assert claimed.draw_chances == 0
    assert not world.db.draws.chances


async def test_refunding_a_claimed_sale_below_the_threshold_revokes_its_chances(
    world: FakeWorld,
) -> None:
    member = await enrol(world)
    draw_campaign(world, threshold=20_000)
    guest = await guest_sale(world, receipt="G-9")
    claimed = await claim(world, ClaimAtTill(member, STORE, TERMINAL, "G-9"))
    assert claimed.draw_chances == 1

    outcome = await refund(world, RefundSale(STORE, claimed.sale_id, "F-1", amount=10_000))

    assert outcome.draw_chances_revoked == 1
    assert {c.status for c in world.db.draws.chances.values()} == {ChanceStatus.REVOKED}
    assert guest.outcome.sale_id == claimed.sale_id


async def test_an_imported_guest_sale_is_refused_with_its_own_code_and_nothing_changes(
    world: FakeWorld,
) -> None:
    member = await enrol(world)
    guest = await guest_sale(world, receipt="IMP-1")
    assert guest.outcome.sale_id is not None
    sale = world.db.sales.sales[guest.outcome.sale_id]
    world.db.sales.sales[sale.id] = replace(sale, imported_from="online-retail")

    with pytest.raises(ImportedSaleNotClaimable):
        await claim(world, ClaimAtTill(member, STORE, TERMINAL, "IMP-1"))

    assert world.db.sales.sales[sale.id].member_id is None
    assert world.db.points.accounts[member].available == 0
