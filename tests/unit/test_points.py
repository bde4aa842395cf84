from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from domain.errors import InsufficientPoints, InvalidInput
from domain.points import (
    MAX_ADJUSTMENT,
    MAX_REASON_LENGTH,
    Consumption,
    EntryType,
    LedgerEntry,
    Lot,
    PointsAccount,
    Reference,
)

NOW = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
MEMBER = UUID(int=1)
# Ends of days in Asia/Shanghai (UTC+8), as the programme's expiry rule produces them.
END_OF_MARCH = datetime(2025, 3, 31, 16, 0, tzinfo=UTC)
END_OF_APRIL = datetime(2025, 4, 30, 16, 0, tzinfo=UTC)
END_OF_MAY = datetime(2025, 5, 31, 16, 0, tzinfo=UTC)
RUN = Reference("expiry-run", "2025-06")

_lot_ids = itertools.count(1)


def sale(n: int) -> Reference:
    return Reference("sale", f"s{n}")


def refund(n: int) -> Reference:
    return Reference("refund", f"r{n}")


def saved(account: PointsAccount) -> PointsAccount:
    """What a repository's save and a fresh load do: lots get ids, closed lots drop out."""
    for lot in account.new_lots:
        lot.id = next(_lot_ids)
    account.new_entries.clear()
    account.new_lots.clear()
    account.movements.clear()
    account.changed_lots.clear()
    account.released_lots.clear()
    account.lots = [lot for lot in account.lots if lot.remaining > 0 or lot.pending]
    return account


def funded(*lots: tuple[int, datetime | None]) -> PointsAccount:
    """An account holding one earned lot per (points, expires_at), earned a minute apart."""
    account = PointsAccount(MEMBER)
    for n, (points, expires_at) in enumerate(lots):
        account.earn(
            points, reference=sale(n), now=NOW + timedelta(minutes=n), expires_at=expires_at
        )
    return saved(account)


def in_debt(points: int) -> PointsAccount:
    account = PointsAccount(MEMBER)
    account.reverse(points, reference=refund(99), now=NOW)
    return saved(account)


def taken(account: PointsAccount) -> list[tuple[Reference, int]]:
    """The movements posted since the last save, as (lot reference, points)."""
    return [(m.lot.reference, m.points) for m in account.movements]


def remaining(account: PointsAccount) -> list[int]:
    return [lot.remaining for lot in account.lots]


# Earning ------------------------------------------------------------------------------------


def test_earning_credits_available_points_in_a_new_lot_and_posts_an_earn_entry() -> None:
    account = PointsAccount(MEMBER)
    entry = account.earn(250, reference=sale(1), now=NOW, expires_at=END_OF_APRIL)
    assert (account.available, account.debt, account.balance) == (250, 0, 250)
    assert entry == LedgerEntry(
        member_id=MEMBER,
        type=EntryType.EARN,
        points=250,
        reference=Reference("sale", "s1"),
        posting_key="sale:s1:earn",
        created_at=NOW,
        expires_at=END_OF_APRIL,
    )
    assert account.new_entries == [entry]
    [lot] = account.lots
    assert account.new_lots == [lot]
    assert (lot.reference, lot.earned_at, lot.expires_at) == (sale(1), NOW, END_OF_APRIL)
    assert (lot.points, lot.remaining, lot.pending) == (250, 250, False)
    assert account.movements == []


def test_earning_without_an_expiry_makes_a_lot_that_never_expires() -> None:
    account = PointsAccount(MEMBER)
    entry = account.earn(10, reference=sale(1), now=NOW)
    assert entry is not None
    assert entry.expires_at is None
    assert account.lots[0].expires_at is None


def test_pending_points_wait_in_a_pending_lot_outside_the_ledger() -> None:
    account = PointsAccount(MEMBER)
    release_at = NOW + timedelta(days=14)
    assert account.earn(80, reference=sale(1), now=NOW, pending_until=release_at) is None
    assert (account.available, account.pending, account.balance) == (0, 80, 0)
    assert account.new_entries == []
    [lot] = account.lots
    assert (lot.pending, lot.release_at, lot.points, lot.remaining) == (True, release_at, 80, 80)
    assert account.pending_lots_of(sale(1)) == [lot]
    assert account.pending_lots_of(sale(2)) == []


