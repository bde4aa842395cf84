from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import InvalidInput
from domain.points import EntryType, LedgerEntry, PointsAccount, Reference

NOW = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
MEMBER = UUID(int=1)


def sale(n: int) -> Reference:
    return Reference("sale", f"s{n}")


def refund(n: int) -> Reference:
    return Reference("refund", f"r{n}")


def test_earning_credits_available_points_and_posts_an_earn_entry() -> None:
    account = PointsAccount(MEMBER)
    entry = account.earn(250, reference=sale(1), now=NOW)
    assert (account.available, account.debt, account.balance) == (250, 0, 250)
    assert entry == LedgerEntry(
        member_id=MEMBER,
        type=EntryType.EARN,
        points=250,
        reference=Reference("sale", "s1"),
        posting_key="sale:s1:earn",
        created_at=NOW,
    )
    assert account.new_entries == [entry]


def test_reversing_takes_points_back_and_posts_a_negative_reverse_entry() -> None:
    account = PointsAccount(MEMBER, available=250)
    entry = account.reverse(100, reference=refund(1), now=NOW)
    assert (account.available, account.debt, account.balance) == (150, 0, 150)
    assert entry is not None
    assert entry.type is EntryType.REVERSE
    assert entry.points == -100
    assert entry.posting_key == "refund:r1:reverse"


def test_a_reversal_beyond_the_available_points_becomes_debt() -> None:
    account = PointsAccount(MEMBER, available=30)
    account.reverse(100, reference=refund(1), now=NOW)
    assert (account.available, account.debt) == (0, 70)
    assert account.balance == -70


def test_a_reversal_with_nothing_available_is_all_debt() -> None:
    account = PointsAccount(MEMBER)
    account.reverse(40, reference=refund(1), now=NOW)
    account.reverse(2, reference=refund(2), now=NOW)
    assert (account.available, account.debt, account.balance) == (0, 42, -42)


def test_later_earnings_pay_off_the_debt_first() -> None:
    account = PointsAccount(MEMBER, debt=70)
    account.earn(50, reference=sale(2), now=NOW)
    assert (account.available, account.debt, account.balance) == (0, 20, -20)
    entry = account.earn(50, reference=sale(3), now=NOW)
    assert (account.available, account.debt, account.balance) == (30, 0, 30)
    # The ledger records what was earned, not what was left after paying the debt.
    assert entry is not None
    assert entry.points == 50


def test_earning_exactly_the_debt_clears_it_and_leaves_nothing_available() -> None:
    account = PointsAccount(MEMBER, debt=70)
    account.earn(70, reference=sale(2), now=NOW)
    assert (account.available, account.debt, account.balance) == (0, 0, 0)


def test_zero_points_post_nothing() -> None:
    account = PointsAccount(MEMBER, available=5)
    assert account.earn(0, reference=sale(1), now=NOW) is None
    assert account.reverse(0, reference=refund(1), now=NOW) is None
    assert account.new_entries == []
    assert account.available == 5


def test_negative_points_are_refused_both_ways() -> None:
    account = PointsAccount(MEMBER, available=5)
    with pytest.raises(InvalidInput):
        account.earn(-1, reference=sale(1), now=NOW)
    with pytest.raises(InvalidInput):
        account.reverse(-1, reference=refund(1), now=NOW)
    assert account.new_entries == []
    assert (account.available, account.debt) == (5, 0)


def test_posting_keys_are_unique_per_reference_and_entry_type() -> None:
    account = PointsAccount(MEMBER)
    account.earn(10, reference=sale(1), now=NOW)
    account.earn(10, reference=sale(2), now=NOW)
    account.reverse(5, reference=sale(1), now=NOW)
    account.reverse(5, reference=refund(1), now=NOW)
    keys = [e.posting_key for e in account.new_entries]
    assert keys == ["sale:s1:earn", "sale:s2:earn", "sale:s1:reverse", "refund:r1:reverse"]
    assert len(set(keys)) == len(keys)


def test_the_same_posting_twice_gets_the_same_key_so_the_database_can_refuse_it() -> None:
    account = PointsAccount(MEMBER)
    first = account.earn(10, reference=sale(1), now=NOW)
    second = account.earn(10, reference=sale(1), now=NOW)
    assert first is not None
    assert second is not None
    assert first.posting_key == second.posting_key == "sale:s1:earn"


def test_a_reference_prints_as_kind_colon_id() -> None:
    assert str(Reference("order", "A-17")) == "order:A-17"


operations = st.lists(
    st.tuples(st.sampled_from(["earn", "reverse"]), st.integers(min_value=0, max_value=1_000)),
    max_size=40,
)


@settings(max_examples=150)
@given(operations)
def test_balances_stay_consistent_with_the_ledger_under_any_earn_and_reverse_sequence(
    ops: list[tuple[str, int]],
) -> None:
    account = PointsAccount(MEMBER)
    earned = reversed_ = 0
    for n, (kind, points) in enumerate(ops):
        if kind == "earn":
            account.earn(points, reference=sale(n), now=NOW)
            earned += points
        else:
            account.reverse(points, reference=refund(n), now=NOW)
            reversed_ += points
        assert account.available >= 0
        assert account.debt >= 0
        assert not (account.debt > 0 and account.available > 0)
        assert account.balance == sum(e.points for e in account.new_entries)
        assert account.balance == earned - reversed_
    keys = [e.posting_key for e in account.new_entries]
    assert len(keys) == len(set(keys))
    assert all(e.points != 0 for e in account.new_entries)
