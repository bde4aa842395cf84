from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from adapters.persistence.tables import RefundLineRow, RefundRow, SaleLineRow, SaleRow
from domain.repositories import RecordedRefund
from domain.sales import Pricing, Sale, SaleLine


class PostgresSaleRepository:
    async def add(self, sale: Sale) -> bool:
        p = sale.pricing
        inserted = (
            await SaleRow.insert(
                SaleRow(
                    id=sale.id,
                    store_id=sale.store_id,
                    terminal_id=sale.terminal_id,
                    receipt_id=sale.receipt_id,
                    member_id=sale.member_id,
                    currency=sale.currency,
                    occurred_at=sale.occurred_at,
                    recorded_at=sale.recorded_at,
                    subtotal=p.subtotal,
                    discount_total=p.discount_total,
                    points_redeemed=p.points_redeemed,
                    points_value=p.points_value,
                    payable=p.payable,
                    points_earned=p.points_earned,
                    channel=sale.channel,
                )
            )
            .on_conflict(target=(SaleRow.store_id, SaleRow.receipt_id), action="DO NOTHING")
            .returning(SaleRow.id)
        )
        if not inserted:
            return False
        await SaleLineRow.insert(
            *(
                SaleLineRow(
                    sale_id=sale.id,
                    member_id=sale.member_id,
                    line_no=number,
                    sku=line.sku,
                    category=line.category,
                    quantity=line.quantity,
                    unit_price=line.unit_price,
                )
                for number, line in enumerate(sale.lines)
            )
        )
        return True

    async def get(self, sale_id: UUID) -> Sale | None:
        return await self._load(sale_id, lock=False)

    async def get_for_update(self, sale_id: UUID) -> Sale | None:
        return await self._load(sale_id, lock=True)

    async def _load(self, sale_id: UUID, *, lock: bool) -> Sale | None:
        query = SaleRow.select().where(SaleRow.id == sale_id)
        if lock:
            query = query.lock_rows("UPDATE")
        row = await query.first()
        if row is None:
            return None
        lines = await (
            SaleLineRow.select().where(SaleLineRow.sale_id == sale_id).order_by(SaleLineRow.line_no)
        )
        return _sale(row, lines)

    async def refund_recorded(self, sale_id: UUID, refund_id: str) -> bool:
        return bool(
            await RefundRow.exists().where(
                (RefundRow.sale_id == sale_id) & (RefundRow.refund_id == refund_id)
            )
        )

    async def add_refund(self, sale: Sale, refund: RecordedRefund) -> bool:
        decision = refund.decision
        inserted = (
            await RefundRow.insert(
                RefundRow(
                    id=refund.id,
                    sale_id=sale.id,
                    member_id=sale.member_id,
                    refund_id=refund.refund_id,
                    amount=decision.amount,
                    points_reversed=decision.points_reversed,
                    created_at=refund.created_at,
                )
            )
            .on_conflict(target=(RefundRow.sale_id, RefundRow.refund_id), action="DO NOTHING")
            .returning(RefundRow.id)
        )
        if not inserted:
            return False
        if decision.line_quantities:
            await RefundLineRow.insert(
                *(
                    RefundLineRow(refund=refund.id, member_id=sale.member_id, line_no=n, quantity=q)
                    for n, q in decision.line_quantities
                )
            )
            for number, _ in decision.line_quantities:
                await SaleLineRow.update(
                    {SaleLineRow.refunded_quantity: sale.refunded_quantities[number]}
                ).where((SaleLineRow.sale_id == sale.id) & (SaleLineRow.line_no == number))
        await SaleRow.update(
            {
                SaleRow.refunded_amount: sale.refunded_amount,
                SaleRow.points_reversed: sale.points_reversed,
                SaleRow.points_restored: sale.points_restored,
            }
        ).where(SaleRow.id == sale.id)
        return True

    async def qualifying_value(self, member_id: UUID, since: datetime) -> int:
        rows = await SaleRow.raw(
            "SELECT coalesce(sum(payable - refunded_amount), 0)::bigint AS value FROM sales "
            "WHERE member_id = {} AND occurred_at >= {}",
            member_id,
            since,
        )
        return int(rows[0]["value"])

    async def oldest_qualifying_purchase(self, member_id: UUID, since: datetime) -> datetime | None:
        rows = await SaleRow.raw(
            "SELECT min(occurred_at) AS oldest FROM sales "
            "WHERE member_id = {} AND occurred_at >= {} AND payable > refunded_amount",
            member_id,
            since,
        )
        oldest: datetime | None = rows[0]["oldest"]
        return oldest

    async def recent_for_member(self, member_id: UUID, limit: int) -> list[Sale]:
        rows = (
            await SaleRow.select()
            .where(SaleRow.member_id == member_id)
            .order_by(SaleRow.occurred_at, ascending=False)
            .limit(limit)
        )
        return [_sale(row, []) for row in rows]

    async def of_member_by_receipt(self, member_id: UUID, receipt_id: str) -> Sale | None:
        row = (
            await SaleRow.select()
            .where((SaleRow.member_id == member_id) & (SaleRow.receipt_id == receipt_id))
            .order_by(SaleRow.channel, ascending=False)  # 'web' before 'pos'
            .order_by(SaleRow.occurred_at, ascending=False)
            .first()
        )
        if row is None:
            return None
        lines = await (
            SaleLineRow.select()
            .where(SaleLineRow.sale_id == row["id"])
            .order_by(SaleLineRow.line_no)
        )
        return _sale(row, lines)

    async def any_recorded(self) -> bool:
        return bool(await SaleRow.exists())


def _sale(row: dict[str, Any], lines: list[dict[str, Any]]) -> Sale:
    return Sale(
        id=row["id"],
        store_id=row["store_id"],
        terminal_id=row["terminal_id"],
        receipt_id=row["receipt_id"],
        member_id=row["member_id"],
        currency=row["currency"],
        occurred_at=row["occurred_at"],
        recorded_at=row["recorded_at"],
        lines=tuple(
            SaleLine(
                sku=line["sku"],
                quantity=line["quantity"],
                unit_price=line["unit_price"],
                category=line["category"],
            )
            for line in lines
        ),
        pricing=Pricing(
            subtotal=row["subtotal"],
            discount_total=row["discount_total"],
            points_redeemed=row["points_redeemed"],
            points_value=row["points_value"],
            points_earned=row["points_earned"],
        ),
        refunded_amount=row["refunded_amount"],
        points_reversed=row["points_reversed"],
        points_restored=row["points_restored"],
        channel=row["channel"],
        refunded_quantities={
            line["line_no"]: line["refunded_quantity"]
            for line in lines
            if line["refunded_quantity"]
        },
    )
