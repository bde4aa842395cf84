"""A small vocabulary for API tests: an admin, a till, a member, as their clients see them."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from httpx import Response
from litestar.testing import AsyncTestClient

from adapters.http.tokens import TokenService

_keys = itertools.count(1)


def new_key() -> str:
    return f"test-key-{next(_keys)}"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Till:
    client: AsyncTestClient[Any]
    token: str
    store_id: str
    terminal_id: str

    def headers(self, key: str | None = None) -> dict[str, str]:
        return {**bearer(self.token), "Idempotency-Key": key or new_key()}

    async def post(self, path: str, body: Any, *, key: str | None = None) -> Response:
        return await self.client.post(path, json=body, headers=self.headers(key))

    async def enrol(self, phone: str = "+8613800138000", **extra: Any) -> dict[str, Any]:
        response = await self.post("/v1/pos/members", {"phone": phone, **extra})
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    async def sell(
        self,
        receipt_id: str,
        lines: list[dict[str, Any]],
        *,
        member_id: str | None = None,
        key: str | None = None,
        **extra: Any,
    ) -> Response:
        body: dict[str, Any] = {"receipt_id": receipt_id, "lines": lines, **extra}
        if member_id:
            body["member_id"] = member_id
        return await self.post("/v1/pos/sales", body, key=key)

    async def refund(
        self, sale_id: str, body: dict[str, Any], *, key: str | None = None
    ) -> Response:
        return await self.post(f"/v1/pos/sales/{sale_id}/refunds", body, key=key)


@dataclass
class Api:
    client: AsyncTestClient[Any]
    tokens: TokenService
    _stores: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def admin_headers(self) -> dict[str, str]:
        return bearer(self.tokens.issue_admin_token("test-admin").token)

    def member_headers(self, member_id: str) -> dict[str, str]:
        return bearer(self.tokens.issue_member_token(UUID(member_id)).token)

    async def admin_post(self, path: str, body: Any, *, key: str | None = None) -> Response:
        headers = {**self.admin_headers, "Idempotency-Key": key or new_key()}
        return await self.client.post(path, json=body, headers=headers)

    async def create_store(self, code: str | None = None) -> dict[str, Any]:
        code = code or f"store-{next(self._stores)}"
        response = await self.admin_post(
            "/v1/admin/stores", {"code": code, "name": f"Store {code}"}
        )
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    async def create_terminal(self, store_id: str, code: str = "till-1") -> dict[str, Any]:
        response = await self.admin_post(
            "/v1/admin/terminals", {"store_id": store_id, "code": code}
        )
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    async def open_till(self, store_code: str | None = None) -> Till:
        """A store with a terminal, logged in the way a POS does it."""
        store = await self.create_store(store_code)
        terminal = await self.create_terminal(store["store_id"])
        response = await self.client.post(
            "/v1/auth/terminal-token",
            json={"terminal_id": terminal["terminal_id"], "secret": terminal["secret"]},
        )
        assert response.status_code == 200, response.text
        return Till(
            self.client, response.json()["access_token"], store["store_id"], terminal["terminal_id"]
        )
