"""A disputed payment's points are frozen: still the member's, not spendable, not released."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from domain.errors import InsufficientPoints, InvalidInput
from domain.points import EntryType, PointsAccount, Reference

NOW = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
DISPUTED = Reference("sale", "disputed")
OTHER = Reference("sale", "other")


def account_with(*earnings: tuple[Reference, int], pending: bool = False) -> PointsAccount:
    account = PointsAccount(UUID(int=1))
    for n, (source, points) in enumerate(earnings):
        account.earn(
            points,
            reference=source,
            now=NOW + timedelta(minutes=n),
            pending_until=NOW + timedelta(days=14) if pending else None,
        )
    account.new_entries.clear()
    account.movements.clear()
    return account


def test_frozen_points_stay_in_the_balance_but_cannot_be_redeemed() -> None:
    account = account_with((DISPUTED, 250), (OTHER, 50))

    frozen = account.freeze(DISPUTED)

    assert frozen == 250
    assert (account.available, account.frozen) == (300, 250)
    assert account.spendable_points(NOW) == 50
    assert account.new_entries == []  # nothing left the balance: no ledger entry
    with pytest.raises(InsufficientPoints):
        account.redeem(51, reference=Reference("sale", "spend"), now=NOW)
    account.redeem(50, reference=Reference("sale", "spend"), now=NOW)


def test_a_won_dispute_makes_the_points_spendable_again() -> None:
    account = account_with((DISPUTED, 250))
    account.freeze(DISPUTED)

    thawed = account.unfreeze(DISPUTED)

    assert (thawed, account.frozen, account.spendable_points(NOW)) == (250, 0, 250)


def test_a_frozen_pending_lot_is_not_released() -> None:
    account = account_with((DISPUTED, 250), pending=True)
    account.freeze(DISPUTED)
    (lot,) = account.pending_lots_of(DISPUTED)

    with pytest.raises(InvalidInput):
        account.release(lot, now=NOW)

    account.unfreeze(DISPUTED)
    account.release(lot, now=NOW)
    assert (account.available, account.pending) == (250, 0)


def test_a_refund_of_the_disputed_payment_claws_back_its_own_frozen_points_first() -> None:
    account = account_with((OTHER, 100), (DISPUTED, 250))
    account.freeze(DISPUTED)

    entry = account.reverse(250, reference=Reference("refund", "r1"), now=NOW, source=DISPUTED)

    assert entry is not None
    assert (entry.type, entry.points) == (EntryType.REVERSE, -250)
    assert (account.available, account.frozen, account.debt) == (100, 0, 0)
    assert account.spendable_points(NOW) == 100


def test_a_clawback_takes_frozen_points_before_it_makes_a_debt() -> None:
    account = account_with((DISPUTED, 250), (OTHER, 100))
    account.freeze(DISPUTED)
    account.redeem(100, reference=Reference("sale", "spend"), now=NOW)

    account.reverse(100, reference=Reference("refund", "r1"), now=NOW, source=OTHER)

    # Debt and available points never coexist: the frozen lot paid for the clawback.
    assert (account.available, account.debt, account.frozen) == (150, 0, 150)


def test_freezing_points_already_spent_freezes_only_what_is_left() -> None:
    account = account_with((DISPUTED, 250))
    account.redeem(200, reference=Reference("sale", "spend"), now=NOW)

    assert account.freeze(DISPUTED) == 50
    assert account.freeze(DISPUTED) == 0  # a second dispute event freezes nothing more
