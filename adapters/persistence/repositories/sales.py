from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from uuid import UUID

from adapters.persistence.repositories.points_save import chain_head
from adapters.persistence.session import connection
from adapters.persistence.tables import RefundLineRow, RefundRow, SaleLineRow, SaleRow
from domain.earning_rules import Breakdown, breakdown_document, breakdown_from_document
from domain.members import Member
from domain.points import Lot, PointsAccount, Reference
from domain.repositories import Buyer, RecordedRefund
from domain.sales import Pricing, Sale, SaleLine
from domain.tier_policy import MemberTier

# The sale and its lines in one statement; no lines are written when the receipt was taken.
_ADD = """
WITH sale AS (
    INSERT INTO sales (id, store_id, terminal_id, receipt_id, member_id, currency, occurred_at,
                       recorded_at, subtotal, discount_total, points_redeemed, points_value,
                       payable, points_earned, channel, points_breakdown)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $20::jsonb)
    ON CONFLICT (store_id, receipt_id) DO NOTHING
    RETURNING id, member_id
),
lines AS (
    INSERT INTO sale_lines (sale_id, member_id, line_no, sku, category, quantity, unit_price)
    SELECT sale.id, sale.member_id, line.n - 1, line.sku, line.category, line.quantity,
           line.unit_price
    FROM sale, unnest($16::text[], $17::text[], $18::int[], $19::bigint[]) WITH ORDINALITY
        AS line(sku, category, quantity, unit_price, n)
)
SELECT count(*) FROM sale
"""

# The lock: a concurrent holder's committed balances are what FOR UPDATE returns.
_BUYER_LOCKED = """
SELECT m.id, m.phone, m.name, m.email, m.birthday, m.tier_code, m.enrolled_store_id,
       m.enrolled_at, c.card_number, a.available, a.pending, a.debt
FROM members m
JOIN member_cards c ON c.member_id = m.id AND c.status = 'active'
JOIN points_accounts a ON a.member_id = m.id
WHERE m.id = $1
FOR UPDATE OF a
"""

# Read after the lock, in a statement of its own: its snapshot then includes everything the
# previous holder of the lock committed (lots, standing, sales), which a subquery of the
# locking statement would not (READ COMMITTED takes a statement's snapshot before it waits).
# One row per open lot, or one row without a lot. A purchase that spends no points needs only
# the frozen lots (for the balances); a regular's hundreds of open lots stay unread. The phone
# is read here too: an erasure (which takes the account lock first) that committed while the
# sale waited shows only in this snapshot, and an erased member must not buy. So is the last
# link of the member's ledger chain, which the sale's entries continue (session.chain_heads).
_BUYER_STATE = """
SELECT m.phone, m.tier_code, m.tier_short_since, m.tier_manual_until,
       (SELECT coalesce(sum(s.payable - s.refunded_amount), 0)::bigint FROM sales s
        WHERE s.member_id = $1 AND s.occurred_at >= $2) AS qualifying_value,
       (SELECT e.seq FROM points_entries e WHERE e.member_id = $1
        ORDER BY e.seq DESC LIMIT 1) AS chain_seq,
       (SELECT e.entry_hash FROM points_entries e WHERE e.member_id = $1
        ORDER BY e.seq DESC LIMIT 1) AS chain_hash,
       l.id AS lot_id, l.reference, l.earned_at, l.expires_at, l.points, l.remaining,
       l.pending AS lot_pending, l.release_at, l.frozen
FROM members m
LEFT JOIN points_lots l ON l.member_id = m.id AND (l.remaining > 0 OR l.pending)
    AND ($3 OR l.frozen)
WHERE m.id = $1
ORDER BY l.id
"""


class PostgresSaleRepository:
    async def add(self, sale: Sale) -> bool:
        p = sale.pricing
        lines = sale.lines
        inserted: int = await connection().fetchval(
            _ADD,
            sale.id,
            sale.store_id,
            sale.terminal_id,
            sale.receipt_id,
            sale.member_id,
            sale.currency,
            sale.occurred_at,
            sale.recorded_at,
            p.subtotal,
            p.discount_total,
            p.points_redeemed,
            p.points_value,
            p.payable,
            p.points_earned,
            sale.channel,
            [line.sku for line in lines],
            [line.category for line in lines],
            [line.quantity for line in lines],
            [line.unit_price for line in lines],
            json.dumps(breakdown_document(p.breakdown)) if p.breakdown is not None else None,
        )
        return inserted == 1

    async def buyer_for_update(
        self, member_id: UUID, since: datetime, *, spending: bool
    ) -> Buyer | None:
        db = connection()
        locked = await db.fetchrow(_BUYER_LOCKED, member_id)
        if locked is None:
            return None
        rows = await db.fetch(_BUYER_STATE, member_id, since, spending)
        first = rows[0]
        chain_head(member_id, first["chain_seq"], first["chain_hash"])
        return Buyer(
            member=Member(
                id=locked["id"],
                phone=first["phone"],
                card_number=locked["card_number"],
                tier_code=locked["tier_code"],
                enrolled_at=locked["enrolled_at"],
                name=locked["name"],
                email=locked["email"],
                birthday=locked["birthday"],
                enrolled_store_id=locked["enrolled_store_id"],
            ),
            account=PointsAccount(
                member_id=member_id,
                available=locked["available"],
                pending=locked["pending"],
                debt=locked["debt"],
                lots=[
                    Lot(
                        reference=Reference.parse(r["reference"]),
                        earned_at=r["earned_at"],
                        expires_at=r["expires_at"],
                        points=r["points"],
                        remaining=r["remaining"],
                        pending=r["lot_pending"],
                        release_at=r["release_at"],
                        id=r["lot_id"],
                        frozen=r["frozen"],
                    )
                    for r in rows
                    if r["lot_id"] is not None
                ],
            ),
            standing=MemberTier(
                first["tier_code"], first["tier_short_since"], first["tier_manual_until"]
            ),
            qualifying_value=first["qualifying_value"],
        )

    async def get(self, sale_id: UUID) -> Sale | None:
        return await self._load(sale_id, lock=False)

    async def get_for_update(self, sale_id: UUID) -> Sale | None:
        return await self._load(sale_id, lock=True)

    async def by_receipt(self, store_id: UUID, receipt_id: str) -> Sale | None:
        # The unique (store_id, receipt_id) index answers it.
        row = (
            await SaleRow.select()
            .where((SaleRow.store_id == store_id) & (SaleRow.receipt_id == receipt_id))
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
                SaleRow.refunded_by_amount: sale.refunded_by_amount,
            }
        ).where(SaleRow.id == sale.id)
        return True

    async def qualifying_value(self, member_id: UUID, since: datetime) -> int:
        value: int = await connection().fetchval(
            "SELECT coalesce(sum(payable - refunded_amount), 0)::bigint FROM sales "
            "WHERE member_id = $1 AND occurred_at >= $2",
            member_id,
            since,
        )
        return value

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
            breakdown=_breakdown(row.get("points_breakdown")),
        ),
        refunded_amount=row["refunded_amount"],
        refunded_by_amount=row.get("refunded_by_amount") or 0,
        points_reversed=row["points_reversed"],
        points_restored=row["points_restored"],
        channel=row["channel"],
        imported_from=row.get("imported_from"),
        refunded_quantities={
            line["line_no"]: line["refunded_quantity"]
            for line in lines
            if line["refunded_quantity"]
        },
    )


def _breakdown(value: Any) -> Breakdown | None:
    if value is None:
        return None
    return breakdown_from_document(json.loads(value) if isinstance(value, str) else value)
