"""The database itself refuses data that breaks the domain's invariants.

Every statement here bypasses the application and talks to PostgreSQL with raw asyncpg, so a
passing test means the constraint exists in the migrated schema, not that Python checked it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from uuid import UUID, uuid4

import asyncpg
import pytest

from tests.support.database import reset

pytestmark = pytest.mark.db


@pytest.fixture(scope="module")
async def module_conn(db_url: str) -> AsyncIterator[asyncpg.Connection]:
    await reset(db_url)
    connection = await asyncpg.connect(db_url)
    try:
        yield connection
    finally:
        await connection.close()


@pytest.fixture
async def conn(module_conn: asyncpg.Connection) -> AsyncIterator[asyncpg.Connection]:
    """A connection inside a transaction that is rolled back after the test: nothing persists."""
    transaction = module_conn.transaction()
    await transaction.start()
    try:
        yield module_conn
    finally:
        await transaction.rollback()


@asynccontextmanager
async def refused(
    conn: asyncpg.Connection, error: type[asyncpg.PostgresError]
) -> AsyncIterator[pytest.ExceptionInfo[asyncpg.PostgresError]]:
    """Expects the block to raise ``error``; a savepoint keeps the test's transaction usable."""
    with pytest.raises(error) as caught:
        async with conn.transaction():
            yield caught


async def add_store(conn: asyncpg.Connection, code: str = "S1") -> UUID:
    value: UUID = await conn.fetchval(
        "INSERT INTO stores (code, name) VALUES ($1, $2) RETURNING id", code, f"Store {code}"
    )
    return value


async def add_member(conn: asyncpg.Connection, phone: str = "+8613800138000") -> UUID:
    value: UUID = await conn.fetchval(
        "INSERT INTO members (phone, tier_code) VALUES ($1, 'member') RETURNING id", phone
    )
    return value


async def add_entry(
    conn: asyncpg.Connection,
    member_id: UUID,
    *,
    entry_type: str = "earn",
    points: int = 10,
    posting_key: str = "sale:1:earn",
) -> int:
    # Adjustments must say who made them and why (points_entries_adjust_reason).
    value: int = await conn.fetchval(
        "INSERT INTO points_entries "
        "(member_id, entry_type, points, reference, posting_key, actor, reason) "
        "VALUES ($1, $2, $3, 'sale:1', $4, 'admin:test', 'test') RETURNING id",
        member_id,
        entry_type,
        points,
        posting_key,
    )
    return value


async def add_sale(
    conn: asyncpg.Connection,
    store_id: UUID,
    *,
    receipt_id: str = "R-1",
    member_id: UUID | None = None,
    subtotal: int = 1000,
    discount_total: int = 100,
    points_value: int = 50,
    payable: int = 850,
    points_earned: int = 0,
    refunded_amount: int = 0,
) -> UUID:
    value: UUID = await conn.fetchval(
        "INSERT INTO sales (store_id, receipt_id, member_id, currency, subtotal, "
        "discount_total, points_redeemed, points_value, payable, points_earned, refunded_amount) "
        "VALUES ($1, $2, $3, 'CNY', $4, $5, $6, $6, $7, $8, $9) RETURNING id",
        store_id,
        receipt_id,
        member_id,
        subtotal,
        discount_total,
        points_value,
        payable,
        points_earned,
        refunded_amount,
    )
    return value


async def add_sale_line(
    conn: asyncpg.Connection,
    sale_id: UUID,
    *,
    line_no: int = 0,
    quantity: int = 2,
    refunded_quantity: int = 0,
) -> int:
    value: int = await conn.fetchval(
        "INSERT INTO sale_lines (sale_id, line_no, sku, quantity, unit_price, refunded_quantity) "
        "VALUES ($1, $2, 'SKU-1', $3, 500, $4) RETURNING id",
        sale_id,
        line_no,
        quantity,
        refunded_quantity,
    )
    return value


# The append-only ledger and audit log ------------------------------------------------------


async def test_the_database_refuses_to_update_a_ledger_entry(conn: asyncpg.Connection) -> None:
    entry_id = await add_entry(conn, await add_member(conn), points=10)

    async with refused(conn, asyncpg.RestrictViolationError) as caught:
        await conn.execute("UPDATE points_entries SET points = 1000 WHERE id = $1", entry_id)

    assert caught.value.sqlstate == "23001"
    assert str(caught.value) == "points_entries is append-only: UPDATE is not allowed"
    assert await conn.fetchval("SELECT points FROM points_entries WHERE id = $1", entry_id) == 10


