"""Administering stores, terminals and the programme, with an audit trail."""

from __future__ import annotations

import asyncpg

from tests.api.client import Api

DEFAULT_PROGRAM = {
    "currency": "CNY",
    "time_zone": "Asia/Shanghai",
    "earn_rate": "1.0000",
    "point_value": "1.0000",
    "points_expiry": {"kind": "never", "count": None},
    "pending_days": 14,
    "version": 1,
    "crm": {"new_days": 30, "dormant_days": 90, "churned_days": 180, "follow_up_days": 7},
    "refunds_at_any_store": True,
    "guest_claim_days": 30,
}


async def test_the_programme_starts_with_documented_defaults(api: Api) -> None:
    response = await api.client.get("/v1/admin/program", headers=api.admin_headers)

    assert response.status_code == 200
    assert response.json() == DEFAULT_PROGRAM


async def test_changing_the_programme_bumps_its_version_and_is_audited(
    api: Api, clean_db: str
) -> None:
    proposed = {
        "currency": "GBP",
        "time_zone": "Europe/London",
        "earn_rate": 1.5,
        "point_value": "0.5",
        "points_expiry": {"kind": "end_of_month", "count": 12},
        "pending_days": 30,
    }
    response = await api.client.put("/v1/admin/program", json=proposed, headers=api.admin_headers)

    assert response.status_code == 200, response.text
    assert response.json()["version"] == 2
    assert response.json()["earn_rate"] == "1.5"
    assert response.json()["points_expiry"] == {"kind": "end_of_month", "count": 12}
    connection = await asyncpg.connect(clean_db)
    try:
        row = await connection.fetchrow("SELECT actor, action FROM audit_log")
    finally:
        await connection.close()
    assert dict(row) == {"actor": "admin:test-admin", "action": "program.updated"}


async def test_an_invalid_programme_is_refused_field_by_field(api: Api) -> None:
    base = {k: v for k, v in DEFAULT_PROGRAM.items() if k != "version"}
    cases = [
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"currency": "XYZ"}, "currency"),
        ({"earn_rate": "-1"}, "earn_rate"),
        ({"earn_rate": "NaN"}, "earn_rate"),
        ({"point_value": "Infinity"}, "point_value"),
        ({"earn_rate": "0.00001"}, "earn_rate"),
        ({"point_value": "0"}, "point_value"),
        ({"points_expiry": {"kind": "days"}}, "points_expiry.count"),
        ({"points_expiry": {"kind": "never", "count": 3}}, "points_expiry.count"),
    ]
    for change, field in cases:
        response = await api.client.put(
            "/v1/admin/program", json={**base, **change}, headers=api.admin_headers
        )
        assert response.status_code == 422, (change, response.text)
        assert response.json()["errors"][0]["field"] == field


async def test_the_currency_is_locked_once_sales_exist(api: Api) -> None:
    till = await api.open_till()
    await till.sell("R-1", [{"sku": "A", "quantity": 1, "unit_price": 100}])
    base = {k: v for k, v in DEFAULT_PROGRAM.items() if k != "version"}

    response = await api.client.put(
        "/v1/admin/program", json={**base, "currency": "EUR"}, headers=api.admin_headers
    )

    assert response.status_code == 409
    assert response.json()["code"] == "currency_locked"


async def test_store_codes_and_terminal_codes_are_unique(api: Api) -> None:
    store = await api.create_store("shanghai-1")
    await api.create_terminal(store["store_id"], "till-1")

    store_again = await api.admin_post("/v1/admin/stores", {"code": "shanghai-1", "name": "x"})
    terminal_again = await api.admin_post(
        "/v1/admin/terminals", {"store_id": store["store_id"], "code": "till-1"}
    )
    no_store = await api.admin_post(
        "/v1/admin/terminals",
        {"store_id": "00000000-0000-4000-8000-000000000000", "code": "till-1"},
    )

    assert (store_again.status_code, store_again.json()["code"]) == (409, "store_exists")
    assert (terminal_again.status_code, terminal_again.json()["code"]) == (409, "terminal_exists")
    assert (no_store.status_code, no_store.json()["code"]) == (404, "store_not_found")


async def test_a_terminal_secret_is_shown_once_and_only_its_hash_is_kept(
    api: Api, clean_db: str
) -> None:
    store = await api.create_store()
    terminal = await api.create_terminal(store["store_id"])

    connection = await asyncpg.connect(clean_db)
    try:
        stored = await connection.fetchval("SELECT secret_hash FROM terminals")
    finally:
        await connection.close()
    assert len(terminal["secret"]) >= 43  # 256 bits, base64url
    assert terminal["secret"] not in stored
    assert stored.startswith("sha256$")
