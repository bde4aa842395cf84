from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated
from uuid import UUID

import msgspec
from msgspec import Meta

from adapters.http.schemas.common import BalancesOut, Input, Output, Page, TierOut, Timestamp
from adapters.http.schemas.coupons import MyCouponOut
from adapters.http.schemas.crm import MemberCrmOut
from adapters.http.schemas.feedback import FeedbackOut
from adapters.http.schemas.me import ConsentOut, LedgerEntryOut
from app.use_cases.member_360 import MemberOverview
from domain.member_search import FoundMember
from domain.repositories import TierChangeRecord


class CardOut(Output, kw_only=True):
    card_number: str
    status: str
    issued_at: datetime


class LotOut(Output, kw_only=True):
    id: int | None
    reference: str
    earned_at: datetime
    expires_at: datetime | None
    points: int
    remaining: int
    pending: bool
    release_at: datetime | None
    frozen: bool = False


class SaleSummaryOut(Output, kw_only=True):
    sale_id: UUID
    store_id: UUID
    receipt_id: str
    channel: str
    occurred_at: datetime
    subtotal: int
    payable: int
    points_earned: int
    points_redeemed: int
    refunded_amount: int


class ProfileOut(Output, kw_only=True):
    phone: Annotated[str | None, Meta(description="null for members imported without one")]
    name: str | None
    email: str | None
    birthday: date | None
    enrolled_at: datetime
    enrolled_store_id: UUID | None
    preferred_language: str | None = None
    marketing_consent: ConsentOut | None = None


class TierChangeOut(Output, kw_only=True):
    from_: str = msgspec.field(name="from")
    to: str
    reason: Annotated[str, Meta(examples=["qualified", "review", "manual", "policy_change"])]
    at: datetime
    actor: str | None
    note: str | None

    @classmethod
    def of(cls, record: TierChangeRecord) -> TierChangeOut:
        return cls(
            from_=record.change.from_code,
            to=record.change.to_code,
            reason=record.change.reason.value,
            at=record.event.at,
            actor=record.event.actor,
            note=record.event.note,
        )


class MemberOverviewOut(Output, kw_only=True):
    member_id: UUID
    profile: ProfileOut
    cards: list[CardOut]
    tier: TierOut
    points: BalancesOut
    debt: int
    lots: list[LotOut]
    ledger: list[LedgerEntryOut]
    sales: list[SaleSummaryOut]
    tier_history: list[TierChangeOut]
    coupons: list[MyCouponOut] = []
    shop_customer_ids: list[str] = []
    feedback: list[FeedbackOut] = []
    frozen_points: int = 0  # held back by a payment dispute
    crm: MemberCrmOut | None = None

    @classmethod
    def of(cls, view: MemberOverview, now: datetime | None = None) -> MemberOverviewOut:
        m = view.member
        seen_at = now or datetime.now(UTC)
        return cls(
            member_id=m.id,
            profile=ProfileOut(
                phone=m.phone,
                name=m.name,
                email=m.email,
                birthday=m.birthday,
                enrolled_at=m.enrolled_at,
                enrolled_store_id=m.enrolled_store_id,
                preferred_language=m.preferred_language,
                marketing_consent=ConsentOut.of(m.consents),
            ),
            cards=[
                CardOut(card_number=c.card_number, status=c.status.value, issued_at=c.issued_at)
                for c in view.cards
            ],
            tier=TierOut.of(view.tier),
            points=BalancesOut.of(view.balances),
            debt=view.debt,
            lots=[
                LotOut(
                    id=lot.id,
                    reference=str(lot.reference),
                    earned_at=lot.earned_at,
                    expires_at=lot.expires_at,
                    points=lot.points,
                    remaining=lot.remaining,
                    pending=lot.pending,
                    release_at=lot.release_at,
                    frozen=lot.frozen,
                )
                for lot in view.lots
            ],
            ledger=[LedgerEntryOut.of(e, view.ledger_sources) for e in view.ledger],
            sales=[
                SaleSummaryOut(
                    sale_id=s.id,
                    store_id=s.store_id,
                    receipt_id=s.receipt_id,
                    channel=s.channel,
                    occurred_at=s.occurred_at,
                    subtotal=s.pricing.subtotal,
                    payable=s.payable,
                    points_earned=s.pricing.points_earned,
                    points_redeemed=s.pricing.points_redeemed,
                    refunded_amount=s.refunded_amount,
                )
                for s in view.sales
            ],
            tier_history=[TierChangeOut.of(r) for r in view.tier_history],
            coupons=[MyCouponOut.of(c, seen_at) for c in view.coupons],
            shop_customer_ids=list(view.shop_customer_ids),
            feedback=[FeedbackOut.of(f) for f in view.feedback],
            frozen_points=view.frozen_points,
            crm=MemberCrmOut.of(view.crm) if view.crm else None,
        )


class SetTierIn(Input, kw_only=True):
    tier_code: Annotated[str, Meta(min_length=1, max_length=32)]
    reason: Annotated[str, Meta(min_length=1, max_length=500)]
    until: Timestamp | None = None


class NewCardOut(Output, kw_only=True):
    member_id: UUID
    card_number: str
    issued_at: datetime


class MemberFoundOut(Output, kw_only=True):
    member_id: UUID
    phone: str | None
    name: str | None
    email: str | None
    card_number: Annotated[str | None, Meta(description="the active card")]
    tier_code: str
    enrolled_at: datetime

    @classmethod
    def of(cls, found: FoundMember) -> MemberFoundOut:
        return cls(
            member_id=found.member_id,
            phone=found.phone,
            name=found.name,
            email=found.email,
            card_number=found.card_number,
            tier_code=found.tier_code,
            enrolled_at=found.enrolled_at,
        )


class MemberFoundPageOut(Page, kw_only=True):
    items: list[MemberFoundOut]