def test_pending_points_cannot_be_spent() -> None:
    account = PointsAccount(MEMBER)
    account.earn(80, reference=sale(1), now=NOW, pending_until=NOW + timedelta(days=14))
    with pytest.raises(InsufficientPoints):
        account.redeem(1, reference=sale(2), now=NOW)


# Debt ---------------------------------------------------------------------------------------


def test_later_earnings_pay_off_the_debt_first() -> None:
    account = in_debt(70)
    account.earn(50, reference=sale(2), now=NOW)
    assert (account.available, account.debt, account.balance) == (0, 20, -20)
    entry = account.earn(50, reference=sale(3), now=NOW)
    assert (account.available, account.debt, account.balance) == (30, 0, 30)
    # The ledger records what was earned, not what was left after paying the debt.
    assert entry is not None
    assert entry.points == 50
    # The lots show where the debt went: a movement out of each new lot.
    assert taken(account) == [(sale(2), -50), (sale(3), -20)]
    assert [(lot.points, lot.remaining) for lot in account.lots] == [(50, 0), (50, 30)]
    assert [m.entry.reference for m in account.movements] == [sale(2), sale(3)]


def test_earning_exactly_the_debt_clears_it_and_leaves_nothing_available() -> None:
    account = in_debt(70)
    account.earn(70, reference=sale(2), now=NOW)
    assert (account.available, account.debt, account.balance) == (0, 0, 0)
    assert remaining(account) == [0]


def test_pending_points_do_not_pay_a_debt_until_they_are_released() -> None:
    account = in_debt(30)
    account.earn(50, reference=sale(1), now=NOW, pending_until=NOW + timedelta(days=1))
    assert (account.available, account.pending, account.debt) == (0, 50, 30)
    [lot] = account.lots
    account.release(lot, now=NOW + timedelta(days=1))
    assert (account.available, account.pending, account.debt) == (20, 0, 0)
    assert (lot.points, lot.remaining) == (50, 20)
    assert taken(account) == [(sale(1), -30)]


# Redemption ---------------------------------------------------------------------------------


def test_redemption_takes_the_soonest_expiring_lots_first_and_never_expiring_last() -> None:
    account = funded((100, None), (100, END_OF_MAY), (100, END_OF_MARCH), (100, END_OF_APRIL))
    account.redeem(250, reference=sale(9), now=NOW)
    assert taken(account) == [(sale(2), -100), (sale(3), -100), (sale(1), -50)]
    assert remaining(account) == [100, 50, 0, 0]
    account.redeem(120, reference=sale(10), now=NOW)
    assert taken(account)[-2:] == [(sale(1), -50), (sale(0), -70)]
    assert remaining(account) == [30, 0, 0, 0]


def test_lots_expiring_at_the_same_instant_are_spent_oldest_first() -> None:
    account = PointsAccount(MEMBER)
    account.earn(10, reference=sale(2), now=NOW + timedelta(hours=1), expires_at=END_OF_MAY)
    account.earn(10, reference=sale(1), now=NOW, expires_at=END_OF_MAY)
    saved(account)
    account.redeem(15, reference=sale(3), now=NOW)
    assert taken(account) == [(sale(1), -10), (sale(2), -5)]


def test_a_redemption_posts_one_redeem_entry_whose_movements_add_up_to_it() -> None:
    account = funded((30, END_OF_APRIL), (30, END_OF_MARCH), (30, None))
    entry = account.redeem(75, reference=sale(7), now=NOW)
    assert entry is not None
    assert account.new_entries == [entry]
    assert (entry.type, entry.points, entry.posting_key) == (
        EntryType.REDEEM,
        -75,
        "sale:s7:redeem",
    )
    assert all(m.entry is entry for m in account.movements)
    assert sum(m.points for m in account.movements) == -75
    assert (account.available, account.balance) == (15, 15)