async def test_the_database_refuses_to_delete_a_ledger_entry(conn: asyncpg.Connection) -> None:
    entry_id = await add_entry(conn, await add_member(conn))

    async with refused(conn, asyncpg.RestrictViolationError) as caught:
        await conn.execute("DELETE FROM points_entries WHERE id = $1", entry_id)

    assert caught.value.sqlstate == "23001"
    assert str(caught.value) == "points_entries is append-only: DELETE is not allowed"
    assert await conn.fetchval("SELECT count(*) FROM points_entries") == 1


async def test_the_database_refuses_to_update_an_audit_record(conn: asyncpg.Connection) -> None:
    record_id = await conn.fetchval(
        "INSERT INTO audit_log (actor, action, subject) "
        "VALUES ('admin:alice', 'store.created', 'store:S1') RETURNING id"
    )

    async with refused(conn, asyncpg.RestrictViolationError) as caught:
        await conn.execute("UPDATE audit_log SET actor = 'admin:mallory' WHERE id = $1", record_id)

    assert caught.value.sqlstate == "23001"
    assert str(caught.value) == "audit_log is append-only: UPDATE is not allowed"
    assert await conn.fetchval("SELECT actor FROM audit_log WHERE id = $1", record_id) == (
        "admin:alice"
    )


async def test_the_database_refuses_to_delete_an_audit_record(conn: asyncpg.Connection) -> None:
    await conn.execute(
        "INSERT INTO audit_log (actor, action, subject) "
        "VALUES ('admin:alice', 'store.created', 'store:S1')"
    )

    async with refused(conn, asyncpg.RestrictViolationError) as caught:
        await conn.execute("DELETE FROM audit_log")

    assert caught.value.sqlstate == "23001"
    assert str(caught.value) == "audit_log is append-only: DELETE is not allowed"
    assert await conn.fetchval("SELECT count(*) FROM audit_log") == 1


# Points balances -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("available", "pending", "debt", "constraint"),
    [
        (-1, 0, 0, "points_accounts_available"),
        (0, -1, 0, "points_accounts_pending"),
        (0, 0, -1, "points_accounts_debt"),
        (5, 0, 3, "points_accounts_debt_or_available"),
    ],
    ids=["negative-available", "negative-pending", "negative-debt", "debt-and-available"],
)
async def test_the_database_refuses_an_impossible_points_balance(
    conn: asyncpg.Connection, available: int, pending: int, debt: int, constraint: str
) -> None:
    member_id = await add_member(conn)

    async with refused(conn, asyncpg.CheckViolationError) as caught:
        await conn.execute(
            "INSERT INTO points_accounts (member_id, available, pending, debt) "
            "VALUES ($1, $2, $3, $4)",
            member_id,
            available,
            pending,
            debt,
        )

    assert caught.value.constraint_name == constraint


async def test_the_database_refuses_to_turn_available_points_into_debt_without_spending_them(
    conn: asyncpg.Connection,
) -> None:
    member_id = await add_member(conn)
    await conn.execute(
        "INSERT INTO points_accounts (member_id, available, debt) VALUES ($1, 40, 0)", member_id
    )

    async with refused(conn, asyncpg.CheckViolationError) as caught:
        await conn.execute("UPDATE points_accounts SET debt = 5 WHERE member_id = $1", member_id)

    assert caught.value.constraint_name == "points_accounts_debt_or_available"


async def test_the_database_accepts_either_available_points_or_a_debt(
    conn: asyncpg.Connection,
) -> None:
    saver = await add_member(conn, "+8613800138001")
    debtor = await add_member(conn, "+8613800138002")

    await conn.execute(
        "INSERT INTO points_accounts (member_id, available, pending, debt) "
        "VALUES ($1, 40, 7, 0), ($2, 0, 0, 15)",
        saver,
        debtor,
    )

    rows = await conn.fetch(
        "SELECT member_id, available, pending, debt FROM points_accounts ORDER BY available DESC"
    )
    assert [tuple(r) for r in rows] == [(saver, 40, 7, 0), (debtor, 0, 0, 15)]


