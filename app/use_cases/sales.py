"""Quoting, recording and refunding sales at the till."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Protocol
from uuid import UUID

from app.unit_of_work import (
    WithCoupons,
    WithDraws,
    WithEarningRules,
    WithPoints,
    WithStores,
)
from app.use_cases.announcements import save_announced
from app.use_cases.erased_members import named_member
from app.use_cases.tiers import TiersUnit, upgrade_if_qualified
from app.use_cases.views import Balances, TierView
from domain.coupon_codes import display, normalise
from domain.coupons import CouponDiscount, Presented, apply_coupons
from domain.draws import Chance, ChanceStatus, DrawCampaign, chances_to_revoke
from domain.earning_rules import (
    PERIODS,
    Award,
    Breakdown,
    EarnContext,
    EffectKind,
    Line,
    candidates,
    evaluate,
    period_end,
    period_start,
)
from domain.errors import (
    CouponNotRedeemable,
    DuplicateReceipt,
    DuplicateRefund,
    InsufficientPoints,
    InvalidInput,
    OtherStoreReturnsDisabled,
    RedemptionNeedsMember,
    SaleNotFound,
    StoreNotFound,
)
from domain.integration_events import coupon_redeemed
from domain.members import Member
from domain.points import EntryType, Reference
from domain.ports import Clock, IdGenerator
from domain.program import ProgramSettings
from domain.repositories import AuditRecord, RecordedRefund
from domain.sale_dating import SaleDating
from domain.sales import (
    IN_STORE,
    ONLINE,
    Basket,
    Pricing,
    RefundLine,
    RejectedCoupon,
    Sale,
    SaleLine,
    price,
)
from domain.tier_policy import TierPolicy


class SalesUnit(
    TiersUnit, WithCoupons, WithDraws, WithEarningRules, WithPoints, WithStores, Protocol
):
    """What these use cases use of the unit of work (any ``UnitOfWork`` has it)."""


@dataclass(frozen=True, slots=True)
class LineInput:
    sku: str
    quantity: int
    unit_price: int
    category: str | None = None


@dataclass(frozen=True, slots=True)
class PriceSale:
    store_id: UUID
    lines: Sequence[LineInput]
    member_id: UUID | None = None
    coupon_codes: Sequence[str] = ()
    redeem_points: int = 0
    channel: str = IN_STORE
    occurred_at: datetime | None = None  # when draws are judged; None: now


@dataclass(frozen=True, slots=True)
class RecordSale:
    store_id: UUID
    terminal_id: UUID | None
    receipt_id: str
    lines: Sequence[LineInput]
    member_id: UUID | None = None
    occurred_at: datetime | None = None
    coupon_codes: Sequence[str] = ()
    redeem_points: int = 0
    channel: str = "pos"

    def pricing_request(self) -> PriceSale:
        return PriceSale(
            store_id=self.store_id,
            lines=self.lines,
            member_id=self.member_id,
            coupon_codes=self.coupon_codes,
            redeem_points=self.redeem_points,
            channel=self.channel,
            occurred_at=self.occurred_at,
        )


@dataclass(frozen=True, slots=True)
class SaleOutcome:
    pricing: Pricing
    points: Balances | None
    tier: TierView | None
    sale_id: UUID | None = None
    receipt_id: str | None = None


@dataclass(frozen=True, slots=True)
class _Priced:
    basket: Basket
    pricing: Pricing
    member: Member | None
    tier: TierView | None
    program: ProgramSettings
    tier_policy: TierPolicy | None
    coupons: CouponDiscount
    campaigns: tuple[tuple[DrawCampaign, int], ...]  # (campaign, chances the sale earns)


async def _presented(
    codes: Sequence[str], member_id: UUID | None, uow: SalesUnit
) -> list[Presented]:
    """The codes as typed, each with the coupon it names when that is the member's own.

    A code that is nobody's, someone else's, or presented without a member reads the same
    (not redeemable): a till cannot learn from the answer which codes exist.
    """
    canonical = {text: normalise(text) for text in codes}
    wanted = {code for code in canonical.values() if code is not None}
    found = await uow.coupons.by_codes(wanted) if wanted and member_id is not None else {}
    presented = []
    for text in codes:
        code = canonical[text]
        coupon = found.get(code) if code is not None else None
        if coupon is not None and coupon.member_id != member_id:
            coupon = None
        presented.append(Presented(text, coupon, malformed=code is None))
    return presented


async def earn(
    uow: SalesUnit,
    program: ProgramSettings,
    member: Member,
    basket: Basket,
    payable: int,
    *,
    at: datetime,
    store_id: UUID | None,
    channel: str,
    tier_code: str,
    tier_multiplier: Decimal,
    lock: bool,
) -> Breakdown:
    """What the member earns on ``payable``: the base and every live earning rule, through
    the one function the domain has for it. With no rule live this reads nothing more (the
    rules come with the cached configuration). ``lock``: the budgets of the rules that may
    give points are locked (a sale); a quote reads them as they stand."""
    rules = [r for r in await uow.earning_rules.live() if r.live_at(at)]
    ctx = EarnContext(
        lines=[Line(x.sku, x.quantity, x.amount, x.category) for x in basket.lines],
        payable=payable,
        occurred_at=at,
        zone=program.zone,
        currency_exponent=program.currency_exponent,
        earn_rate=program.earn_rate,
        tier_multiplier=tier_multiplier,
        store_id=store_id,
        channel=channel,
        tier_code=tier_code,
        birthday=member.birthday,
    )
    if not rules:
        return evaluate((), ctx)
    if any(r.conditions.first_purchase or r.conditions.needs_crm for r in rules):
        facts = await uow.earning_rules.member_facts(
            member.id,
            zone=program.time_zone,
            today=at.astimezone(program.zone).date(),
            crm=program.crm,
            need_crm=any(r.conditions.needs_crm for r in rules),
        )
        ctx = replace(
            ctx,
            first_purchase=facts.first_purchase,
            rfm_segment=facts.rfm_segment,
            lifecycle_stage=facts.lifecycle_stage,
        )
    acting = [r for r in candidates(rules, ctx) if r.effect.kind is not EffectKind.EXCLUDE]
    periods = [
        (r.id, p, period_start(p, at, program.zone), period_end(p, at, program.zone))
        for r in acting
        for p in PERIODS
        if r.limits.per_member(p) is not None
    ]
    earned = await uow.earning_rules.earned_in_periods(member.id, periods) if periods else {}
    budgeted = [r for r in acting if r.limits.budget is not None]
    spent = (
        await uow.earning_rules.budgets_spent([r.id for r in budgeted], lock=lock)
        if budgeted
        else {}
    )
    return evaluate(
        rules,
        replace(
            ctx,
            earned_in_period=earned,
            budget_left={r.id: (r.limits.budget or 0) - spent.get(r.id, 0) for r in budgeted},
        ),
    )


async def _price(
    cmd: PriceSale,
    uow: SalesUnit,
    now: datetime,
    member: Member | None,
    *,
    lock_budgets: bool = False,
) -> _Priced:
    """Prices the basket for ``member`` (the member ``cmd`` names, already read; None for a
    guest)."""
    basket = Basket(tuple(SaleLine(i.sku, i.quantity, i.unit_price, i.category) for i in cmd.lines))
    if cmd.redeem_points and cmd.member_id is None:
        raise RedemptionNeedsMember()
    program = await uow.program.get()
    coupons = CouponDiscount()
    if cmd.coupon_codes:
        presented = await _presented(cmd.coupon_codes, cmd.member_id, uow)
        coupons = apply_coupons(basket.lines, presented, now=now, channel=cmd.channel)
    pricing = price(
        basket,
        discount_total=coupons.total,
        redeem_points=cmd.redeem_points,
        point_value=program.point_value,
    )
    pricing = replace(
        pricing,
        applied_coupons=tuple(display(c.code) for c in coupons.coupons),
        rejected_coupons=tuple(RejectedCoupon(t, r.value) for t, r in coupons.rejected),
    )
    tier_view = None
    tier_policy = None
    campaigns: tuple[tuple[DrawCampaign, int], ...] = ()
    if member is not None:
        tier_policy = await uow.tiers.policy()
        ladder = tier_policy.ladder
        tier = ladder.get(member.tier_code) or ladder.entry_tier
        tier_view = TierView(tier.code, tier.name)
        # Points are earned on what the member pays, after discounts and points payments.
        # Chances are earned on what the member pays, as points are.
        running = await uow.draws.running_at(cmd.occurred_at or now)
        campaigns = tuple((c, c.chances_for(pricing.payable)) for c in running)
        breakdown = await earn(
            uow,
            program,
            member,
            basket,
            pricing.payable,
            at=cmd.occurred_at or now,
            store_id=cmd.store_id,
            channel=cmd.channel,
            tier_code=tier.code,
            tier_multiplier=tier.earn_multiplier,
            lock=lock_budgets,
        )
        pricing = replace(
            pricing,
            points_earned=breakdown.total,
            draw_chances=sum(n for _, n in campaigns),
            breakdown=breakdown,
        )
    return _Priced(basket, pricing, member, tier_view, program, tier_policy, coupons, campaigns)


async def quote_sale(
    cmd: PriceSale, uow: SalesUnit, *, clock: Clock, dating: SaleDating
) -> SaleOutcome:
    """What the sale would come to, without recording anything."""
    if cmd.occurred_at is not None:
        dating.check(cmd.occurred_at, clock.now(), field="occurred_at")
    member = None
    if cmd.member_id is not None:
        member = named_member(await uow.members.get(cmd.member_id))
    priced = await _price(cmd, uow, clock.now(), member)
    balances = None
    if priced.member is not None:
        account = await uow.points.get(priced.member.id)
        wanted = priced.pricing.points_redeemed
        spendable = min(max(account.balance, 0), account.spendable_points(clock.now()))
        if wanted > spendable:
            raise InsufficientPoints(f"{wanted} points requested, {spendable} available")
        balances = Balances.of(account)
    return SaleOutcome(pricing=priced.pricing, points=balances, tier=priced.tier)


async def record_sale(
    cmd: RecordSale, uow: SalesUnit, *, clock: Clock, ids: IdGenerator, dating: SaleDating
) -> SaleOutcome:
    """Records the sale: the member pays with points if asked, and earns on what they paid."""
    now = clock.now()
    if cmd.occurred_at is not None:
        dating.check(cmd.occurred_at, now, field="occurred_at")
    buyer = None
    window_start = None
    if cmd.member_id is not None:
        window_start = (await uow.tiers.policy()).window_start(now)
        # The member's account is locked before anything is decided: their purchases, refunds
        # and point movements queue here, and the lots, tier standing and spend the sale
        # decides from are read once the lock is held.
        buyer = await uow.sales.buyer_for_update(
            cmd.member_id, window_start, spending=cmd.redeem_points > 0
        )
        # Read under the lock an erasure takes first: a sale either happened before the
        # erasure (and is part of what it erased) or is refused.
        named_member(buyer.member if buyer else None)
    priced = await _price(
        cmd.pricing_request(), uow, now, buyer.member if buyer else None, lock_budgets=True
    )
    if priced.pricing.rejected_coupons:
        raise CouponNotRedeemable()
    program = priced.program
    sale = Sale(
        id=ids.new_id(),
        store_id=cmd.store_id,
        terminal_id=cmd.terminal_id,
        receipt_id=cmd.receipt_id,
        member_id=priced.member.id if priced.member else None,
        currency=program.currency,
        occurred_at=cmd.occurred_at or now,
        recorded_at=now,
        lines=priced.basket.lines,
        pricing=priced.pricing,
        channel=cmd.channel,
    )
    if not await uow.sales.add(sale):
        # Read after the insert gave way: the sale it collided with has committed.
        existing = await uow.sales.by_receipt(cmd.store_id, cmd.receipt_id)
        raise DuplicateReceipt(
            f"receipt {cmd.receipt_id!r} was already recorded at this store",
            sale_id=existing.id if existing is not None else None,
        )
    balances = None
    tier = priced.tier
    if buyer is not None and sale.member_id is not None:
        account = buyer.account
        await _redeem_coupons(uow, priced.coupons, sale, now)
        reference = sale.reference
        # Points paid with can never be the points this very sale earns.
        account.redeem(priced.pricing.points_redeemed, reference=reference, now=now)
        await _award(uow, priced.pricing.breakdown, sale)
        # Lots date from the purchase, so a till that syncs late costs the member nothing.
        account.earn(
            priced.pricing.points_earned,
            reason=priced.pricing.breakdown.label() if priced.pricing.breakdown else None,
            reference=reference,
            now=now,
            expires_at=program.expiry_for(sale.occurred_at),
            pending_until=(
                program.pending_until(sale.occurred_at) if sale.channel == ONLINE else None
            ),
        )
        await save_announced(uow, account)
        balances = Balances.of(account)
        await _grant_chances(uow, priced.campaigns, sale, now, ids)
        assert priced.tier_policy is not None  # loaded with the member
        assert window_start is not None
        # The spend read with the buyer, and this sale if it falls in the window.
        spent = buyer.qualifying_value + (sale.payable if sale.occurred_at >= window_start else 0)
        tier = await upgrade_if_qualified(
            uow, sale.member_id, now, priced.tier_policy, buyer.standing, spent
        )
    return SaleOutcome(
        pricing=priced.pricing,
        points=balances,
        tier=tier,
        sale_id=sale.id,
        receipt_id=sale.receipt_id,
    )


async def _award(uow: SalesUnit, breakdown: Breakdown | None, sale: Sale) -> None:
    """Records what each rule gave and takes it from the rules' budgets (locked while the
    sale was priced)."""
    if breakdown is None or not breakdown.rule_points:
        return
    assert sale.member_id is not None
    given = [r for r in breakdown.rules if r.points]
    await uow.earning_rules.add_awards(
        [
            Award(r.rule_id, r.version, sale.id, sale.member_id, r.points, sale.occurred_at)
            for r in given
        ]
    )
    spent: dict[UUID, int] = {}
    for r in given:
        spent[r.rule_id] = spent.get(r.rule_id, 0) + r.points
    await uow.earning_rules.spend(spent)


async def _redeem_coupons(
    uow: SalesUnit, coupons: CouponDiscount, sale: Sale, now: datetime
) -> None:
    """Marks the coupons used by this sale, exactly once: a coupon another till redeemed
    since the sale was priced fails the whole sale."""
    if not coupons.applied:
        return
    assert sale.member_id is not None  # coupons are only ever a member's own
    ids = [coupon.id for coupon in coupons.coupons]
    if await uow.coupons.redeem(ids, sale.member_id, sale.id, now) != len(ids):
        raise CouponNotRedeemable()
    await uow.integration_events.publish_all(
        [coupon_redeemed(coupon_id, sale.member_id, sale.id, now) for coupon_id in ids]
    )


async def _grant_chances(
    uow: SalesUnit,
    campaigns: Sequence[tuple[DrawCampaign, int]],
    sale: Sale,
    now: datetime,
    ids: IdGenerator,
) -> None:
    assert sale.member_id is not None
    chances = [
        Chance(
            id=ids.new_id(),
            campaign_id=campaign.id,
            member_id=sale.member_id,
            sale_id=sale.id,
            granted_at=now,
            expires_at=campaign.chance_expires_at(now),
        )
        for campaign, count in campaigns
        for _ in range(count)
    ]
    if chances:
        await uow.draws.add_chances(chances)


@dataclass(frozen=True, slots=True)
class FindSale:
    store_id: UUID  # the terminal's store
    receipt_id: str
    store_code: str | None = None  # another store's sale, for a return taken here


async def find_sale(cmd: FindSale, uow: SalesUnit) -> Sale:
    """A sale by its receipt: the terminal's own store's, or (for a return at this store)
    another store's when the programme takes returns at any store."""
    store_id = cmd.store_id
    if cmd.store_code is not None:
        store = await uow.stores.get_store_by_code(cmd.store_code)
        if store is None:
            raise StoreNotFound()
        if store.id != cmd.store_id and not (await uow.program.get()).refunds_at_any_store:
            raise OtherStoreReturnsDisabled(_OWN_STORE_ONLY)
        store_id = store.id
    sale = await uow.sales.by_receipt(store_id, cmd.receipt_id)
    if sale is None:
        raise SaleNotFound(f"no sale with receipt {cmd.receipt_id!r} at this store")
    return sale