def test_redeeming_more_than_is_available_is_refused_and_changes_nothing() -> None:
    account = funded((50, END_OF_APRIL), (30, None))
    with pytest.raises(InsufficientPoints, match="81 points requested, 80 available"):
        account.redeem(81, reference=sale(7), now=NOW)
    assert (account.available, account.new_entries, account.movements) == (80, [], [])
    assert remaining(account) == [50, 30]
    assert account.redeem(80, reference=sale(8), now=NOW) is not None
    assert account.available == 0


def test_a_member_in_debt_cannot_redeem_anything() -> None:
    account = in_debt(5)
    with pytest.raises(InsufficientPoints, match="1 points requested, 0 available"):
        account.redeem(1, reference=sale(7), now=NOW)


# Reversal -----------------------------------------------------------------------------------


def test_reversing_takes_points_back_and_posts_a_negative_reverse_entry() -> None:
    account = funded((250, None))
    entry = account.reverse(100, reference=refund(1), now=NOW)
    assert (account.available, account.debt, account.balance) == (150, 0, 150)
    assert entry is not None
    assert entry.type is EntryType.REVERSE
    assert entry.points == -100
    assert entry.posting_key == "refund:r1:reverse"
    assert sum(m.points for m in account.movements) == -100


def test_a_reversal_takes_the_source_sales_own_lot_first_then_the_soonest_expiring() -> None:
    account = funded((50, END_OF_APRIL), (40, END_OF_MAY), (100, None))  # sale 2 never expires
    account.reverse(130, reference=refund(1), now=NOW, source=sale(2))
    assert taken(account) == [(sale(2), -100), (sale(0), -30)]
    assert remaining(account) == [20, 40, 0]


def test_a_reversal_without_a_source_takes_the_soonest_expiring_lots() -> None:
    account = funded((50, END_OF_MAY), (40, END_OF_APRIL), (100, None))
    account.reverse(60, reference=refund(1), now=NOW)
    assert taken(account) == [(sale(1), -40), (sale(0), -20)]


def test_a_reversal_of_a_sale_whose_lot_was_partly_spent_takes_what_is_left_of_it() -> None:
    account = funded((100, END_OF_MARCH), (100, None))
    account.redeem(150, reference=sale(8), now=NOW)  # all of sale 0, half of sale 1
    saved(account)
    account.reverse(80, reference=refund(1), now=NOW, source=sale(1))
    assert taken(account) == [(sale(1), -50)]
    assert (account.available, account.debt, account.balance) == (0, 30, -30)


def test_a_reversal_beyond_the_available_points_becomes_debt() -> None:
    account = funded((30, None))
    entry = account.reverse(100, reference=refund(1), now=NOW)
    assert (account.available, account.debt) == (0, 70)
    assert account.balance == -70
    # The ledger says what was reversed; the lots only lost what they held.
    assert entry is not None
    assert entry.points == -100
    assert taken(account) == [(sale(0), -30)]


def test_a_reversal_with_nothing_available_is_all_debt() -> None:
    account = PointsAccount(MEMBER)
    account.reverse(40, reference=refund(1), now=NOW)
    account.reverse(2, reference=refund(2), now=NOW)
    assert (account.available, account.debt, account.balance) == (0, 42, -42)
    assert account.movements == []


def test_reversing_pending_points_of_the_source_cancels_them_without_an_entry() -> None:
    account = funded((20, None))
    account.earn(100, reference=sale(5), now=NOW, pending_until=NOW + timedelta(days=14))
    saved(account)
    assert account.reverse(40, reference=refund(1), now=NOW, source=sale(5)) is None
    assert (account.available, account.pending, account.debt) == (20, 60, 0)
    assert (account.new_entries, account.movements) == ([], [])
    [pending] = account.pending_lots_of(sale(5))
    assert (pending.points, pending.remaining, pending.pending) == (60, 60, True)
    assert account.changed_lots == [pending]
    assert account.reverse(60, reference=refund(2), now=NOW, source=sale(5)) is None
    assert (account.available, account.pending) == (20, 0)


def test_a_reversal_without_a_source_leaves_pending_points_alone() -> None:
    account = PointsAccount(MEMBER)
    account.earn(100, reference=sale(5), now=NOW, pending_until=NOW + timedelta(days=14))
    account.reverse(40, reference=refund(1), now=NOW)
    assert (account.available, account.pending, account.debt) == (0, 100, 40)