# Ledger entries ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entry_type", "points", "constraint"),
    [
        ("earn", 0, "points_entries_nonzero"),
        ("adjust", 0, "points_entries_nonzero"),
        ("earn", -5, "points_entries_sign"),
        ("restore", -5, "points_entries_sign"),
        ("redeem", 5, "points_entries_sign"),
        ("expire", 5, "points_entries_sign"),
        ("reverse", 5, "points_entries_sign"),
    ],
)
async def test_the_database_refuses_a_ledger_entry_with_the_wrong_sign_or_type(
    conn: asyncpg.Connection, entry_type: str, points: int, constraint: str
) -> None:
    member_id = await add_member(conn)

    async with refused(conn, asyncpg.CheckViolationError) as caught:
        await add_entry(conn, member_id, entry_type=entry_type, points=points)

    assert caught.value.constraint_name == constraint
    assert await conn.fetchval("SELECT count(*) FROM points_entries") == 0


async def test_the_database_refuses_a_ledger_entry_of_an_unknown_type(
    conn: asyncpg.Connection,
) -> None:
    member_id = await add_member(conn)

    async with refused(conn, asyncpg.CheckViolationError) as caught:
        await add_entry(conn, member_id, entry_type="gift", points=5)

    # An unknown type breaks both checks; PostgreSQL reports one of them.
    assert caught.value.constraint_name in {"points_entries_type", "points_entries_sign"}


@pytest.mark.parametrize(
    ("entry_type", "points"),
    [("earn", 5), ("restore", 5), ("redeem", -5), ("expire", -5), ("reverse", -5),
     ("adjust", 5), ("adjust", -5)],
)  # fmt: skip
async def test_the_database_accepts_a_ledger_entry_with_the_right_sign(
    conn: asyncpg.Connection, entry_type: str, points: int
) -> None:
    member_id = await add_member(conn)

    await add_entry(conn, member_id, entry_type=entry_type, points=points)

    assert await conn.fetchval("SELECT points FROM points_entries") == points


async def test_the_database_refuses_the_same_posting_twice_for_a_member(
    conn: asyncpg.Connection,
) -> None:
    member_id = await add_member(conn)
    await add_entry(conn, member_id, posting_key="sale:42:earn")

    async with refused(conn, asyncpg.UniqueViolationError) as caught:
        await add_entry(conn, member_id, posting_key="sale:42:earn")

    assert caught.value.constraint_name == "points_entries_posting_key"
    assert await conn.fetchval("SELECT count(*) FROM points_entries") == 1


async def test_the_same_posting_key_is_fine_for_another_member(conn: asyncpg.Connection) -> None:
    first = await add_member(conn, "+8613800138001")
    second = await add_member(conn, "+8613800138002")

    await add_entry(conn, first, posting_key="sale:42:earn")
    await add_entry(conn, second, posting_key="sale:42:earn")

    assert await conn.fetchval("SELECT count(*) FROM points_entries") == 2


# Sales and their lines ---------------------------------------------------------------------


async def test_the_database_refuses_a_sale_whose_payable_does_not_add_up(
    conn: asyncpg.Connection,
) -> None:
    store_id = await add_store(conn)

    async with refused(conn, asyncpg.CheckViolationError) as caught:
        # 1000 - 100 - 50 is 850, not 851
        await add_sale(conn, store_id, payable=851)

    assert caught.value.constraint_name == "sales_payable"


async def test_the_database_accepts_a_sale_whose_payable_adds_up(conn: asyncpg.Connection) -> None:
    store_id = await add_store(conn)

    sale_id = await add_sale(conn, store_id, payable=850)

    assert await conn.fetchval("SELECT payable FROM sales WHERE id = $1", sale_id) == 850


async def test_the_database_refuses_to_refund_more_than_was_paid(
    conn: asyncpg.Connection,
) -> None:
    store_id = await add_store(conn)

    async with refused(conn, asyncpg.CheckViolationError) as caught:
        await add_sale(conn, store_id, payable=850, refunded_amount=851)

    assert caught.value.constraint_name == "sales_refunded"


