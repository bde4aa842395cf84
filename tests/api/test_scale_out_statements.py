"""Every statement of the sale, lookup and /v1/me paths is routable to one member's shard.

The statements are captured in-process, as tests/bench/query_counts.py counts them: asyncpg's
Connection is wrapped while one request runs, and each statement is checked with its
arguments by tests/support/distribution.py (member-owned tables pinned by member_id to one
non-null member). A statement that cannot be routed must be named, with its reason, in
``STATEMENT_EXCEPTIONS``; docs/scale-out.md says what each becomes on Citus.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from asyncpg.connection import Connection

from tests.api.client import Api, new_key
from tests.support.distribution import STATEMENT_EXCEPTIONS, statement_exception, unrouted


@contextmanager
def capturing() -> Iterator[list[tuple[str, tuple[Any, ...]]]]:
    statements: list[tuple[str, tuple[Any, ...]]] = []
    original_execute = Connection.execute
    original_inner = Connection._execute

    async def execute(self: Connection, query: str, *args: Any, **kwargs: Any) -> Any:
        if not args:  # with arguments it goes through _execute, captured there
            statements.append((query, ()))
        return await original_execute(self, query, *args, **kwargs)

    async def inner(self: Connection, query: str, args: Any, *rest: Any, **kwargs: Any) -> Any:
        statements.append((query, tuple(args)))
        return await original_inner(self, query, args, *rest, **kwargs)

    Connection.execute = execute  # type: ignore[method-assign]
    Connection._execute = inner  # type: ignore[method-assign]
    try:
        yield statements
    finally:
        Connection.execute = original_execute  # type: ignore[method-assign]
        Connection._execute = original_inner  # type: ignore[method-assign]


LINE = {"sku": "TOWEL", "quantity": 2, "unit_price": 12500}


async def test_hot_path_statements_touch_member_owned_tables_only_by_one_member_id(
    api: Api,
) -> None:
    till = await api.open_till()
    member = await till.enrol("+8613900000001")
    member_id = member["member_id"]
    template = await api.admin_post(
        "/v1/admin/coupon-templates",
        {"name": "Q", "kind": "fixed", "value": 100, "valid_days": 30},
    )
    assert template.status_code == 201, template.text
    issued = await api.admin_post(
        "/v1/admin/coupons/issue",
        {"template_id": template.json()["id"], "member_ids": [member_id]},
    )
    assert issued.status_code == 201, issued.text
    code = issued.json()["issued"][0]["code"]
    warm = await till.sell("W0", [LINE], member_id=member_id)  # earns points to redeem
    assert warm.status_code == 201, warm.text
    me = api.member_headers(member_id)

    def sale(receipt: str, **extra: Any) -> dict[str, Any]:
        return {"receipt_id": receipt, "member_id": member_id, "lines": [LINE], **extra}

    requests: list[tuple[str, str, str, dict[str, Any] | None, dict[str, str]]] = [
        ("sale with a member", "POST", "/v1/pos/sales", sale("S1"), till.headers()),
        ("sale with a coupon", "POST", "/v1/pos/sales",
         sale("S2", coupon_codes=[code]), till.headers()),
        ("sale redeeming points", "POST", "/v1/pos/sales",
         sale("S3", redeem_points=100), till.headers()),
        ("guest sale", "POST", "/v1/pos/sales",
         {"receipt_id": "S4", "lines": [LINE]}, till.headers()),
        ("member lookup by card", "GET",
         f"/v1/pos/members/lookup?card_number={member['card_number']}", None, till.headers()),
        ("member lookup by phone", "GET",
         "/v1/pos/members/lookup?phone=%2B8613900000001", None, till.headers()),
        ("GET /v1/me", "GET", "/v1/me", None, me),
    ]  # fmt: skip
    refused: list[str] = []
    excused: set[tuple[str, str]] = set()
    for label, method, path, body, headers in requests:
        with capturing() as statements:
            if method == "POST":
                response = await api.client.post(
                    path, json=body, headers={**headers, "Idempotency-Key": new_key()}
                )
            else:
                response = await api.client.get(path, headers=headers)
        assert response.status_code < 300, f"{label}: {response.status_code} {response.text}"
        assert statements, label
        for sql, args in statements:
            tables = unrouted(sql, args)
            if not tables:
                continue
            exception = statement_exception(label, sql, tables)
            if exception is None:
                refused.append(f"{label}: {tables} in {' '.join(sql.split())[:200]}")
            else:
                excused.add((exception.request, exception.starts_with))
    assert not refused, "\n".join(refused)
    # An exception that no statement needs any more is stale: remove it from the list.
    stale = [e for e in STATEMENT_EXCEPTIONS if (e.request, e.starts_with) not in excused]
    assert not stale, stale


# The check itself, on statements written for it: it must refuse what Citus cannot route.


def test_a_statement_pinned_by_member_id_is_routed() -> None:
    sql = "SELECT * FROM points_lots WHERE member_id = $1 AND remaining > 0"
    assert unrouted(sql, ("5f0e3c1e-0000-0000-0000-000000000001",)) == []


def test_a_statement_without_member_id_equality_is_not_routed() -> None:
    assert unrouted("SELECT * FROM coupons WHERE code = $1", ("ABC",)) == ["coupons"]


def test_an_equality_under_or_does_not_pin() -> None:
    sql = "SELECT * FROM sales WHERE member_id = $1 OR store_id = $2"
    assert unrouted(sql, ("m", "s")) == ["sales"]


def test_a_list_or_null_of_members_does_not_pin() -> None:
    assert unrouted("SELECT * FROM coupons WHERE member_id = ANY($1)", (["a", "b"],)) == ["coupons"]
    assert unrouted("SELECT * FROM coupons WHERE member_id = $1", (None,)) == ["coupons"]
    assert unrouted("INSERT INTO sales (id, member_id) VALUES ($1, $2)", ("s", None)) == ["sales"]


def test_a_co_located_join_is_routed_and_an_unjoined_table_is_not() -> None:
    joined = (
        "SELECT * FROM members m JOIN points_accounts a ON a.member_id = m.id "
        "LEFT JOIN points_lots l ON l.member_id = m.id WHERE m.id = $1"
    )
    assert unrouted(joined, ("m",)) == []
    unjoined = "SELECT * FROM members m JOIN coupons k ON k.code = $2 WHERE m.id = $1"
    assert unrouted(unjoined, ("m", "c")) == ["coupons"]


def test_two_members_in_one_statement_are_not_routed() -> None:
    sql = "SELECT * FROM members m, coupons k WHERE m.id = $1 AND k.member_id = $2"
    assert unrouted(sql, ("a", "b")) == ["coupons", "members"]


def test_a_correlated_subquery_follows_the_outer_member() -> None:
    sql = (
        "SELECT m.id, (SELECT sum(l.remaining) FROM points_lots l WHERE l.member_id = m.id) "
        "FROM members m WHERE m.id = $1"
    )
    assert unrouted(sql, ("m",)) == []
    loose = (
        "SELECT m.id, (SELECT sum(l.remaining) FROM points_lots l) FROM members m WHERE m.id = $1"
    )
    assert unrouted(loose, ("m",)) == ["points_lots"]


def test_an_insert_from_a_pinned_cte_is_routed() -> None:
    sql = (
        "WITH sale AS (INSERT INTO sales (id, member_id) VALUES ($1, $2) RETURNING id, "
        "member_id) INSERT INTO sale_lines (sale_id, member_id, sku) "
        "SELECT sale.id, sale.member_id, x FROM sale, unnest($3::text[]) AS x"
    )
    assert unrouted(sql, ("s", "m", ["a"])) == []
    assert unrouted(sql, ("s", None, ["a"])) == ["sale_lines", "sales"]


def test_tables_owned_by_no_member_need_no_member_id() -> None:
    assert unrouted("SELECT secret_version FROM terminals WHERE id = $1 AND active", (1,)) == []
    assert unrouted("INSERT INTO integration_events (id) SELECT gen_random_uuid()") == []