def test_reversing_another_sale_leaves_pending_points_alone() -> None:
    account = PointsAccount(MEMBER)
    account.earn(100, reference=sale(5), now=NOW, pending_until=NOW + timedelta(days=14))
    account.reverse(40, reference=refund(1), now=NOW, source=sale(6))
    assert (account.available, account.pending, account.debt) == (0, 100, 40)


# Restoring redeemed points ------------------------------------------------------------------


def test_restoring_gives_points_back_with_the_expiry_they_were_taken_from() -> None:
    consumed = [Consumption(END_OF_MARCH, 30), Consumption(None, 20), Consumption(END_OF_MAY, 50)]
    account = PointsAccount(MEMBER)
    entry = account.restore(100, reference=refund(1), now=NOW, consumed=consumed)
    assert entry is not None
    assert (entry.type, entry.points, entry.posting_key) == (
        EntryType.RESTORE,
        100,
        "refund:r1:restore",
    )
    assert account.available == 100
    assert [(lot.expires_at, lot.points, lot.remaining) for lot in account.lots] == [
        (None, 20, 20),
        (END_OF_MAY, 50, 50),
        (END_OF_MARCH, 30, 30),
    ]
    assert all(lot.reference == refund(1) and lot.earned_at == NOW for lot in account.lots)


def test_a_partial_restore_gives_back_the_latest_expiring_points_first() -> None:
    consumed = [Consumption(END_OF_MARCH, 30), Consumption(END_OF_MAY, 50)]
    account = PointsAccount(MEMBER)
    account.restore(60, reference=refund(1), now=NOW, consumed=consumed)
    assert [(lot.expires_at, lot.points) for lot in account.lots] == [
        (END_OF_MAY, 50),
        (END_OF_MARCH, 10),
    ]


def test_restores_after_partial_refunds_never_give_back_more_than_was_taken_per_expiry() -> None:
    consumed = [
        Consumption(END_OF_MARCH, 30),
        Consumption(None, 20),
        Consumption(END_OF_MAY, 50),
        Consumption(END_OF_MARCH, 7),
    ]
    account = PointsAccount(MEMBER)
    done = 0
    for n, points in enumerate([15, 1, 40, 0, 30, 21]):
        account.restore(
            points, reference=refund(n), now=NOW, consumed=consumed, already_restored=done
        )
        done += points
    by_expiry: dict[datetime | None, int] = {}
    for lot in account.lots:
        by_expiry[lot.expires_at] = by_expiry.get(lot.expires_at, 0) + lot.points
    assert by_expiry == {None: 20, END_OF_MAY: 50, END_OF_MARCH: 37}
    assert account.available == 107
    with pytest.raises(InvalidInput, match="more points than the redemption took"):
        account.restore(1, reference=refund(9), now=NOW, consumed=consumed, already_restored=done)


def test_restoring_more_than_the_redemption_took_is_refused_and_changes_nothing() -> None:
    consumed = [Consumption(END_OF_MARCH, 30)]
    account = PointsAccount(MEMBER)
    with pytest.raises(InvalidInput):
        account.restore(31, reference=refund(1), now=NOW, consumed=consumed)
    with pytest.raises(InvalidInput):
        account.restore(11, reference=refund(1), now=NOW, consumed=consumed, already_restored=20)
    with pytest.raises(InvalidInput):
        account.restore(1, reference=refund(1), now=NOW, consumed=[])
    assert (account.available, account.lots, account.new_entries) == (0, [], [])


def test_restored_points_pay_a_debt_first() -> None:
    account = in_debt(25)
    consumed = [Consumption(END_OF_MARCH, 10), Consumption(END_OF_MAY, 30)]
    account.restore(40, reference=refund(1), now=NOW, consumed=consumed)
    assert (account.available, account.debt) == (15, 0)
    assert [(lot.expires_at, lot.points, lot.remaining) for lot in account.lots] == [
        (END_OF_MAY, 30, 5),
        (END_OF_MARCH, 10, 10),
    ]
    assert taken(account) == [(refund(1), -25)]


# Releasing pending points -------------------------------------------------------------------