async def test_the_database_refuses_a_refund_update_beyond_the_payable(
    conn: asyncpg.Connection,
) -> None:
    sale_id = await add_sale(conn, await add_store(conn), payable=850)
    await conn.execute("UPDATE sales SET refunded_amount = 850 WHERE id = $1", sale_id)

    async with refused(conn, asyncpg.CheckViolationError) as caught:
        await conn.execute("UPDATE sales SET refunded_amount = 851 WHERE id = $1", sale_id)

    assert caught.value.constraint_name == "sales_refunded"
    assert await conn.fetchval("SELECT refunded_amount FROM sales") == 850


async def test_the_database_refuses_to_reverse_more_points_than_were_earned(
    conn: asyncpg.Connection,
) -> None:
    member_id = await add_member(conn)
    sale_id = await add_sale(conn, await add_store(conn), member_id=member_id, points_earned=8)

    async with refused(conn, asyncpg.CheckViolationError) as caught:
        await conn.execute("UPDATE sales SET points_reversed = 9 WHERE id = $1", sale_id)

    assert caught.value.constraint_name == "sales_points_reversed"


async def test_the_database_refuses_points_earned_on_a_sale_without_a_member(
    conn: asyncpg.Connection,
) -> None:
    store_id = await add_store(conn)

    async with refused(conn, asyncpg.CheckViolationError) as caught:
        await add_sale(conn, store_id, member_id=None, points_earned=8)

    assert caught.value.constraint_name == "sales_points_need_member"


async def test_the_database_refuses_a_receipt_recorded_twice_in_one_store(
    conn: asyncpg.Connection,
) -> None:
    store_id = await add_store(conn)
    await add_sale(conn, store_id, receipt_id="R-7")

    async with refused(conn, asyncpg.UniqueViolationError) as caught:
        await add_sale(conn, store_id, receipt_id="R-7")

    assert caught.value.constraint_name == "sales_store_receipt"
    assert await conn.fetchval("SELECT count(*) FROM sales") == 1


async def test_the_same_receipt_id_is_fine_in_another_store(conn: asyncpg.Connection) -> None:
    await add_sale(conn, await add_store(conn, "S1"), receipt_id="R-7")
    await add_sale(conn, await add_store(conn, "S2"), receipt_id="R-7")

    assert await conn.fetchval("SELECT count(*) FROM sales WHERE receipt_id = 'R-7'") == 2


async def test_the_database_refuses_a_sale_line_with_quantity_zero(
    conn: asyncpg.Connection,
) -> None:
    sale_id = await add_sale(conn, await add_store(conn))

    async with refused(conn, asyncpg.CheckViolationError) as caught:
        await add_sale_line(conn, sale_id, quantity=0)

    assert caught.value.constraint_name == "sale_lines_quantity"


async def test_the_database_refuses_to_refund_more_of_a_line_than_was_sold(
    conn: asyncpg.Connection,
) -> None:
    sale_id = await add_sale(conn, await add_store(conn))

    async with refused(conn, asyncpg.CheckViolationError) as caught:
        await add_sale_line(conn, sale_id, quantity=2, refunded_quantity=3)

    assert caught.value.constraint_name == "sale_lines_refunded"


async def test_the_database_refuses_a_line_refund_update_beyond_the_quantity(
    conn: asyncpg.Connection,
) -> None:
    line_id = await add_sale_line(conn, await add_sale(conn, await add_store(conn)), quantity=2)
    await conn.execute("UPDATE sale_lines SET refunded_quantity = 2 WHERE id = $1", line_id)

    async with refused(conn, asyncpg.CheckViolationError) as caught:
        await conn.execute("UPDATE sale_lines SET refunded_quantity = 3 WHERE id = $1", line_id)

    assert caught.value.constraint_name == "sale_lines_refunded"
    assert await conn.fetchval("SELECT refunded_quantity FROM sale_lines") == 2


# Members and cards -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "phone",
    ["13800138000", "+08613800138000", "+86 1380013800", "+86-13800138000", "+123456", ""],
)
async def test_the_database_refuses_a_phone_number_not_in_e164_form(
    conn: asyncpg.Connection, phone: str
) -> None:
    async with refused(conn, asyncpg.CheckViolationError) as caught:
        await add_member(conn, phone)

    assert caught.value.constraint_name == "members_phone_e164"


