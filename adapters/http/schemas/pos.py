from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated
from uuid import UUID

from msgspec import Meta

from adapters.http.schemas.common import (
    BalancesOut,
    CouponOut,
    Day,
    Input,
    Money,
    Output,
    Points,
    PositiveMoney,
    TierOut,
)
from adapters.http.schemas.earning_rules import PointsBreakdownOut
from app.read_models import CouponView
from app.use_cases.sales import SaleOutcome
from app.use_cases.views import MemberSummary
from domain.coupon_codes import display
from domain.errors import InvalidInput
from domain.sales import MAX_LINES, MAX_QUANTITY, Sale

Quantity = Annotated[int, Meta(ge=1, le=MAX_QUANTITY)]
Sku = Annotated[str, Meta(min_length=1, max_length=64)]
CouponCode = Annotated[str, Meta(min_length=1, max_length=64)]


class EnrolMemberIn(Input, kw_only=True):
    phone: Annotated[str, Meta(min_length=1, max_length=32, examples=["+8613800138000"])]
    name: Annotated[str, Meta(max_length=100)] | None = None
    email: Annotated[str, Meta(max_length=254)] | None = None
    birthday: Day | None = None


class MemberSummaryOut(Output, kw_only=True):
    member_id: UUID
    card_number: str
    display_name: str
    tier: TierOut
    points: BalancesOut
    coupons: list[CouponOut]

    @classmethod
    def of(cls, summary: MemberSummary, coupons: Sequence[CouponView] = ()) -> MemberSummaryOut:
        return cls(
            member_id=summary.member_id,
            card_number=summary.card_number,
            display_name=summary.display_name,
            tier=TierOut.of(summary.tier),
            points=BalancesOut.of(summary.points),
            coupons=[
                CouponOut(
                    code=display(c.code),
                    title=c.title,
                    kind=c.kind,
                    value=c.value,
                    min_spend=c.min_spend,
                    expires_at=c.expires_at,
                )
                for c in coupons
            ],
        )


class SaleLineIn(Input, kw_only=True):
    sku: Sku
    category: Annotated[str, Meta(max_length=64)] | None = None
    quantity: Quantity
    unit_price: Money


SaleTime = Annotated[
    datetime,
    Meta(
        tz=True,
        description=(
            "when the sale happened (RFC 3339 with offset; default now): at most "
            "LOYALTY_MAX_BACKDATE_DAYS days (default 90) before now and 5 minutes after"
        ),
    ),
]


class QuoteIn(Input, kw_only=True):
    member_id: UUID | None = None
    occurred_at: SaleTime | None = None
    lines: Annotated[list[SaleLineIn], Meta(min_length=1, max_length=MAX_LINES)]
    coupon_codes: Annotated[list[CouponCode], Meta(max_length=20)] = []
    redeem_points: Points = 0


class SaleIn(QuoteIn, kw_only=True):
    receipt_id: Annotated[str, Meta(min_length=1, max_length=64)]


class RejectedCouponOut(Output, kw_only=True):
    code: str
    code_reason: str


class QuoteOut(Output, kw_only=True):
    subtotal: int
    discount_total: int
    points_redeemed: int
    points_value: int
    payable: int
    points_earned: int
    draw_chances: int
    applied_coupons: list[str]
    rejected_coupons: list[RejectedCouponOut]
    points: BalancesOut | None
    tier: TierOut | None
    points_breakdown: PointsBreakdownOut | None = None

    @classmethod
    def fields_of(cls, outcome: SaleOutcome) -> dict[str, object]:
        p = outcome.pricing
        return {
            "subtotal": p.subtotal,
            "discount_total": p.discount_total,
            "points_redeemed": p.points_redeemed,
            "points_value": p.points_value,
            "payable": p.payable,
            "points_earned": p.points_earned,
            "draw_chances": p.draw_chances,
            "applied_coupons": list(p.applied_coupons),
            "rejected_coupons": [
                RejectedCouponOut(code=r.code, code_reason=r.code_reason)
                for r in p.rejected_coupons
            ],
            "points": BalancesOut.of(outcome.points) if outcome.points else None,
            "tier": TierOut.of(outcome.tier) if outcome.tier else None,
            "points_breakdown": PointsBreakdownOut.of(p.breakdown) if p.breakdown else None,
        }

    @classmethod
    def of(cls, outcome: SaleOutcome) -> QuoteOut:
        return cls(**cls.fields_of(outcome))  # type: ignore[arg-type]