def test_releasing_a_pending_lot_posts_an_earn_entry_and_makes_the_points_available() -> None:
    account = PointsAccount(MEMBER)
    account.earn(80, reference=sale(1), now=NOW, expires_at=END_OF_MAY, pending_until=END_OF_MARCH)
    saved(account)
    [lot] = account.lots
    entry = account.release(lot, now=END_OF_MARCH)
    assert entry == LedgerEntry(
        member_id=MEMBER,
        type=EntryType.EARN,
        points=80,
        reference=sale(1),
        posting_key="sale:s1:earn",
        created_at=END_OF_MARCH,
        expires_at=END_OF_MAY,
    )
    assert (account.available, account.pending) == (80, 0)
    assert (lot.pending, lot.release_at, lot.points, lot.remaining) == (False, None, 80, 80)
    assert account.released_lots == [lot]
    assert account.changed_lots == [lot]


def test_releasing_a_partly_cancelled_lot_credits_only_what_is_left() -> None:
    account = PointsAccount(MEMBER)
    account.earn(80, reference=sale(1), now=NOW, pending_until=END_OF_MARCH)
    account.reverse(30, reference=refund(1), now=NOW, source=sale(1))
    [lot] = account.lots
    entry = account.release(lot, now=END_OF_MARCH)
    assert entry is not None
    assert entry.points == 50
    assert (lot.points, lot.remaining, account.available, account.pending) == (50, 50, 50, 0)


def test_releasing_a_fully_cancelled_lot_posts_nothing() -> None:
    account = PointsAccount(MEMBER)
    account.earn(80, reference=sale(1), now=NOW, pending_until=END_OF_MARCH)
    account.reverse(80, reference=refund(1), now=NOW, source=sale(1))
    [lot] = account.lots
    assert account.release(lot, now=END_OF_MARCH) is None
    assert (account.available, account.pending, account.new_entries) == (0, 0, [])
    assert lot.pending is False


def test_only_a_pending_lot_can_be_released() -> None:
    account = funded((10, None))
    with pytest.raises(InvalidInput):
        account.release(account.lots[0], now=NOW)
    assert account.available == 10


# Expiry -------------------------------------------------------------------------------------


def test_expiring_a_lot_posts_an_expire_entry_for_what_is_left_of_it() -> None:
    account = funded((100, END_OF_MARCH), (40, None))
    account.redeem(30, reference=sale(9), now=NOW)
    saved(account)
    lot = account.lots[0]
    entry = account.expire(lot, reference=RUN, now=END_OF_MARCH + timedelta(hours=1))
    assert entry is not None
    assert (entry.type, entry.points, entry.expires_at) == (EntryType.EXPIRE, -70, END_OF_MARCH)
    assert entry.posting_key == f"expiry-run:2025-06:lot:{lot.id}"
    assert (lot.remaining, account.available) == (0, 40)
    assert taken(account) == [(sale(0), -70)]


def test_points_can_be_spent_until_the_instant_they_expire_and_expire_at_it() -> None:
    account = funded((100, END_OF_MARCH))
    lot = account.lots[0]
    with pytest.raises(InvalidInput, match="not expired"):
        account.expire(lot, reference=RUN, now=END_OF_MARCH - timedelta(microseconds=1))
    assert account.expire(lot, reference=RUN, now=END_OF_MARCH) is not None


def test_a_lot_that_never_expires_cannot_be_expired() -> None:
    account = funded((100, None))
    with pytest.raises(InvalidInput):
        account.expire(account.lots[0], reference=RUN, now=NOW + timedelta(days=10_000))


def test_each_expired_lot_gets_its_own_entry_and_posting_key() -> None:
    account = funded((10, END_OF_MARCH), (20, END_OF_MARCH), (30, END_OF_APRIL), (5, None))
    later = END_OF_APRIL + timedelta(days=1)
    entries = [account.expire(lot, reference=RUN, now=later) for lot in list(account.lots[:3])]
    assert [e.points for e in entries if e] == [-10, -20, -30]
    keys = [e.posting_key for e in account.new_entries]
    assert len(keys) == len(set(keys)) == 3
    assert account.available == 5