_OWN_STORE_ONLY = (
    "this sale was recorded at another store, and the programme takes returns only at the "
    "store of the sale (refunds_at_any_store is off)"
)


@dataclass(frozen=True, slots=True)
class RefundSale:
    store_id: UUID  # the store taking the return
    sale_id: UUID
    refund_id: str
    lines: Sequence[RefundLine] = ()
    amount: int | None = None
    actor: str = "system"  # who takes the return, for the audit of one at another store


@dataclass(frozen=True, slots=True)
class RefundOutcome:
    refund_id: str
    sale_id: UUID
    amount: int
    points_reversed: int
    points_restored: int
    points: Balances | None
    coupons_restored: tuple[str, ...] = ()
    draw_chances_revoked: int = 0


async def refund_sale(
    cmd: RefundSale, uow: SalesUnit, *, clock: Clock, ids: IdGenerator
) -> RefundOutcome:
    """Gives money back for part or all of a sale and claws back the points it earned."""
    if (cmd.amount is None) == (not cmd.lines):
        raise InvalidInput("a refund names either lines or an amount, not both")
    sale = await uow.sales.get_for_update(cmd.sale_id)
    if sale is None:
        raise SaleNotFound()
    elsewhere = sale.store_id != cmd.store_id
    if elsewhere and not (await uow.program.get()).refunds_at_any_store:
        raise OtherStoreReturnsDisabled(_OWN_STORE_ONLY)
    # Checked before the refund is worked out: a repeated full refund must read as a
    # duplicate, not as "nothing left to refund". The sale's row lock makes this race-free.
    if await uow.sales.refund_recorded(sale.id, cmd.refund_id):
        raise DuplicateRefund(f"refund {cmd.refund_id!r} was already recorded for this sale")
    decision = (
        sale.refund_amount(cmd.amount) if cmd.amount is not None else sale.refund_lines(cmd.lines)
    )
    sale.apply_refund(decision)
    now = clock.now()
    refund = RecordedRefund(
        id=ids.new_id(),
        refund_id=cmd.refund_id,
        sale_id=sale.id,
        decision=decision,
        created_at=now,
    )
    if not await uow.sales.add_refund(sale, refund):
        raise DuplicateRefund(f"refund {cmd.refund_id!r} was already recorded for this sale")
    if elsewhere:
        await uow.audit.record(
            AuditRecord(
                cmd.actor,
                "sale.refunded_at_other_store",
                f"sale:{sale.id}",
                {
                    "sale_store_id": str(sale.store_id),
                    "refund_store_id": str(cmd.store_id),
                    "refund_id": cmd.refund_id,
                    "amount": decision.amount,
                },
            )
        )
    balances = None
    if sale.member_id is not None:
        account = await uow.points.get_for_update(sale.member_id)
        refund_reference = Reference("refund", str(refund.id))
        account.reverse(
            decision.points_reversed, reference=refund_reference, now=now, source=sale.reference
        )
        if decision.points_restored:
            account.restore(
                decision.points_restored,
                reference=refund_reference,
                now=now,
                consumed=await uow.points.consumed_by(
                    sale.member_id, f"{sale.reference}:{EntryType.REDEEM.value}"
                ),
                already_restored=sale.points_restored - decision.points_restored,
            )
        await save_announced(uow, account)
        balances = Balances.of(account)
        if decision.rule_reversals:
            # The rule points go back with their lines, and back into the rules' budgets.
            await uow.earning_rules.add_awards(
                [
                    Award(
                        rule_id,
                        version,
                        sale.id,
                        sale.member_id,
                        -points,
                        sale.occurred_at,
                        refund_id=refund.id,
                    )
                    for rule_id, version, points in decision.rule_reversals
                ]
            )
            back: dict[UUID, int] = {}
            for rule_id, _, points in decision.rule_reversals:
                back[rule_id] = back.get(rule_id, 0) - points
            await uow.earning_rules.spend(back)
    # A full refund gives the coupons back (those still valid); a partial one does not.
    restored = await uow.coupons.restore_for_sale(sale.id, now) if sale.fully_refunded else []
    revoked = await _revoke_chances(uow, sale, now)
    return RefundOutcome(
        refund_id=cmd.refund_id,
        sale_id=sale.id,
        amount=decision.amount,
        points_reversed=decision.points_reversed,
        points_restored=decision.points_restored,
        points=balances,
        coupons_restored=tuple(display(c.code) for c in restored),
        draw_chances_revoked=revoked,
    )


