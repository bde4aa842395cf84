"""The service as an operator runs it: `loyalty serve` in its own process, tokens from the CLI."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.conftest import cli


@pytest.mark.usefixtures("clean_db")
def test_a_served_process_enrols_sells_and_shows_the_member_their_points(
    service: tuple[str, dict[str, str]],
) -> None:
    base, env = service
    admin = {"Authorization": f"Bearer {cli('token', 'admin', '--subject', 'e2e', env=env)}"}
    with httpx.Client(base_url=base, timeout=10) as http:
        store = http.post(
            "/v1/admin/stores",
            json={"code": "e2e-store", "name": "E2E"},
            headers={**admin, "Idempotency-Key": "store-1"},
        ).json()
        terminal = http.post(
            "/v1/admin/terminals",
            json={"store_id": store["store_id"], "code": "till-1"},
            headers={**admin, "Idempotency-Key": "terminal-1"},
        ).json()
        token = http.post(
            "/v1/auth/terminal-token",
            json={"terminal_id": terminal["terminal_id"], "secret": terminal["secret"]},
        ).json()["access_token"]
        pos = {"Authorization": f"Bearer {token}"}
        member = http.post(
            "/v1/pos/members",
            json={"phone": "13800138000", "name": "Li Wei"},
            headers={**pos, "Idempotency-Key": "enrol-1"},
        ).json()
        sale = http.post(
            "/v1/pos/sales",
            json={
                "receipt_id": "E2E-1",
                "member_id": member["member_id"],
                "lines": [{"sku": "TOWEL", "quantity": 2, "unit_price": 12500}],
            },
            headers={**pos, "Idempotency-Key": "sale-1"},
        )
        assert sale.status_code == 201, sale.text
        assert sale.json()["points_earned"] == 250

        member_token = cli("token", "member", member["member_id"], env=env)
        me = http.get("/v1/me", headers={"Authorization": f"Bearer {member_token}"})
        assert me.status_code == 200
        assert me.json()["points"]["available"] == 250
        schema = http.get("/schema/openapi.json")
        assert schema.status_code == 200
        assert "/v1/pos/sales" in schema.json()["paths"]
