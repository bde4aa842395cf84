"""Sales at the till and their refunds: what is paid, what is earned, what is given back.

Refunds are computed cumulatively (what has been refunded in total after this refund, minus
what had been refunded before), so partial refunds never drift: a sale refunded in any number
of pieces gives back exactly its payable amount and reverses exactly its earned points.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_CEILING, Decimal
from uuid import UUID

from domain.earning_rules import Breakdown, reversed_as_of
from domain.errors import (
    AmountTooLarge,
    InvalidInput,
    PointsExceedPayable,
    RefundExceedsSale,
    SkuNotOnSale,
)
from domain.money import MAX_AMOUNT, floor_int, floor_share
from domain.points import Reference

MAX_LINES = 500
MAX_QUANTITY = 100_000
IN_STORE = "pos"
ONLINE = "web"


@dataclass(frozen=True, slots=True)
class SaleLine:
    sku: str
    quantity: int
    unit_price: int  # minor units
    category: str | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.quantity <= MAX_QUANTITY:
            raise InvalidInput(f"quantity must be between 1 and {MAX_QUANTITY}", field="quantity")
        if not 0 <= self.unit_price <= MAX_AMOUNT:
            raise InvalidInput(f"unit_price must be between 0 and {MAX_AMOUNT}", field="unit_price")

    @property
    def amount(self) -> int:
        return self.quantity * self.unit_price


@dataclass(frozen=True, slots=True)
class Basket:
    lines: tuple[SaleLine, ...]

    def __post_init__(self) -> None:
        if not 1 <= len(self.lines) <= MAX_LINES:
            raise InvalidInput(f"a sale has between 1 and {MAX_LINES} lines", field="lines")
        if self.subtotal > MAX_AMOUNT:
            raise AmountTooLarge(f"the subtotal exceeds {MAX_AMOUNT} minor units", field="lines")

    @property
    def subtotal(self) -> int:
        return sum(line.amount for line in self.lines)


@dataclass(frozen=True, slots=True)
class RejectedCoupon:
    code: str
    code_reason: str


@dataclass(frozen=True, slots=True)
class Pricing:
    """The money side of a quote or sale."""

    subtotal: int
    discount_total: int
    points_redeemed: int
    points_value: int
    points_earned: int
    applied_coupons: tuple[str, ...] = ()
    rejected_coupons: tuple[RejectedCoupon, ...] = ()
    draw_chances: int = 0
    # How points_earned came about (None: a guest, or a sale from before earning rules)
    breakdown: Breakdown | None = None

    @property
    def payable(self) -> int:
        return self.subtotal - self.discount_total - self.points_value


def price(
    basket: Basket, *, discount_total: int, redeem_points: int, point_value: Decimal
) -> Pricing:
    """The money side of a basket, ``redeem_points`` being worth ``point_value`` minor units each.

    Points are worth floor(points x point value). A member is never charged points that buy
    nothing: of the points offered, only as many as that value needs are taken (at 0.5 per
    point, 3 points buy 1 minor unit and only 2 are taken).
    """
    if redeem_points < 0:
        raise InvalidInput("redeem_points cannot be negative", field="redeem_points")
    value = floor_int(Decimal(redeem_points) * point_value)
    if redeem_points and value == 0:
        raise InvalidInput(
            f"{redeem_points} points are worth less than one minor unit", field="redeem_points"
        )
    payable_before_points = basket.subtotal - discount_total
    if value > payable_before_points:
        raise PointsExceedPayable(
            f"{redeem_points} points are worth {value}, more than the "
            f"{payable_before_points} left to pay"
        )
    needed = int((Decimal(value) / point_value).to_integral_value(rounding=ROUND_CEILING))
    return Pricing(
        subtotal=basket.subtotal,
        discount_total=discount_total,
        points_redeemed=needed if value else 0,
        points_value=value,
        points_earned=0,
    )


@dataclass(frozen=True, slots=True)
class RefundLine:
    sku: str
    quantity: int


@dataclass(frozen=True, slots=True)
class RefundDecision:
    amount: int
    points_reversed: int
    points_restored: int
    # (line number, quantity refunded now) for every sale line the refund touches
    line_quantities: tuple[tuple[int, int], ...]
    # (rule id, rule version, points of the rule this refund reverses), rules with any
    rule_reversals: tuple[tuple[UUID, int, int], ...] = ()


@dataclass(slots=True)
class Sale:
    id: UUID
    store_id: UUID
    terminal_id: UUID | None
    receipt_id: str
    member_id: UUID | None
    currency: str
    occurred_at: datetime
    recorded_at: datetime
    lines: tuple[SaleLine, ...]
    pricing: Pricing
    refunded_amount: int = 0
    points_reversed: int = 0
    points_restored: int = 0
    channel: str = "pos"
    # line number (0-based, as in ``lines``) -> quantity refunded so far
    refunded_quantities: dict[int, int] = field(default_factory=dict)
    # the part of refunded_amount refunded by amount, naming no lines
    refunded_by_amount: int = 0
    # where imported history came from (e.g. "online-retail"); None for a sale recorded here.
    # Imported history is the past replayed for analytics: it earns nothing, ever.
    imported_from: str | None = None

    @property
    def payable(self) -> int:
        return self.pricing.payable

    @property
    def reference(self) -> Reference:
        return Reference("sale", str(self.id))

    @property
    def refundable_amount(self) -> int:
        return self.payable - self.refunded_amount

    @property
    def fully_refunded(self) -> bool:
        """Everything paid has been given back; a sale paid in full by coupons and points
        counts as fully refunded once all its lines have been returned."""
        if self.refundable_amount > 0:
            return False
        if self.payable > 0:
            return True
        return all(
            self.refunded_quantities.get(number, 0) >= line.quantity
            for number, line in enumerate(self.lines)
        )

    def refund_lines(self, requested: Sequence[RefundLine]) -> RefundDecision:
        """Refunds quantities by SKU; the money back is the lines' share of what was paid."""
        if not requested:
            raise InvalidInput("a refund needs lines or an amount", field="lines")
        wanted = Counter[str]()
        for item in requested:
            if item.quantity < 1:
                raise InvalidInput("refund quantities must be at least 1", field="lines")
            wanted[item.sku] += item.quantity
        taken: list[tuple[int, int]] = []
        on_sale = {line.sku for line in self.lines}
        missing = [sku for sku in wanted if sku not in on_sale]
        if missing:
            raise SkuNotOnSale(
                ", ".join(repr(sku) for sku in missing)
                + (" is" if len(missing) == 1 else " are")
                + " not on this sale"
            )
        for sku, quantity in wanted.items():
            left = quantity
            for number, line in enumerate(self.lines):
                if line.sku != sku or left == 0:
                    continue
                remaining = line.quantity - self.refunded_quantities.get(number, 0)
                take = min(left, remaining)
                if take > 0:
                    taken.append((number, take))
                    left -= take
            if left:
                refundable = quantity - left
                raise RefundExceedsSale(
                    f"{quantity} x {sku!r} requested, "
                    + (
                        f"only {refundable} left to refund"
                        if refundable
                        else f"every {sku!r} on this sale has already been refunded"
                    )
                )
        before = self._refunded_line_value()
        now_value = sum(self.lines[number].unit_price * qty for number, qty in taken)
        after = before + now_value
        subtotal = self.pricing.subtotal
        if after == subtotal:
            amount = self.refundable_amount  # the last piece takes exactly what is left
        else:
            share = floor_share(self.payable, after, subtotal)
            amount = share - floor_share(self.payable, before, subtotal)
            amount = min(amount, self.refundable_amount)
        quantities = dict(self.refunded_quantities)
        for number, qty in taken:
            quantities[number] = quantities.get(number, 0) + qty
        reversed_total, rules = self._reversal(amount, quantities, self.refunded_by_amount)
        return RefundDecision(
            amount=amount,
            points_reversed=reversed_total,
            points_restored=self._points_to_restore(amount, after),
            line_quantities=tuple(sorted(taken)),
            rule_reversals=rules,
        )

    def refund_amount(self, amount: int) -> RefundDecision:
        if amount < 1:
            raise InvalidInput("a refund amount must be at least 1", field="amount")
        if amount > self.refundable_amount:
            raise RefundExceedsSale(
                f"{amount} requested, {self.refundable_amount} left to refund on this sale"
            )
        reversed_total, rules = self._reversal(
            amount, self.refunded_quantities, self.refunded_by_amount + amount
        )
        return RefundDecision(
            amount=amount,
            points_reversed=reversed_total,
            points_restored=self._points_to_restore(amount, None),
            line_quantities=(),
            rule_reversals=rules,
        )

    def apply_refund(self, decision: RefundDecision) -> None:
        self.refunded_amount += decision.amount
        if not decision.line_quantities:
            self.refunded_by_amount += decision.amount
        self.points_reversed += decision.points_reversed
        self.points_restored += decision.points_restored
        for number, quantity in decision.line_quantities:
            self.refunded_quantities[number] = self.refunded_quantities.get(number, 0) + quantity

    def _refunded_line_value(self) -> int:
        return sum(self.lines[n].unit_price * q for n, q in self.refunded_quantities.items())

    def _points_to_restore(self, amount: int, line_value_after: int | None) -> int:
        """Redeemed points given back in proportion to what is refunded, exact when full."""
        redeemed = self.pricing.points_redeemed
        if redeemed == 0:
            return 0
        if self.payable > 0:
            done, whole = self.refunded_amount + amount, self.payable
        else:
            # Paid entirely with points: only the lines say how much of the sale comes back.
            done, whole = line_value_after or 0, self.pricing.subtotal
        restored_after = redeemed if done >= whole else floor_share(redeemed, done, whole)
        return restored_after - self.points_restored

    def _reversed_as_of(
        self, refunded: int, quantities: dict[int, int], by_amount: int
    ) -> tuple[int, dict[tuple[UUID, int], int]]:
        """Points reversed in all once the sale stands refunded this far, and of each rule.

        The base follows the payable refunded; each rule's points follow the lines they came
        from (docs/rules.md#earning-rules); everything on a full refund. A pure function of
        the refund state, so each refund reverses the difference and no rounding drifts.
        """
        breakdown = self.pricing.breakdown
        if breakdown is None:  # a sale from before earning rules: the base alone
            breakdown = Breakdown(base=self.pricing.points_earned, tier_multiplier=Decimal(1))
        return reversed_as_of(
            breakdown,
            quantities=[line.quantity for line in self.lines],
            refunded_quantities=quantities,
            refunded_amount=refunded,
            refunded_by_amount=by_amount,
            payable=self.payable,
        )

    def _reversal(
        self, amount: int, quantities: dict[int, int], by_amount: int
    ) -> tuple[int, tuple[tuple[UUID, int, int], ...]]:
        before_total, before = self._reversed_as_of(
            self.refunded_amount, self.refunded_quantities, self.refunded_by_amount
        )
        after_total, after = self._reversed_as_of(
            self.refunded_amount + amount, quantities, by_amount
        )
        # Sales from before earning rules reversed by the same formula: before_total is
        # what they reversed so far.
        del before_total
        rules = tuple(
            (rule_id, version, after[(rule_id, version)] - before.get((rule_id, version), 0))
            for rule_id, version in after
            if after[(rule_id, version)] != before.get((rule_id, version), 0)
        )
        return after_total - self.points_reversed, rules