class SaleOut(QuoteOut, kw_only=True):
    sale_id: UUID
    receipt_id: str
    claim_code: Annotated[
        str | None,
        Meta(
            description="a guest sale's code for the receipt, with which a member claims its "
            "points later; null for a member's sale"
        ),
    ] = None

    @classmethod
    def of(cls, outcome: SaleOutcome, *, claim_code: str | None = None) -> SaleOut:
        assert outcome.sale_id is not None
        assert outcome.receipt_id is not None
        return cls(
            sale_id=outcome.sale_id,
            receipt_id=outcome.receipt_id,
            claim_code=claim_code,
            **cls.fields_of(outcome),  # type: ignore[arg-type]
        )


class RefundLineIn(Input, kw_only=True):
    sku: Sku
    quantity: Quantity


class RefundIn(Input, kw_only=True):
    refund_id: Annotated[str, Meta(min_length=1, max_length=64)]
    lines: Annotated[list[RefundLineIn], Meta(min_length=1, max_length=MAX_LINES)] | None = None
    amount: PositiveMoney | None = None


def require_amount_or_lines(
    amount: int | None, lines: Sequence[object] | None, *, prefix: str = ""
) -> None:
    """A refund names the amount to give back or the lines brought back: exactly one."""
    if amount is None and lines is None:
        raise InvalidInput(
            "a refund names the amount to give back or the lines brought back; "
            "this one names neither",
            field=f"{prefix}amount",
        )
    if amount is not None and lines is not None:
        raise InvalidInput("a refund names an amount or lines, not both", field=f"{prefix}lines")


class RefundOut(Output, kw_only=True):
    refund_id: str
    sale_id: UUID
    amount: int
    points_reversed: int
    points_restored: int
    coupons_restored: list[str]
    draw_chances_revoked: int
    points: BalancesOut | None


class SaleLineOut(Output, kw_only=True):
    sku: str
    category: str | None
    quantity: int
    unit_price: int
    refunded_quantity: int


class RecordedSaleOut(Output, kw_only=True):
    """A recorded sale as a till needs it for a return: what was bought, paid and refunded."""

    sale_id: UUID
    receipt_id: str
    store_id: UUID
    terminal_id: UUID | None
    member_id: UUID | None
    channel: str
    currency: str
    occurred_at: datetime
    recorded_at: datetime
    lines: list[SaleLineOut]
    subtotal: int
    discount_total: int
    points_redeemed: int
    points_value: int
    payable: int
    points_earned: int
    refunded_amount: int
    refundable_amount: int
    points_breakdown: PointsBreakdownOut | None = None

    @classmethod
    def of(cls, sale: Sale) -> RecordedSaleOut:
        p = sale.pricing
        return cls(
            sale_id=sale.id,
            receipt_id=sale.receipt_id,
            store_id=sale.store_id,
            terminal_id=sale.terminal_id,
            member_id=sale.member_id,
            channel=sale.channel,
            currency=sale.currency,
            occurred_at=sale.occurred_at,
            recorded_at=sale.recorded_at,
            lines=[
                SaleLineOut(
                    sku=line.sku,
                    category=line.category,
                    quantity=line.quantity,
                    unit_price=line.unit_price,
                    refunded_quantity=sale.refunded_quantities.get(number, 0),
                )
                for number, line in enumerate(sale.lines)
            ],
            subtotal=p.subtotal,
            discount_total=p.discount_total,
            points_redeemed=p.points_redeemed,
            points_value=p.points_value,
            payable=p.payable,
            points_earned=p.points_earned,
            refunded_amount=sale.refunded_amount,
            refundable_amount=sale.refundable_amount,
            points_breakdown=PointsBreakdownOut.of(p.breakdown) if p.breakdown else None,
        )