def test_expiring_twice_or_an_empty_or_pending_lot_expires_nothing() -> None:
    account = funded((10, END_OF_MARCH))
    account.earn(5, reference=sale(5), now=NOW, expires_at=END_OF_MARCH, pending_until=END_OF_MAY)
    lot, pending = account.lots
    later = END_OF_MARCH + timedelta(days=1)
    assert account.expire(lot, reference=RUN, now=later) is not None
    assert account.expire(lot, reference=Reference("expiry-run", "again"), now=later) is None
    assert account.expire(pending, reference=RUN, now=later) is None
    assert (account.available, account.pending, len(account.new_entries)) == (0, 5, 1)


def test_expiring_two_unsaved_lots_of_one_restore_gives_them_different_posting_keys() -> None:
    account = PointsAccount(MEMBER)
    consumed = [Consumption(END_OF_MARCH, 10), Consumption(END_OF_APRIL, 10)]
    account.restore(20, reference=refund(1), now=NOW, consumed=consumed)
    later = END_OF_MAY
    for lot in list(account.lots):
        account.expire(lot, reference=RUN, now=later)
    keys = [e.posting_key for e in account.new_entries if e.type is EntryType.EXPIRE]
    assert len(set(keys)) == 2


def test_the_points_expiring_soon_are_the_spendable_lots_in_the_window_soonest_first() -> None:
    account = funded((10, END_OF_MAY), (20, END_OF_MARCH), (30, None), (40, END_OF_APRIL))
    account.earn(5, reference=sale(9), now=NOW, expires_at=END_OF_MARCH, pending_until=END_OF_MAY)
    window = account.expiring(NOW, END_OF_APRIL)
    assert [lot.remaining for lot in window] == [20, 40]
    # The end of the window is included; a lot already past its expiry is not "expiring".
    assert account.expiring(END_OF_MARCH, END_OF_APRIL) == [account.lots[3]]


# Adjustments --------------------------------------------------------------------------------


def test_a_positive_adjustment_credits_a_lot_and_records_who_did_it_and_why() -> None:
    account = PointsAccount(MEMBER)
    entry = account.adjust(
        50,
        reference=Reference("adjustment", "a1"),
        now=NOW,
        actor="admin:alice",
        reason="  goodwill: late delivery ",
        expires_at=END_OF_MAY,
    )
    assert (entry.type, entry.points, entry.posting_key) == (
        EntryType.ADJUST,
        50,
        "adjustment:a1:adjust",
    )
    assert (entry.actor, entry.reason, entry.expires_at) == (
        "admin:alice",
        "goodwill: late delivery",
        END_OF_MAY,
    )
    [lot] = account.lots
    assert (lot.points, lot.expires_at, lot.reference) == (
        50,
        END_OF_MAY,
        Reference("adjustment", "a1"),
    )
    assert account.available == 50


def test_a_negative_adjustment_takes_the_soonest_expiring_points() -> None:
    account = funded((30, None), (30, END_OF_APRIL))
    entry = account.adjust(
        -40, reference=Reference("adjustment", "a1"), now=NOW, actor="admin:bob", reason="typo"
    )
    assert (entry.points, entry.actor) == (-40, "admin:bob")
    assert taken(account) == [(sale(1), -30), (sale(0), -10)]
    assert account.available == 20


def test_a_negative_adjustment_cannot_take_more_than_is_available() -> None:
    account = funded((30, None))
    with pytest.raises(InsufficientPoints):
        account.adjust(
            -31, reference=Reference("adjustment", "a1"), now=NOW, actor="admin:bob", reason="x"
        )
    assert (account.available, account.new_entries) == (30, [])
    debtor = in_debt(10)
    with pytest.raises(InsufficientPoints):
        debtor.adjust(
            -1, reference=Reference("adjustment", "a2"), now=NOW, actor="admin:bob", reason="x"
        )


def test_a_positive_adjustment_pays_a_debt_first() -> None:
    account = in_debt(10)
    account.adjust(
        25, reference=Reference("adjustment", "a1"), now=NOW, actor="admin:bob", reason="x"
    )
    assert (account.available, account.debt) == (15, 0)


