"""Claims of guest sales: the claim code a guest sale's receipt carries, and the claim.

See domain/guest_claims.py for the rules. The points are worked out by
``sales.price_for_member``, the very calculation a quote and a sale run, for the sale's own
lines, store, channel and date, as if the member had been named at the till.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol
from uuid import UUID

from app.unit_of_work import WithGuestClaims
from app.use_cases.announcements import save_announced
from app.use_cases.erased_members import named_member
from app.use_cases.sales import (
    LineInput,
    PriceSale,
    RecordSale,
    SaleOutcome,
    SalesUnit,
    grant_chances,
    price_for_member,
    record_rule_awards,
    record_sale,
)
from app.use_cases.tiers import upgrade_if_qualified
from app.use_cases.views import Balances, TierView
from domain.coupon_codes import display, new_code, normalise
from domain.errors import (
    ClaimWindowClosed,
    ImportedSaleNotClaimable,
    SaleAlreadyClaimed,
    SaleClaimNotFound,
    SaleNotClaimable,
)
from domain.guest_claims import CLAIMED_AT_TILL, CLAIMED_IN_APP, GuestSaleClaim, claim_window_open
from domain.ports import Clock, IdGenerator, RandomSource
from domain.sale_dating import SaleDating
from domain.sales import ONLINE

CODE_ATTEMPTS = 3


class GuestClaimsUnit(SalesUnit, WithGuestClaims, Protocol):
    """What these use cases use of the unit of work (any ``UnitOfWork`` has it)."""


@dataclass(frozen=True, slots=True)
class RecordedSale:
    outcome: SaleOutcome
    claim_code: str | None  # a guest sale's, for the receipt (display form); None otherwise


async def record_sale_with_claim_code(
    cmd: RecordSale,
    uow: GuestClaimsUnit,
    *,
    clock: Clock,
    ids: IdGenerator,
    dating: SaleDating,
    random: RandomSource,
) -> RecordedSale:
    """Records the sale (``sales.record_sale``); a guest sale also gets the claim code the
    till prints, in the same transaction."""
    outcome = await record_sale(cmd, uow, clock=clock, ids=ids, dating=dating)
    if cmd.member_id is not None or outcome.sale_id is None:
        return RecordedSale(outcome, None)
    for _ in range(CODE_ATTEMPTS):
        code = new_code(random)
        if await uow.guest_claims.add(GuestSaleClaim(outcome.sale_id, code)):
            return RecordedSale(outcome, display(code))
    raise RuntimeError(f"could not draw a unique claim code after {CODE_ATTEMPTS} rounds")


@dataclass(frozen=True, slots=True)
class ClaimWithCode:
    """The member claims in the app, with the code on the receipt."""

    member_id: UUID
    code: str


@dataclass(frozen=True, slots=True)
class ClaimAtTill:
    """A till claims for a member it looked up, naming a receipt of its store."""

    member_id: UUID
    store_id: UUID
    terminal_id: UUID | None
    receipt_id: str


@dataclass(frozen=True, slots=True)
class Claimed:
    sale_id: UUID
    receipt_id: str
    points_earned: int
    points: Balances
    tier: TierView
    draw_chances: int = 0


async def _sale_id(cmd: ClaimWithCode | ClaimAtTill, uow: GuestClaimsUnit) -> UUID:
    if isinstance(cmd, ClaimWithCode):
        code = normalise(cmd.code)
        sale_id = await uow.guest_claims.sale_for_code(code) if code is not None else None
    else:
        sale = await uow.sales.by_receipt(cmd.store_id, cmd.receipt_id)
        sale_id = sale.id if sale is not None else None
    if sale_id is None:
        raise SaleClaimNotFound()
    return sale_id


async def claim_guest_sale(
    cmd: ClaimWithCode | ClaimAtTill, uow: GuestClaimsUnit, *, clock: Clock, ids: IdGenerator
) -> Claimed:
    """The guest sale becomes the member's and earns them its points, once.

    Locks the sale's row first (as a refund does), then the member's account (as a sale
    does): two claims of one sale queue on the row, and the second finds it claimed.
    """
    now = clock.now()
    sale = await uow.sales.get_for_update(await _sale_id(cmd, uow))
    if sale is None:
        raise SaleClaimNotFound()
    if sale.imported_from is not None:
        # Refused here, not by the database's CHECK (imported sales earn nothing) as a 500.
        raise ImportedSaleNotClaimable(
            f"this sale was imported from {sale.imported_from}; imported history earns no points"
        )
    existing = await uow.guest_claims.of_sale(sale.id)
    if sale.member_id is not None:
        if existing is not None and existing.member_id is not None:
            raise SaleAlreadyClaimed()
        raise SaleNotClaimable("this sale named a member when it was recorded")
    if sale.refunded_amount > 0 or sale.refunded_quantities:
        raise SaleNotClaimable("this sale was refunded")
    program = await uow.program.get()
    if not claim_window_open(sale.occurred_at, now, program.guest_claim_days):
        raise ClaimWindowClosed(
            f"a guest sale can be claimed up to {program.guest_claim_days} days after it"
        )
    policy = await uow.tiers.policy()
    window_start = policy.window_start(now)
    buyer = await uow.sales.buyer_for_update(cmd.member_id, window_start, spending=False)
    member = named_member(buyer.member if buyer else None)
    assert buyer is not None
    pricing, campaigns = await price_for_member(
        PriceSale(
            store_id=sale.store_id,
            lines=[LineInput(x.sku, x.quantity, x.unit_price, x.category) for x in sale.lines],
            member_id=member.id,
            channel=sale.channel,
            occurred_at=sale.occurred_at,
        ),
        uow,
        now,
        member,
    )
    sale.member_id = member.id
    sale.pricing = replace(
        sale.pricing, points_earned=pricing.points_earned, breakdown=pricing.breakdown
    )
    via_till = isinstance(cmd, ClaimAtTill)
    await uow.guest_claims.attach(
        sale,
        GuestSaleClaim(
            sale_id=sale.id,
            code=existing.code if existing is not None else None,
            member_id=member.id,
            claimed_at=now,
            claimed_via=CLAIMED_AT_TILL if via_till else CLAIMED_IN_APP,
            terminal_id=cmd.terminal_id if isinstance(cmd, ClaimAtTill) else None,
        ),
    )
    account = buyer.account
    # As the sale would have: lots date from the purchase, online points wait their window.
    account.earn(
        pricing.points_earned,
        reference=sale.reference,
        now=now,
        expires_at=program.expiry_for(sale.occurred_at),
        pending_until=program.pending_until(sale.occurred_at) if sale.channel == ONLINE else None,
        reason=pricing.breakdown.label() if pricing.breakdown else None,
    )
    await save_announced(uow, account)
    # Rule budgets and per-member limits count a claimed sale like any member's sale, and a
    # later refund gives back what it reverses.
    await record_rule_awards(uow, pricing.breakdown, sale)
    # Draw chances as the named sale would have earned them: from the campaigns running on
    # the sale's date, on what was paid; granted (and valid) from now, as a till syncing late
    # grants them from when it is recorded. A later refund revokes them as a sale's.
    chances = await grant_chances(uow, campaigns, sale, now, ids)
    spent = buyer.qualifying_value + (sale.payable if sale.occurred_at >= window_start else 0)
    tier = await upgrade_if_qualified(uow, member.id, now, policy, buyer.standing, spent)
    return Claimed(
        sale_id=sale.id,
        receipt_id=sale.receipt_id,
        points_earned=pricing.points_earned,
        points=Balances.of(account),
        tier=tier,
        draw_chances=chances,
    )
