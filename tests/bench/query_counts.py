"""Round trips to PostgreSQL per request, counted in-process on a scratch database.

The app runs under Litestar's test client with asyncpg's Connection wrapped to count every
statement it sends (BEGIN, COMMIT and the pool's reset included), one request at a time.
With the profile this says where a request's time goes: each round trip costs the service
its own CPU (Piccolo building the query, asyncpg encoding and decoding) and a wait.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID, uuid4

from asyncpg.connection import Connection
from litestar.testing import AsyncTestClient

from app.asgi import create_app
from app.settings import Settings


@contextmanager
def counting() -> Iterator[Counter[str]]:
    counts: Counter[str] = Counter()
    original_execute = Connection.execute
    original_inner = Connection._execute

    async def execute(self: Connection, query: str, *args: Any, **kwargs: Any) -> Any:
        if not args:  # with arguments it goes through _execute, counted there
            counts[" ".join(query.split())[:70]] += 1
        return await original_execute(self, query, *args, **kwargs)

    async def inner(self: Connection, query: str, *args: Any, **kwargs: Any) -> Any:
        counts[" ".join(query.split())[:70]] += 1
        return await original_inner(self, query, *args, **kwargs)

    Connection.execute = execute  # type: ignore[method-assign]
    Connection._execute = inner  # type: ignore[method-assign]
    try:
        yield counts
    finally:
        Connection.execute = original_execute  # type: ignore[method-assign]
        Connection._execute = original_inner  # type: ignore[method-assign]


def _key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid4())}


async def measure(url: str) -> dict[str, Any]:
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
    app = create_app(Settings(db_pool_min=1, db_pool_max=4), database_url=url)
    async with AsyncTestClient(app=app) as client:
        tokens = app.state.container.tokens
        admin = {"authorization": f"Bearer {tokens.issue_admin_token('bench').token}"}
        store = (
            await client.post(
                "/v1/admin/stores", json={"code": "Q", "name": "Q"}, headers={**admin, **_key()}
            )
        ).json()
        terminal = (
            await client.post(
                "/v1/admin/terminals",
                json={"store_id": store["store_id"], "code": "T"},
                headers={**admin, **_key()},
            )
        ).json()
        login = await client.post(
            "/v1/auth/terminal-token",
            json={"terminal_id": terminal["terminal_id"], "secret": terminal["secret"]},
        )
        pos = {"authorization": f"Bearer {login.json()['access_token']}"}
        member = (
            await client.post(
                "/v1/pos/members", json={"phone": "+8613900000001"}, headers={**pos, **_key()}
            )
        ).json()
        template = (
            await client.post(
                "/v1/admin/coupon-templates",
                json={"name": "Q", "kind": "fixed", "value": 100, "valid_days": 30},
                headers={**admin, **_key()},
            )
        ).json()
        issued = (
            await client.post(
                "/v1/admin/coupons/issue",
                json={"template_id": template["id"], "member_ids": [member["member_id"]]},
                headers={**admin, **_key()},
            )
        ).json()
        member_token = tokens.issue_member_token(UUID(member["member_id"])).token
        me = {"authorization": f"Bearer {member_token}"}
        line = {"sku": "TOWEL", "quantity": 2, "unit_price": 12500}

        def sale(n: int, **extra: Any) -> dict[str, Any]:
            return {
                "receipt_id": f"Q{n}",
                "member_id": member["member_id"],
                "lines": [line, {**line, "sku": "MUG"}],
                **extra,
            }

        await client.post("/v1/pos/sales", json=sale(0), headers={**pos, **_key()})  # warm-up
        requests: list[tuple[str, str, str, dict[str, Any] | None, dict[str, str]]] = [
            ("sale with a member", "POST", "/v1/pos/sales", sale(1), pos),
            ("sale with a coupon", "POST", "/v1/pos/sales",
             sale(2, coupon_codes=[issued["issued"][0]["code"]]), pos),
            ("sale redeeming points", "POST", "/v1/pos/sales", sale(3, redeem_points=100), pos),
            ("guest sale", "POST", "/v1/pos/sales",
             {"receipt_id": "Q4", "lines": [line]}, pos),
            ("member lookup by card", "GET",
             f"/v1/pos/members/lookup?card_number={member['card_number']}", None, pos),
            ("GET /v1/me", "GET", "/v1/me", None, me),
        ]  # fmt: skip
        results: dict[str, Any] = {}
        for label, method, path, body, headers in requests:
            with counting() as counts:
                if method == "POST":
                    response = await client.post(path, json=body, headers={**headers, **_key()})
                else:
                    response = await client.get(path, headers=headers)
            if response.status_code >= 300:
                raise RuntimeError(f"{label}: {response.status_code} {response.text[:300]}")
            results[label] = {
                "round_trips": sum(counts.values()),
                "statements": dict(counts.most_common()),
            }
    return results
