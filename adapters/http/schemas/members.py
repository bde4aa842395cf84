from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from adapters.http.schemas.common import BalancesOut, Output, TierOut
from adapters.http.schemas.me import LedgerEntryOut
from app.use_cases.member_360 import MemberOverview


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
    phone: str
    name: str | None
    email: str | None
    birthday: date | None
    enrolled_at: datetime
    enrolled_store_id: UUID | None


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

    @classmethod
    def of(cls, view: MemberOverview) -> MemberOverviewOut:
        m = view.member
        return cls(
            member_id=m.id,
            profile=ProfileOut(
                phone=m.phone,
                name=m.name,
                email=m.email,
                birthday=m.birthday,
                enrolled_at=m.enrolled_at,
                enrolled_store_id=m.enrolled_store_id,
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
                )
                for lot in view.lots
            ],
            ledger=[LedgerEntryOut.of(e) for e in view.ledger],
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
        )


class NewCardOut(Output, kw_only=True):
    member_id: UUID
    card_number: str
    issued_at: datetime
