"""Property tests of the points ledger (issue 3, item 9).

Random sequences of everything that can happen to a member's points keep the ledger's
invariants after every step, and refunds of a sale paid partly with points give back exactly
what it took and take back exactly what it gave.
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from domain.errors import InsufficientPoints, InvalidInput
from domain.points import (
    Consumption,
    EntryType,
    LedgerEntry,
    Lot,
    Movement,
    PointsAccount,
    Reference,
)
from domain.sales import Pricing, RefundLine, Sale, SaleLine

START = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
MEMBER = UUID(int=7)

points = st.integers(min_value=0, max_value=400)
some_days = st.integers(min_value=0, max_value=90)
pick = st.integers(min_value=0, max_value=10**6)  # an index into whatever is there to pick


@dataclass
class Redemption:
    consumed: list[Consumption]
    restored: int = 0

    @property
    def restorable(self) -> int:
        return sum(c.points for c in self.consumed) - self.restored


@dataclass
class History:
    """Everything the account ever posted, kept across saves (which clear the account's lists)."""

    entries: list[LedgerEntry] = field(default_factory=list)
    movements: list[Movement] = field(default_factory=list)
    lots: list[Lot] = field(default_factory=list)

    def all_entries(self, account: PointsAccount) -> list[LedgerEntry]:
        return self.entries + account.new_entries

    def all_movements(self, account: PointsAccount) -> list[Movement]:
        return self.movements + account.movements

    def all_lots(self, account: PointsAccount) -> list[Lot]:
        return self.lots + account.new_lots


class PointsLedger(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.account = PointsAccount(MEMBER)
        self.history = History()
        self.now = START
        self.refs = itertools.count(1)
        self.lot_ids = itertools.count(1)
        self.earned_by: list[Reference] = []  # sales that earned, for reversals with a source
        self.redemptions: list[Redemption] = []

    def reference(self, kind: str) -> Reference:
        return Reference(kind, str(next(self.refs)))

    def snapshot(self) -> tuple[object, ...]:
        a = self.account
        return (
            a.available,
            a.pending,
            a.debt,
            len(a.new_entries),
            len(a.movements),
            len(a.lots),
            [(lot.points, lot.remaining, lot.pending) for lot in a.lots],
        )

    # What happens to a member's points ----------------------------------------------------

    @rule(
        amount=points,
        expires_in=st.one_of(st.none(), some_days),
        pending_for=st.one_of(st.none(), st.none(), st.integers(min_value=0, max_value=20)),
    )
    def earn(self, amount: int, expires_in: int | None, pending_for: int | None) -> None:
        source = self.reference("sale")
        self.account.earn(
            amount,
            reference=source,
            now=self.now,
            expires_at=None if expires_in is None else self.now + timedelta(days=expires_in),
            pending_until=None if pending_for is None else self.now + timedelta(days=pending_for),
        )
        self.earned_by.append(source)

    @rule(
        share=st.floats(min_value=0, max_value=1),
        beyond=st.one_of(st.just(0), st.just(0), st.integers(min_value=1, max_value=500)),
    )
    def redeem(self, share: float, beyond: int) -> None:
        """Any amount: mostly what the member has, sometimes more than that."""
        before = self.snapshot()
        available = self.account.available
        # Points past their expiry cannot be spent, even before the expiry job has run.
        spendable = self.account.spendable_points(self.now)
        amount = int(spendable * share) + beyond
        if amount > spendable:
            with pytest.raises(InsufficientPoints):
                self.account.redeem(amount, reference=self.reference("sale"), now=self.now)
            assert self.snapshot() == before
            return
        entry = self.account.redeem(amount, reference=self.reference("sale"), now=self.now)
        assert self.account.available == available - amount
        if entry is None:
            assert amount == 0
            return
        taken = [m for m in self.account.movements if m.entry is entry]
        assert sum(m.points for m in taken) == entry.points == -amount
        assert all(m.points < 0 for m in taken)
        self.redemptions.append(
            Redemption([Consumption(m.lot.expires_at, -m.points) for m in taken])
        )

    @rule(amount=st.integers(min_value=0, max_value=100), which=pick, with_source=st.booleans())
    def reverse(self, amount: int, which: int, with_source: bool) -> None:
        source = None
        if with_source and self.earned_by:
            source = self.earned_by[which % len(self.earned_by)]
        self.account.reverse(
            amount, reference=self.reference("refund"), now=self.now, source=source
        )

    @precondition(lambda self: any(r.restorable for r in self.redemptions))
    @rule(which=pick, share=st.floats(min_value=0, max_value=1), too_much=st.booleans())
    def restore(self, which: int, share: float, too_much: bool) -> None:
        open_ = [r for r in self.redemptions if r.restorable]
        redemption = open_[which % len(open_)]
        if too_much:
            before = self.snapshot()
            with pytest.raises(InvalidInput):
                self.account.restore(
                    redemption.restorable + 1,
                    reference=self.reference("refund"),
                    now=self.now,
                    consumed=redemption.consumed,
                    already_restored=redemption.restored,
                )
            assert self.snapshot() == before
            return
        amount = int(redemption.restorable * share)
        self.account.restore(
            amount,
            reference=self.reference("refund"),
            now=self.now,
            consumed=redemption.consumed,
            already_restored=redemption.restored,
        )
        redemption.restored += amount

    @precondition(lambda self: any(lot.pending for lot in self.account.lots))
    @rule(which=pick)
    def release(self, which: int) -> None:
        pending = [lot for lot in self.account.lots if lot.pending]
        lot = pending[which % len(pending)]
        left = lot.remaining
        entry = self.account.release(lot, now=self.now)
        assert not lot.pending
        assert (entry.points if entry else 0) == left
        assert entry is None or entry.type is EntryType.EARN

    @rule(days=some_days)
    def expire(self, days: int) -> None:
        # The job works on stored lots: what it finds was saved before it ran.
        self.save()
        self.now += timedelta(days=days)
        due = [
            lot
            for lot in self.account.lots
            if not lot.pending
            and lot.remaining
            and lot.expires_at is not None
            and lot.expires_at <= self.now
        ]
        run = self.reference("expiry-run")
        for lot in due:
            left = lot.remaining
            entry = self.account.expire(lot, reference=run, now=self.now)
            assert entry is not None
            assert (entry.type, entry.points, lot.remaining) == (EntryType.EXPIRE, -left, 0)
            # Run again, it expires nothing twice.
            assert (
                self.account.expire(lot, reference=self.reference("expiry-run"), now=self.now)
                is None
            )

    @rule(amount=st.integers(min_value=-600, max_value=600).filter(bool), expires_in=some_days)
    def adjust(self, amount: int, expires_in: int) -> None:
        before = self.snapshot()
        reference = self.reference("adjustment")
        if amount < 0 and -amount > self.account.spendable_points(self.now):
            with pytest.raises(InsufficientPoints):
                self.account.adjust(
                    amount, reference=reference, now=self.now, actor="admin:a", reason="fix"
                )
            assert self.snapshot() == before
            return
        entry = self.account.adjust(
            amount,
            reference=reference,
            now=self.now,
            actor="admin:a",
            reason="fix",
            expires_at=self.now + timedelta(days=expires_in),
        )
        assert (entry.points, entry.actor, entry.reason) == (amount, "admin:a", "fix")

    @rule(hours=st.integers(min_value=1, max_value=24 * 40))
    def wait(self, hours: int) -> None:
        self.now += timedelta(hours=hours)

    @rule()
    def save(self) -> None:
        """What a repository does: lots get ids, the lists are cleared, closed lots drop out."""
        account = self.account
        for lot in account.new_lots:
            lot.id = next(self.lot_ids)
        self.history.entries += account.new_entries
        self.history.movements += account.movements
        self.history.lots += account.new_lots
        account.new_entries.clear()
        account.new_lots.clear()
        account.movements.clear()
        account.changed_lots.clear()
        account.released_lots.clear()
        account.lots = [lot for lot in account.lots if lot.remaining > 0 or lot.pending]

    # What must always hold ------------------------------------------------------------------

    @invariant()
    def balances_are_the_sums_of_the_lots(self) -> None:
        lots = self.history.all_lots(self.account)
        assert self.account.available == sum(lot.remaining for lot in lots if not lot.pending)
        assert self.account.pending == sum(lot.remaining for lot in lots if lot.pending)
        # The account's open lots are all the lots that still hold or await points.
        open_lots = [lot for lot in lots if lot.remaining > 0 or lot.pending]
        assert all(any(lot is o for o in self.account.lots) for lot in open_lots)

    @invariant()
    def available_less_debt_is_the_sum_of_the_ledger(self) -> None:
        entries = self.history.all_entries(self.account)
        assert self.account.available - self.account.debt == sum(e.points for e in entries)
        assert self.account.balance == self.account.available - self.account.debt

    @invariant()
    def balances_are_never_negative_and_never_debt_beside_points(self) -> None:
        a = self.account
        assert a.available >= 0
        assert a.pending >= 0
        assert a.debt >= 0
        assert not (a.debt > 0 and a.available > 0)

    @invariant()
    def every_lot_is_its_points_plus_its_movements(self) -> None:
        moved = Counter[int]()
        for m in self.history.all_movements(self.account):
            moved[id(m.lot)] += m.points
        for lot in self.history.all_lots(self.account):
            assert 0 <= lot.remaining <= lot.points
            assert lot.remaining == lot.points + moved[id(lot)]

    @invariant()
    def every_entry_counts_and_has_its_own_posting_key(self) -> None:
        entries = self.history.all_entries(self.account)
        assert all(e.points != 0 for e in entries)
        keys = [e.posting_key for e in entries]
        assert len(keys) == len(set(keys))

    @invariant()
    def movements_belong_to_entries_and_never_take_more_than_posted(self) -> None:
        entries = self.history.all_entries(self.account)
        by_entry = Counter[int]()
        for m in self.history.all_movements(self.account):
            assert m.points != 0
            by_entry[id(m.entry)] += m.points
        for e in entries:
            if e.type in (EntryType.REDEEM, EntryType.EXPIRE) or (
                e.type is EntryType.ADJUST and e.points < 0
            ):
                assert by_entry[id(e)] == e.points  # debits come out of lots in full
            elif e.type is EntryType.REVERSE:
                assert e.points <= by_entry[id(e)] <= 0  # the rest became debt
            else:
                assert -e.points <= by_entry[id(e)] <= 0  # credits only ever paid a debt


PointsLedger.TestCase.settings = settings(max_examples=150, stateful_step_count=30, deadline=None)
test_the_ledger_stays_consistent_under_any_sequence_of_postings = PointsLedger.TestCase


# A sale paid partly with points, refunded in random pieces -------------------------------------


def record(
    account: PointsAccount, lines: list[SaleLine], points_value: int, redeemed: int, earned: int
) -> Sale:
    subtotal = sum(line.amount for line in lines)
    sale = Sale(
        id=UUID(int=42),
        store_id=UUID(int=2),
        terminal_id=None,
        receipt_id="R-1",
        member_id=MEMBER,
        currency="CNY",
        occurred_at=START,
        recorded_at=START,
        lines=tuple(lines),
        pricing=Pricing(
            subtotal=subtotal,
            discount_total=0,
            points_redeemed=redeemed,
            points_value=points_value,
            points_earned=earned,
        ),
    )
    account.redeem(redeemed, reference=sale.reference, now=START)
    account.earn(earned, reference=sale.reference, now=START, expires_at=START + timedelta(days=30))
    return sale


@settings(max_examples=150, deadline=None)
@given(
    lots=st.lists(st.tuples(st.integers(1, 300), st.one_of(st.none(), some_days)), max_size=5),
    lines=st.lists(
        st.builds(
            SaleLine,
            sku=st.sampled_from(["A", "B", "C"]),
            quantity=st.integers(min_value=1, max_value=3),
            unit_price=st.integers(min_value=0, max_value=5_000),
        ),
        min_size=1,
        max_size=4,
    ),
    data=st.data(),
)
def test_refunding_a_sale_paid_with_points_in_any_pieces_restores_and_reverses_exactly(
    lots: list[tuple[int, int | None]], lines: list[SaleLine], data: st.DataObject
) -> None:
    account = PointsAccount(MEMBER)
    for n, (amount, days) in enumerate(lots):
        account.earn(
            amount,
            reference=Reference("sale", f"old-{n}"),
            now=START - timedelta(days=100 - n),
            expires_at=None if days is None else START + timedelta(days=days),
        )
    balance_before = account.available
    subtotal = sum(line.amount for line in lines)
    spendable = account.spendable_points(START)  # lots already past expiry cannot pay
    redeemed = data.draw(st.integers(0, min(spendable, subtotal)), label="redeemed")
    points_value = redeemed  # a point is worth one minor unit here
    payable = subtotal - points_value
    earned = data.draw(st.integers(0, payable // 100 + 2), label="earned") if payable else 0
    sale = record(account, lines, points_value, redeemed, earned)
    redeem_entry = (
        next(e for e in account.new_entries if e.type is EntryType.REDEEM) if redeemed else None
    )
    consumed = [
        Consumption(m.lot.expires_at, -m.points)
        for m in account.movements
        if m.entry is redeem_entry
    ]
    assert sum(c.points for c in consumed) == redeemed

    def apply(decision_amount: int | None, refund_lines: list[RefundLine] | None, n: int) -> None:
        decision = (
            sale.refund_amount(decision_amount)
            if decision_amount is not None
            else sale.refund_lines(refund_lines or [])
        )
        sale.apply_refund(decision)
        reference = Reference("refund", str(n))
        account.reverse(
            decision.points_reversed, reference=reference, now=START, source=sale.reference
        )
        account.restore(
            decision.points_restored,
            reference=reference,
            now=START,
            consumed=consumed,
            already_restored=sale.points_restored - decision.points_restored,
        )
        assert sale.points_restored <= redeemed
        assert sale.points_reversed <= earned

    n = 0
    for n in range(data.draw(st.integers(0, 5), label="pieces")):
        if data.draw(st.booleans(), label="by amount") and sale.refundable_amount:
            apply(data.draw(st.integers(1, sale.refundable_amount)), None, n)
        else:
            left = Counter[str]()
            for number, line in enumerate(sale.lines):
                left[line.sku] += line.quantity - sale.refunded_quantities.get(number, 0)
            left = +left
            if left:
                sku = data.draw(st.sampled_from(sorted(left)))
                apply(None, [RefundLine(sku, data.draw(st.integers(1, left[sku])))], n)
    left = Counter[str]()
    for number, line in enumerate(sale.lines):
        left[line.sku] += line.quantity - sale.refunded_quantities.get(number, 0)
    left = +left
    if left:
        apply(None, [RefundLine(sku, q) for sku, q in left.items()], n + 1)
    elif sale.refundable_amount:
        apply(sale.refundable_amount, None, n + 1)

    assert (sale.refunded_amount, sale.points_restored, sale.points_reversed) == (
        payable,
        redeemed,
        earned,
    )
    # Every point comes back with the expiry it was taken from, and the sale's own are gone.
    restored = Counter[datetime | None]()
    for lot in account.lots:
        if lot.reference.kind == "refund":
            restored[lot.expires_at] += lot.points
    taken = Counter[datetime | None]()
    for c in consumed:
        taken[c.expires_at] += c.points
    assert restored == taken
    assert (account.available, account.debt) == (balance_before, 0)
    assert sum(e.points for e in account.new_entries) == balance_before
