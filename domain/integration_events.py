"""The events integrators receive (outbound webhooks), built from what the domain did.

``data`` carries ids, codes, amounts and times only; names, phone numbers and e-mail
addresses go in ``personal``, which only an endpoint allowed personal data receives. The
payload shapes are the event catalogue of docs/http-contract.md; a field once published is
never renamed or removed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from uuid import UUID

from domain.coupons import Coupon
from domain.feedback import Feedback
from domain.members import Member
from domain.outbound_webhooks import EventType, IntegrationEvent
from domain.points import EntryType, LedgerEntry
from domain.tier_policy import TierChange

_POINTS_TYPES = {
    EntryType.EARN: EventType.POINTS_EARNED,
    EntryType.REDEEM: EventType.POINTS_REDEEMED,
    EntryType.EXPIRE: EventType.POINTS_EXPIRED,
    EntryType.ADJUST: EventType.POINTS_ADJUSTED,
    # A refund takes back what its sale earned, or gives back what it redeemed.
    EntryType.REVERSE: EventType.POINTS_ADJUSTED,
    EntryType.RESTORE: EventType.POINTS_ADJUSTED,
}


def _personal(member: Member) -> dict[str, object]:
    return {"name": member.name, "phone": member.phone, "email": member.email}


def member_enrolled(member: Member) -> IntegrationEvent:
    return IntegrationEvent(
        EventType.MEMBER_ENROLLED,
        {
            "member_id": str(member.id),
            "card_number": member.card_number,
            "tier": member.tier_code,
            "store_id": str(member.enrolled_store_id) if member.enrolled_store_id else None,
            "enrolled_at": member.enrolled_at.isoformat(),
        },
        member.enrolled_at,
        personal=_personal(member),
    )


def member_updated(
    member_id: UUID, changed: Iterable[str], at: datetime, member: Member | None = None
) -> IntegrationEvent:
    """``changed`` names the fields that changed (never their values, which may be
    personal); an endpoint allowed personal data also gets the member's contact details."""
    return IntegrationEvent(
        EventType.MEMBER_UPDATED,
        {"member_id": str(member_id), "changed": sorted(set(changed))},
        at,
        personal=_personal(member) if member is not None else None,
    )


def member_erased(member_id: UUID, at: datetime) -> IntegrationEvent:
    return IntegrationEvent(EventType.MEMBER_ERASED, {"member_id": str(member_id)}, at)


def points_events(entries: Sequence[LedgerEntry]) -> list[IntegrationEvent]:
    """One event per ledger entry (call before the account is saved: saving clears them)."""
    return [
        IntegrationEvent(
            _POINTS_TYPES[entry.type],
            {
                "member_id": str(entry.member_id),
                "points": entry.points,
                "entry_type": entry.type.value,
                "reference": str(entry.reference),
                **({"reason": entry.reason} if entry.reason else {}),
                **({"expires_at": entry.expires_at.isoformat()} if entry.expires_at else {}),
            },
            entry.created_at,
        )
        for entry in entries
        if entry.points != 0
    ]


def tier_changed(member_id: UUID, change: TierChange, at: datetime) -> IntegrationEvent:
    return IntegrationEvent(
        EventType.TIER_CHANGED,
        {
            "member_id": str(member_id),
            "from": change.from_code,
            "to": change.to_code,
            "reason": change.reason.value,
        },
        at,
    )


def coupon_issued(coupon: Coupon, at: datetime) -> IntegrationEvent:
    """No code: the code is what a till accepts, and a webhook is not the member's wallet."""
    return IntegrationEvent(
        EventType.COUPON_ISSUED,
        {
            "member_id": str(coupon.member_id),
            "coupon_id": str(coupon.id),
            "template_id": str(coupon.template_id),
            "source": coupon.source.value,
            "valid_from": coupon.valid_from.isoformat(),
            "expires_at": coupon.expires_at.isoformat(),
        },
        at,
    )


def coupon_redeemed(
    coupon_id: UUID, member_id: UUID, sale_id: UUID, at: datetime
) -> IntegrationEvent:
    return IntegrationEvent(
        EventType.COUPON_REDEEMED,
        {
            "member_id": str(member_id),
            "coupon_id": str(coupon_id),
            "sale_id": str(sale_id),
            "redeemed_at": at.isoformat(),
        },
        at,
    )


def draw_won(
    member_id: UUID,
    campaign_id: UUID,
    chance_id: UUID,
    prize_code: str,
    at: datetime,
    coupon_id: UUID | None = None,
    points: int | None = None,
) -> IntegrationEvent:
    return IntegrationEvent(
        EventType.DRAW_WON,
        {
            "member_id": str(member_id),
            "campaign_id": str(campaign_id),
            "chance_id": str(chance_id),
            "prize_code": prize_code,
            **({"coupon_id": str(coupon_id)} if coupon_id else {}),
            **({"points": points} if points else {}),
        },
        at,
    )


def reward_redeemed(
    redemption_id: UUID,
    reward_id: UUID,
    member_id: UUID,
    points: int,
    cash_price: int,
    at: datetime,
    coupon_id: UUID | None = None,
) -> IntegrationEvent:
    """No fulfilment code: like a coupon's code, it is what the member presents."""
    return IntegrationEvent(
        EventType.REWARD_REDEEMED,
        {
            "member_id": str(member_id),
            "redemption_id": str(redemption_id),
            "reward_id": str(reward_id),
            "points": points,
            "cash_price": cash_price,
            **({"coupon_id": str(coupon_id)} if coupon_id else {}),
        },
        at,
    )


def reward_collected(
    redemption_id: UUID,
    reward_id: UUID,
    member_id: UUID,
    cash_paid: int,
    store_id: UUID,
    terminal_id: UUID | None,
    at: datetime,
) -> IntegrationEvent:
    """An item handed over at a till, and the cash taken there (never the code)."""
    return IntegrationEvent(
        EventType.REWARD_COLLECTED,
        {
            "member_id": str(member_id),
            "redemption_id": str(redemption_id),
            "reward_id": str(reward_id),
            "cash_paid": cash_paid,
            "store_id": str(store_id),
            "terminal_id": str(terminal_id) if terminal_id else None,
        },
        at,
    )


def feedback_created(feedback: Feedback) -> IntegrationEvent:
    """The kind and any order reference; the member's text stays in the back office."""
    return IntegrationEvent(
        EventType.FEEDBACK_CREATED,
        {
            "member_id": str(feedback.member_id),
            "feedback_id": str(feedback.id),
            "kind": feedback.kind.value,
            "order_ref": feedback.order_ref,
        },
        feedback.created_at,
    )