@pytest.mark.parametrize("reason", ["", "   ", "x" * (MAX_REASON_LENGTH + 1)])
def test_an_adjustment_needs_a_reason_of_sensible_length(reason: str) -> None:
    account = funded((30, None))
    for points in (5, -5):
        with pytest.raises(InvalidInput) as caught:
            account.adjust(
                points,
                reference=Reference("adjustment", "a1"),
                now=NOW,
                actor="admin:bob",
                reason=reason,
            )
        assert caught.value.field == "reason"
    assert (account.available, account.new_entries) == (30, [])


@pytest.mark.parametrize("points", [0, MAX_ADJUSTMENT + 1, -MAX_ADJUSTMENT - 1])
def test_an_adjustment_is_a_non_zero_number_of_points_up_to_the_maximum(points: int) -> None:
    account = PointsAccount(MEMBER)
    with pytest.raises(InvalidInput) as caught:
        account.adjust(
            points, reference=Reference("adjustment", "a1"), now=NOW, actor="a", reason="x"
        )
    assert caught.value.field == "points"


def test_an_adjustment_of_exactly_the_maximum_is_accepted() -> None:
    account = PointsAccount(MEMBER)
    account.adjust(
        MAX_ADJUSTMENT, reference=Reference("adjustment", "a1"), now=NOW, actor="a", reason="x"
    )
    assert account.available == MAX_ADJUSTMENT


# Input and keys -----------------------------------------------------------------------------


def test_zero_points_post_nothing() -> None:
    account = funded((5, None))
    assert account.earn(0, reference=sale(1), now=NOW) is None
    assert account.reverse(0, reference=refund(1), now=NOW) is None
    assert account.redeem(0, reference=sale(2), now=NOW) is None
    assert account.restore(0, reference=refund(2), now=NOW, consumed=[]) is None
    assert (account.new_entries, account.new_lots, account.movements) == ([], [], [])
    assert account.available == 5


def test_negative_points_are_refused_every_way() -> None:
    account = funded((5, None))
    with pytest.raises(InvalidInput):
        account.earn(-1, reference=sale(1), now=NOW)
    with pytest.raises(InvalidInput):
        account.reverse(-1, reference=refund(1), now=NOW)
    with pytest.raises(InvalidInput):
        account.redeem(-1, reference=sale(2), now=NOW)
    with pytest.raises(InvalidInput):
        account.restore(-1, reference=refund(2), now=NOW, consumed=[Consumption(None, 5)])
    assert (account.new_entries, account.new_lots) == ([], [])
    assert (account.available, account.debt) == (5, 0)


def test_posting_keys_are_unique_per_reference_and_entry_type() -> None:
    account = PointsAccount(MEMBER)
    account.earn(10, reference=sale(1), now=NOW)
    account.earn(10, reference=sale(2), now=NOW)
    account.redeem(5, reference=sale(2), now=NOW)
    account.reverse(5, reference=sale(1), now=NOW)
    account.reverse(5, reference=refund(1), now=NOW)
    keys = [e.posting_key for e in account.new_entries]
    assert keys == [
        "sale:s1:earn",
        "sale:s2:earn",
        "sale:s2:redeem",
        "sale:s1:reverse",
        "refund:r1:reverse",
    ]
    assert len(set(keys)) == len(keys)


def test_the_same_posting_twice_gets_the_same_key_so_the_database_can_refuse_it() -> None:
    account = PointsAccount(MEMBER)
    first = account.earn(10, reference=sale(1), now=NOW)
    second = account.earn(10, reference=sale(1), now=NOW)
    assert first is not None
    assert second is not None
    assert first.posting_key == second.posting_key == "sale:s1:earn"


def test_a_reference_prints_as_kind_colon_id_and_parses_back() -> None:
    assert str(Reference("order", "A-17")) == "order:A-17"
    assert Reference.parse("order:A-17") == Reference("order", "A-17")
    assert Reference.parse("refund:x:y") == Reference("refund", "x:y")


def test_lots_are_told_apart_by_identity_not_by_value() -> None:
    a = Lot(sale(1), NOW, None, 5, 5)
    b = Lot(sale(1), NOW, None, 5, 5)
    assert a != b
    assert a in [a]
    assert b not in [a]