async def _revoke_chances(uow: SalesUnit, sale: Sale, now: datetime) -> int:
    """Takes back the chances the sale no longer earns after its refunds; the prize coupon of
    a played chance taken back is voided if it has not been used."""
    chances = await uow.draws.chances_of_sale_for_update(sale.id)
    if not chances:
        return 0
    revoked = 0
    for campaign_id in dict.fromkeys(c.campaign_id for c in chances):
        campaign = await uow.draws.get_campaign(campaign_id)
        assert campaign is not None  # chances reference their campaign
        entitled = campaign.chances_for(sale.payable - sale.refunded_amount)
        of_campaign = [c for c in chances if c.campaign_id == campaign_id]
        for chance in chances_to_revoke(of_campaign, entitled):
            if chance.coupon_id is not None:
                await uow.coupons.void(chance.coupon_id, now)
            await uow.draws.save_chance(replace(chance, status=ChanceStatus.REVOKED))
            revoked += 1
    return revoked


async def price_for_member(
    cmd: PriceSale, uow: SalesUnit, now: datetime, member: Member
) -> tuple[Pricing, tuple[tuple[DrawCampaign, int], ...]]:
    """What a sale of ``cmd`` comes to for ``member``, points earned included, and the draw
    campaigns running at ``cmd.occurred_at`` with the chances each gives: the one earn
    calculation, for a guest sale claimed afterwards (guest_claims.py). The budgets of the
    rules it may draw on are locked, after the member's account, as a sale locks them; the
    caller records what the rules gave with ``record_rule_awards`` and grants the chances
    with ``grant_chances``."""
    priced = await _price(cmd, uow, now, member, lock_budgets=True)
    return priced.pricing, priced.campaigns


async def grant_chances(
    uow: SalesUnit,
    campaigns: Sequence[tuple[DrawCampaign, int]],
    sale: Sale,
    now: datetime,
    ids: IdGenerator,
) -> int:
    """Grants the sale's member the chances ``campaigns`` give (see ``_grant_chances``);
    how many."""
    await _grant_chances(uow, campaigns, sale, now, ids)
    return sum(count for _, count in campaigns)


async def record_rule_awards(uow: SalesUnit, breakdown: Breakdown | None, sale: Sale) -> None:
    """What each rule gave the sale, taken from the rules' budgets (see ``_award``)."""
    await _award(uow, breakdown, sale)
