"""The sale repository: sales, refunds and the buyer of a purchase."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import datetime
from uuid import UUID

from domain.repositories import Buyer, RecordedRefund
from domain.sales import IN_STORE, ONLINE, Sale
from tests.support.fakes.common import ConstraintViolation, Linked, require


class FakeSaleRepository(Linked):
    """Sales and refunds; a buyer is read across the member and points fakes, and a sale's
    store, terminal and member must exist (the foreign keys)."""

    def __init__(self) -> None:
        self.sales: dict[UUID, Sale] = {}
        self.refunds: dict[tuple[UUID, str], RecordedRefund] = {}

    async def buyer_for_update(
        self, member_id: UUID, since: datetime, *, spending: bool
    ) -> Buyer | None:
        db = self.db
        member = await db.members.get(member_id)
        if member is None:
            return None
        account = await db.points.get_for_update(member_id)
        # As the real read: a purchase that spends no points gets only the frozen lots.
        account.lots = [lot for lot in account.lots if spending or lot.frozen]
        return Buyer(
            member=member,
            account=account,
            standing=await db.members.standing(member_id),
            qualifying_value=await self.qualifying_value(member_id, since),
        )

    async def add(self, sale: Sale) -> bool:
        if any(
            (s.store_id, s.receipt_id) == (sale.store_id, sale.receipt_id)
            for s in self.sales.values()
        ):
            return False
        check_sale(sale)
        db = self.db
        require(sale.store_id in db.stores.stores, "sales_store_id_fkey")
        require(
            sale.terminal_id is None or sale.terminal_id in db.stores.terminals,
            "sales_terminal_id_fkey",
        )
        require(
            sale.member_id is None or sale.member_id in db.members.members,
            "sales_member_id_fkey",
        )
        self.sales[sale.id] = copy.deepcopy(sale)
        return True

    async def get(self, sale_id: UUID) -> Sale | None:
        return copy.deepcopy(self.sales.get(sale_id))

    async def get_for_update(self, sale_id: UUID) -> Sale | None:
        return copy.deepcopy(self.sales.get(sale_id))

    async def by_receipt(self, store_id: UUID, receipt_id: str) -> Sale | None:
        found = (
            s for s in self.sales.values() if (s.store_id, s.receipt_id) == (store_id, receipt_id)
        )
        return copy.deepcopy(next(found, None))

    async def refund_recorded(self, sale_id: UUID, refund_id: str) -> bool:
        return (sale_id, refund_id) in self.refunds

    async def add_refund(self, sale: Sale, refund: RecordedRefund) -> bool:
        if (sale.id, refund.refund_id) in self.refunds:
            return False
        check_sale(sale)
        self.refunds[(sale.id, refund.refund_id)] = refund
        self.sales[sale.id] = copy.deepcopy(sale)
        return True

    async def qualifying_value(self, member_id: UUID, since: datetime) -> int:
        return sum(
            s.payable - s.refunded_amount
            for s in self.sales.values()
            if s.member_id == member_id and s.occurred_at >= since
        )

    async def oldest_qualifying_purchase(self, member_id: UUID, since: datetime) -> datetime | None:
        return min(
            (
                s.occurred_at
                for s in self.sales.values()
                if s.member_id == member_id
                and s.occurred_at >= since
                and s.payable > s.refunded_amount
            ),
            default=None,
        )

    async def recent_for_member(self, member_id: UUID, limit: int) -> list[Sale]:
        mine = [s for s in self.sales.values() if s.member_id == member_id]
        newest = sorted(mine, key=lambda s: s.occurred_at, reverse=True)[:limit]
        return [replace(copy.deepcopy(s), lines=()) for s in newest]  # lines not loaded

    async def any_recorded(self) -> bool:
        return bool(self.sales)

    async def of_member_by_receipt(self, member_id: UUID, receipt_id: str) -> Sale | None:
        mine = [
            s
            for s in self.sales.values()
            if s.member_id == member_id and s.receipt_id == receipt_id
        ]
        mine.sort(key=lambda s: (s.channel == ONLINE, s.occurred_at), reverse=True)
        return copy.deepcopy(mine[0]) if mine else None


def check_sale(sale: Sale) -> None:
    """The CHECK constraints of the sales and sale_lines tables."""
    p = sale.pricing
    checks = {
        "sales_channel": sale.channel in (IN_STORE, ONLINE),
        "sales_amounts_nonneg": min(
            p.subtotal, p.discount_total, p.points_redeemed, p.points_value, p.points_earned
        )
        >= 0,
        "sales_payable": p.payable >= 0,
        "sales_refunded": 0 <= sale.refunded_amount <= p.payable,
        "sales_points_reversed": 0 <= sale.points_reversed <= p.points_earned,
        "sales_points_restored": 0 <= sale.points_restored <= p.points_redeemed,
        "sales_points_need_member": sale.member_id is not None or p.points_earned == 0,
        "sales_imported_no_points": sale.imported_from is None
        or (p.points_earned == 0 and p.points_redeemed == 0),
    }
    broken = [name for name, ok in checks.items() if not ok]
    if any(
        not 0 <= sale.refunded_quantities.get(number, 0) <= line.quantity
        for number, line in enumerate(sale.lines)
    ):
        broken.append("sale_lines_refunded")
    if broken:
        raise ConstraintViolation(f"sale {sale.receipt_id!r} breaks {', '.join(broken)}")
