"""Each process caches the configuration; a change made through another process is used by
the very next sale (issue #7: a sale never works with a configuration older than one
committed before it began)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.e2e.conftest import cli, serving

PROGRAM = {
    "currency": "CNY",
    "time_zone": "Asia/Shanghai",
    "earn_rate": "1",
    "point_value": "1",
    "points_expiry": {"kind": "never"},
    "pending_days": 14,
}
LINES = [{"sku": "TOWEL", "quantity": 1, "unit_price": 25000}]  # 250.00


@contextmanager
def another_process(db_url: str) -> Iterator[str]:
    """A second `loyalty serve` on the same database: its own pool, its own cache."""
    env = {**os.environ, "DATABASE_URL": db_url, "LOYALTY_LOG_LEVEL": "WARNING"}
    with serving(env) as base:
        yield base


def headers(token: str, key: str | None = None) -> dict[str, str]:
    found = {"Authorization": f"Bearer {token}"}
    return {**found, "Idempotency-Key": key} if key else found


def open_till(http: httpx.Client, admin: str) -> str:
    store = http.post(
        "/v1/admin/stores",
        json={"code": "cache", "name": "Cache"},
        headers=headers(admin, "store"),
    ).json()
    terminal = http.post(
        "/v1/admin/terminals",
        json={"store_id": store["store_id"], "code": "till"},
        headers=headers(admin, "terminal"),
    ).json()
    token: str = http.post(
        "/v1/auth/terminal-token",
        json={"terminal_id": terminal["terminal_id"], "secret": terminal["secret"]},
    ).json()["access_token"]
    return token


def sell(http: httpx.Client, till: str, member_id: str, receipt: str) -> dict[str, Any]:
    sale = http.post(
        "/v1/pos/sales",
        json={"receipt_id": receipt, "member_id": member_id, "lines": LINES},
        headers=headers(till, f"sale-{receipt}"),
    )
    assert sale.status_code == 201, sale.text
    body: dict[str, Any] = sale.json()
    return body


def test_a_configuration_changed_through_another_process_is_used_by_the_next_sale(
    service: tuple[str, dict[str, str]], clean_db: str
) -> None:
    base, env = service
    admin = cli("token", "admin", "--subject", "cache", env=env)
    with (
        httpx.Client(base_url=base, timeout=10) as till_side,
        another_process(clean_db) as other,
        httpx.Client(base_url=other, timeout=10) as admin_side,
    ):
        till = open_till(till_side, admin)
        member_id = till_side.post(
            "/v1/pos/members", json={"phone": "13800138000"}, headers=headers(till, "enrol")
        ).json()["member_id"]
        # The till's process has the configuration cached now.
        assert sell(till_side, till, member_id, "R1")["points_earned"] == 250

        changed = admin_side.put(
            "/v1/admin/program", json={**PROGRAM, "earn_rate": "2"}, headers=headers(admin)
        )
        assert changed.status_code == 200, changed.text
        assert sell(till_side, till, member_id, "R2")["points_earned"] == 500

        tiers = {
            "window_days": 365,
            "grace_days": 30,
            "tiers": [
                {
                    "code": "member",
                    "name": "Member",
                    "rank": 0,
                    "threshold": 0,
                    "earn_multiplier": "1",
                },
                {
                    "code": "gold",
                    "name": "Gold",
                    "rank": 1,
                    "threshold": 70000,
                    "earn_multiplier": "2",
                },
            ],
        }
        moved = admin_side.put("/v1/admin/tiers", json=tiers, headers=headers(admin))
        assert moved.status_code == 200, moved.text
        # 500.00 spent when the ladder changed, 750.00 after the next sale: gold, then.
        assert sell(till_side, till, member_id, "R3")["tier"]["code"] == "gold"

        now = datetime.now(UTC)
        campaign = admin_side.post(
            "/v1/admin/draw-campaigns",
            json={
                "name": "Draw",
                "threshold": 20000,
                "chances": "one",
                "chance_valid_days": 30,
                "starts_at": (now - timedelta(days=1)).isoformat(),
                "ends_at": (now + timedelta(days=1)).isoformat(),
                "prizes": [{"code": "mug", "name": "A mug", "weight": 1}],
            },
            headers=headers(admin, "campaign"),
        )
        assert campaign.status_code == 201, campaign.text
        assert sell(till_side, till, member_id, "R4")["draw_chances"] == 1
