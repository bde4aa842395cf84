"""Valid domain objects for the repository tests, built with explicit, readable values."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import UUID, uuid4

from domain.cards import CARD_PREFIX, luhn_check_digit
from domain.members import Member
from domain.sales import Pricing, Sale, SaleLine
from domain.stores import Store, Terminal

T0 = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=UTC)


def card_number(n: int) -> str:
    """The n-th valid 16-digit card number: prefix, 14 digits, Luhn check digit."""
    payload = CARD_PREFIX + str(n).zfill(14)
    return payload + luhn_check_digit(payload)


def a_store(code: str = "SHA-001", *, name: str | None = None) -> Store:
    return Store(id=uuid4(), code=code, name=name or f"Store {code}", created_at=T0)


def a_terminal(store_id: UUID, code: str = "till-1") -> Terminal:
    return Terminal(
        id=uuid4(),
        store_id=store_id,
        code=code,
        secret_hash="scrypt$" + "ab" * 32,
        created_at=T0 + timedelta(minutes=1),
    )


def a_member(
    phone: str = "+8613800138000",
    *,
    card: int = 1,
    store_id: UUID | None = None,
    name: str | None = "Li Lei",
    email: str | None = "li.lei@example.com",
    birthday: date | None = date(1990, 5, 17),
) -> Member:
    return Member(
        id=uuid4(),
        phone=phone,
        card_number=card_number(card),
        tier_code="member",
        enrolled_at=T0 + timedelta(hours=1),
        name=name,
        email=email,
        birthday=birthday,
        enrolled_store_id=store_id,
    )


def a_sale(
    store_id: UUID,
    *,
    receipt_id: str = "R-0001",
    member_id: UUID | None = None,
    terminal_id: UUID | None = None,
) -> Sale:
    """Two lines, 2 x 1000 (food) and 1 x 500: subtotal 2500, 100 off.

    With a member, 200 points pay for 200 and 22 points are earned: payable 2200.
    Without one, payable is 2400.
    """
    return Sale(
        id=uuid4(),
        store_id=store_id,
        terminal_id=terminal_id,
        receipt_id=receipt_id,
        member_id=member_id,
        currency="CNY",
        occurred_at=T0 + timedelta(days=1),
        recorded_at=T0 + timedelta(days=1, seconds=2),
        lines=(
            SaleLine(sku="SKU-A", quantity=2, unit_price=1000, category="food"),
            SaleLine(sku="SKU-B", quantity=1, unit_price=500),
        ),
        pricing=Pricing(
            subtotal=2500,
            discount_total=100,
            points_redeemed=200 if member_id else 0,
            points_value=200 if member_id else 0,
            points_earned=22 if member_id else 0,
        ),
    )
