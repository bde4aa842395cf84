"""Stores and terminals in the back office: listing them, deactivating a terminal (its tokens
stop at once), rotating its secret (shown once, kept nowhere, not even for a retry)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from app.principal import Principal, Role
from tests.api.client import Api, Till, bearer, new_key


async def _rows(db: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(db)
    try:
        rows: list[asyncpg.Record] = await connection.fetch(sql, *args)
        return rows
    finally:
        await connection.close()


async def _lookup(till: Till) -> int:
    response = await till.client.get(
        "/v1/pos/members/lookup", params={"phone": "13800138000"}, headers=till.headers()
    )
    return response.status_code


async def test_stores_and_terminals_are_listed_page_by_page(api: Api) -> None:
    stores = [await api.create_store() for _ in range(3)]
    for store in stores:
        await api.create_terminal(store["store_id"], "till-1")
        await api.create_terminal(store["store_id"], "till-2")

    first = await api.client.get("/v1/admin/stores", params={"limit": 2}, headers=api.admin_headers)
    second = await api.client.get(
        "/v1/admin/stores",
        params={"limit": 2, "cursor": first.json()["next_cursor"]},
        headers=api.admin_headers,
    )
    of_one = await api.client.get(
        "/v1/admin/terminals",
        params={"store_id": stores[0]["store_id"]},
        headers=api.admin_headers,
    )
    everywhere = await api.client.get(
        "/v1/admin/terminals", params={"limit": 200}, headers=api.admin_headers
    )

    assert first.status_code == 200, first.text
    listed = first.json()["items"] + second.json()["items"]
    assert sorted(s["store_id"] for s in listed) == sorted(s["store_id"] for s in stores)
    assert second.json()["next_cursor"] is None
    assert sorted(t["code"] for t in of_one.json()["items"]) == ["till-1", "till-2"]
    assert len(everywhere.json()["items"]) == 6
    assert all(t["secret"] is None and t["active"] for t in everywhere.json()["items"])


async def test_listing_the_terminals_of_an_unknown_store_is_404(api: Api) -> None:
    response = await api.client.get(
        "/v1/admin/terminals",
        params={"store_id": "00000000-0000-4000-8000-000000000000"},
        headers=api.admin_headers,
    )

    assert (response.status_code, response.json()["code"]) == (404, "store_not_found")


async def test_a_deactivated_terminals_token_is_refused_on_its_very_next_request(
    api: Api, clean_db: str
) -> None:
    till = await api.open_till()
    await till.enrol()
    assert await _lookup(till) == 200  # the token is verified, and remembered, here

    deactivated = await api.admin_post(
        f"/v1/admin/terminals/{till.terminal_id}/deactivate", {"reason": "stolen"}
    )

    assert deactivated.status_code == 200, deactivated.text
    assert deactivated.json()["active"] is False
    assert await _lookup(till) == 401
    sale = await till.sell("R-1", [{"sku": "A", "quantity": 1, "unit_price": 100}])
    assert (sale.status_code, sale.json()["code"]) == (401, "unauthenticated")
    [audit] = await _rows(
        clean_db, "SELECT action, details FROM audit_log WHERE action = 'terminal.deactivated'"
    )
    assert '"stolen"' in audit["details"]


async def test_a_deactivated_terminal_cannot_log_in_or_get_a_new_secret(api: Api) -> None:
    store = await api.create_store()
    terminal = await api.create_terminal(store["store_id"])
    path = f"/v1/admin/terminals/{terminal['terminal_id']}"
    await api.admin_post(f"{path}/deactivate", {})

    again = await api.admin_post(f"{path}/deactivate", {})
    login = await api.client.post(
        "/v1/auth/terminal-token",
        json={"terminal_id": terminal["terminal_id"], "secret": terminal["secret"]},
    )
    rotated = await api.admin_post(f"{path}/secret", None)

    assert again.status_code == 200
    assert again.json()["active"] is False
    assert (login.status_code, login.json()["code"]) == (401, "invalid_credentials")
    assert (rotated.status_code, rotated.json()["code"]) == (409, "terminal_inactive")


async def test_deactivating_an_unknown_terminal_is_404(api: Api) -> None:
    response = await api.admin_post(
        "/v1/admin/terminals/00000000-0000-4000-8000-000000000000/deactivate", {}
    )

    assert (response.status_code, response.json()["code"]) == (404, "terminal_not_found")


async def test_a_rotated_secret_logs_in_and_the_old_secret_and_its_tokens_are_refused(
    api: Api, clean_db: str
) -> None:
    till = await api.open_till()
    await till.enrol()
    [old_hash] = await _rows(clean_db, "SELECT secret_hash FROM terminals")

    rotated = await api.admin_post(f"/v1/admin/terminals/{till.terminal_id}/secret", None)

    assert rotated.status_code == 200, rotated.text
    body = rotated.json()
    assert body["secret_version"] == 2
    assert len(body["secret"]) >= 43
    assert await _lookup(till) == 401  # the token issued under the old secret
    old_login = await api.client.post(
        "/v1/auth/terminal-token", json={"terminal_id": till.terminal_id, "secret": "x" * 43}
    )
    assert old_login.status_code == 401
    login = await api.client.post(
        "/v1/auth/terminal-token", json={"terminal_id": till.terminal_id, "secret": body["secret"]}
    )
    assert login.status_code == 200, login.text
    new_till = Till(api.client, login.json()["access_token"], till.store_id, till.terminal_id)
    assert await _lookup(new_till) == 200
    [row] = await _rows(clean_db, "SELECT secret_hash, secret_version FROM terminals")
    assert row["secret_hash"] != old_hash["secret_hash"]
    assert body["secret"] not in row["secret_hash"]
    [audit] = await _rows(
        clean_db, "SELECT details FROM audit_log WHERE action = 'terminal.secret_rotated'"
    )
    assert body["secret"] not in audit["details"]


async def test_a_retried_terminal_creation_answers_without_the_secret_and_stores_none(
    api: Api, clean_db: str
) -> None:
    store = await api.create_store()
    key = new_key()
    request = {"store_id": store["store_id"], "code": "till-9"}

    first = await api.admin_post("/v1/admin/terminals", request, key=key)
    retry = await api.admin_post("/v1/admin/terminals", request, key=key)

    assert first.status_code == 201, first.text
    secret = first.json()["secret"]
    assert secret
    assert first.json()["secret_withheld"] is False
    assert retry.status_code == 201
    assert retry.json()["terminal_id"] == first.json()["terminal_id"]
    assert retry.json()["secret"] is None
    assert retry.json()["secret_withheld"] is True
    stored = await _rows(clean_db, "SELECT response_body FROM idempotency_keys")
    assert stored
    assert all(secret.encode() not in bytes(r["response_body"]) for r in stored)


async def test_a_retried_rotation_answers_without_the_secret_and_rotates_once(
    api: Api, clean_db: str
) -> None:
    store = await api.create_store()
    terminal = await api.create_terminal(store["store_id"])
    path = f"/v1/admin/terminals/{terminal['terminal_id']}/secret"
    key = new_key()

    first = await api.admin_post(path, None, key=key)
    retry = await api.admin_post(path, None, key=key)

    assert first.json()["secret"]
    assert first.json()["secret_version"] == 2
    assert retry.json()["secret"] is None
    assert retry.json()["secret_withheld"] is True
    assert retry.json()["secret_version"] == 2
    stored = await _rows(clean_db, "SELECT response_body FROM idempotency_keys")
    assert all(first.json()["secret"].encode() not in bytes(r["response_body"]) for r in stored)


async def test_the_terminal_routes_are_for_admins_only(api: Api) -> None:
    till = await api.open_till()

    listing = await api.client.get("/v1/admin/terminals", headers=bearer(till.token))

    assert listing.status_code == 403


async def test_a_pos_token_from_before_secret_versions_counts_as_the_first_version(
    api: Api,
) -> None:
    till = await api.open_till()
    await till.enrol()
    # Issued without the "ver" claim, as every POS token was before secrets had versions.
    unversioned = api.tokens.issue(
        Principal(
            Role.POS,
            till.terminal_id,
            store_id=UUID(till.store_id),
            terminal_id=UUID(till.terminal_id),
        )
    ).token
    old = Till(api.client, unversioned, till.store_id, till.terminal_id)

    before = await _lookup(old)
    await api.admin_post(f"/v1/admin/terminals/{till.terminal_id}/secret", None)
    after = await _lookup(old)

    assert (before, after) == (200, 401)