@pytest.mark.parametrize("phone", ["+8613800138000", "+1234567", "+123456789012345"])
async def test_the_database_accepts_a_phone_number_in_e164_form(
    conn: asyncpg.Connection, phone: str
) -> None:
    member_id = await add_member(conn, phone)

    assert await conn.fetchval("SELECT phone FROM members WHERE id = $1", member_id) == phone


async def test_the_database_refuses_a_second_member_with_the_same_phone(
    conn: asyncpg.Connection,
) -> None:
    await add_member(conn, "+8613800138000")

    async with refused(conn, asyncpg.UniqueViolationError) as caught:
        await add_member(conn, "+8613800138000")

    assert caught.value.constraint_name == "members_phone_key"


async def test_the_database_refuses_a_second_active_card_for_one_member(
    conn: asyncpg.Connection,
) -> None:
    member_id = await add_member(conn)
    await conn.execute(
        "INSERT INTO member_cards (card_number, member_id) VALUES ('8000000000000018', $1)",
        member_id,
    )

    async with refused(conn, asyncpg.UniqueViolationError) as caught:
        await conn.execute(
            "INSERT INTO member_cards (card_number, member_id) VALUES ('8000000000000026', $1)",
            member_id,
        )

    assert caught.value.constraint_name == "member_cards_one_active"


async def test_a_member_may_keep_blocked_cards_next_to_the_active_one(
    conn: asyncpg.Connection,
) -> None:
    member_id = await add_member(conn)
    await conn.execute(
        "INSERT INTO member_cards (card_number, member_id, status, blocked_at) "
        "VALUES ('8000000000000018', $1, 'blocked', now()), "
        "('8000000000000026', $1, 'blocked', now()), "
        "('8000000000000034', $1, 'active', NULL)",
        member_id,
    )

    rows = await conn.fetch("SELECT card_number, status FROM member_cards ORDER BY card_number")
    assert [tuple(r) for r in rows] == [
        ("8000000000000018", "blocked"),
        ("8000000000000026", "blocked"),
        ("8000000000000034", "active"),
    ]


async def test_the_database_refuses_to_delete_a_member_who_has_ledger_entries(
    conn: asyncpg.Connection,
) -> None:
    # No card and no account: only the ledger entry refers to the member.
    member_id = await add_member(conn)
    await add_entry(conn, member_id)

    async with refused(conn, asyncpg.ForeignKeyViolationError) as caught:
        await conn.execute("DELETE FROM members WHERE id = $1", member_id)

    assert caught.value.constraint_name == "points_entries_member_id_fkey"
    assert await conn.fetchval("SELECT count(*) FROM members") == 1


async def test_a_member_without_history_can_be_deleted(conn: asyncpg.Connection) -> None:
    member_id = await add_member(conn)

    await conn.execute("DELETE FROM members WHERE id = $1", member_id)

    assert await conn.fetchval("SELECT count(*) FROM members") == 0


async def test_the_database_refuses_a_member_in_an_unknown_tier(conn: asyncpg.Connection) -> None:
    async with refused(conn, asyncpg.ForeignKeyViolationError) as caught:
        await conn.execute(
            "INSERT INTO members (id, phone, tier_code) VALUES ($1, '+8613800138000', 'gold')",
            uuid4(),
        )

    assert caught.value.constraint_name == "members_tier_code_fkey"


# Programme settings ------------------------------------------------------------------------


async def test_the_database_refuses_a_second_program_settings_row(
    conn: asyncpg.Connection,
) -> None:
    async with refused(conn, asyncpg.CheckViolationError) as caught:
        await conn.execute(
            "INSERT INTO program_settings (id, currency, time_zone, earn_rate, point_value) "
            "VALUES (2, 'CNY', 'Asia/Shanghai', 1, 1)"
        )

    assert caught.value.constraint_name == "program_settings_singleton"
    assert await conn.fetchval("SELECT array_agg(id) FROM program_settings") == [1]


async def test_the_database_refuses_a_second_row_with_the_singleton_id(
    conn: asyncpg.Connection,
) -> None:
    async with refused(conn, asyncpg.UniqueViolationError) as caught:
        await conn.execute(
            "INSERT INTO program_settings (id, currency, time_zone, earn_rate, point_value) "
            "VALUES (1, 'EUR', 'Europe/Berlin', 1, 1)"
        )

    assert caught.value.constraint_name == "program_settings_pkey"
