"""Webhook events applied, the web shop's customers and reviews, members' Stripe payments."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from adapters.persistence.tables import (
    SaleRow,
    ShopCustomerRow,
    ShopReviewRow,
    StripePaymentRow,
    WebhookEventRow,
)
from domain.payments import StripePayment
from domain.webshop import ShopReview


class PostgresWebhookEventLog:
    async def claim(self, source: str, event_id: str, event_type: str, now: datetime) -> bool:
        # ON CONFLICT waits for a concurrent transaction inserting the same id: if it commits,
        # this one inserts nothing; if it rolls back (a refused event), this one claims it.
        inserted = (
            await WebhookEventRow.insert(
                WebhookEventRow(
                    source=source,
                    event_id=event_id,
                    event_type=event_type,
                    outcome="claimed",
                    received_at=now,
                )
            )
            .on_conflict(
                target=(WebhookEventRow.source, WebhookEventRow.event_id), action="DO NOTHING"
            )
            .returning(WebhookEventRow.id)
        )
        return bool(inserted)

    async def record_outcome(self, source: str, event_id: str, outcome: str) -> None:
        await WebhookEventRow.update({WebhookEventRow.outcome: outcome}).where(
            (WebhookEventRow.source == source) & (WebhookEventRow.event_id == event_id)
        )


class PostgresShopRepository:
    async def member_for_customer(self, customer_id: str) -> UUID | None:
        row = (
            await ShopCustomerRow.select(ShopCustomerRow.member_id)
            .where(ShopCustomerRow.customer_id == customer_id)
            .first()
        )
        return row["member_id"] if row else None

    async def link_customer(self, customer_id: str, member_id: UUID, now: datetime) -> UUID:
        await ShopCustomerRow.insert(
            ShopCustomerRow(customer_id=customer_id, member_id=member_id, linked_at=now)
        ).on_conflict(target=ShopCustomerRow.customer_id, action="DO NOTHING")
        linked = await self.member_for_customer(customer_id)
        if linked is None:
            raise RuntimeError(f"shop customer {customer_id!r} vanished while being linked")
        return linked

    async def customers_of(self, member_id: UUID) -> list[str]:
        rows = (
            await ShopCustomerRow.select(ShopCustomerRow.customer_id)
            .where(ShopCustomerRow.member_id == member_id)
            .order_by(ShopCustomerRow.linked_at)
        )
        return [row["customer_id"] for row in rows]

    async def sale_for_receipt(self, store_id: UUID, receipt_id: str) -> UUID | None:
        row = (
            await SaleRow.select(SaleRow.id)
            .where((SaleRow.store_id == store_id) & (SaleRow.receipt_id == receipt_id))
            .first()
        )
        return row["id"] if row else None

    async def add_review(self, review: ShopReview) -> bool:
        inserted = (
            await ShopReviewRow.insert(
                ShopReviewRow(
                    review_id=review.review_id,
                    member_id=review.member_id,
                    sale_id=review.sale_id,
                    rating=review.rating,
                    posted_at=review.posted_at,
                )
            )
            .on_conflict(target=ShopReviewRow.review_id, action="DO NOTHING")
            .returning(ShopReviewRow.review_id)
        )
        return bool(inserted)


class PostgresPaymentRepository:
    async def add(self, payment: StripePayment) -> bool:
        inserted = (
            await StripePaymentRow.insert(
                StripePaymentRow(
                    payment_intent_id=payment.payment_intent_id,
                    member_id=payment.member_id,
                    sale_id=payment.sale_id,
                    order_id=payment.order_id,
                    currency=payment.currency,
                    amount_received=payment.amount_received,
                    amount_refunded=payment.amount_refunded,
                    disputed_at=payment.disputed_at,
                    created_at=payment.created_at,
                )
            )
            .on_conflict(target=StripePaymentRow.payment_intent_id, action="DO NOTHING")
            .returning(StripePaymentRow.payment_intent_id)
        )
        return bool(inserted)

    async def get_for_update(self, payment_intent_id: str) -> StripePayment | None:
        row = (
            await StripePaymentRow.select()
            .where(StripePaymentRow.payment_intent_id == payment_intent_id)
            .lock_rows("UPDATE")
            .first()
        )
        return _payment(row) if row else None

    async def save(self, payment: StripePayment) -> None:
        await StripePaymentRow.update(
            {
                StripePaymentRow.sale_id: payment.sale_id,
                StripePaymentRow.amount_refunded: payment.amount_refunded,
                StripePaymentRow.disputed_at: payment.disputed_at,
            }
        ).where(StripePaymentRow.payment_intent_id == payment.payment_intent_id)


def _payment(row: dict[str, Any]) -> StripePayment:
    return StripePayment(
        payment_intent_id=row["payment_intent_id"],
        member_id=row["member_id"],
        currency=row["currency"],
        amount_received=row["amount_received"],
        created_at=row["created_at"],
        sale_id=row["sale_id"],
        order_id=row["order_id"],
        amount_refunded=row["amount_refunded"],
        disputed_at=row["disputed_at"],
    )
