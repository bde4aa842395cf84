"""The logs of a full flow, captured from a served process at DEBUG, searched for secrets.

Tokens, terminal secrets, signing secrets and whole phone numbers must never be logged, at any
level; every line the service writes is JSON, and each request's lines carry its request id.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from app.settings import DEV_JWT_SECRET, DEV_SHOP_SECRET, DEV_STRIPE_SECRET
from tests.e2e.conftest import BIN, STARTUP_SECONDS, cli, free_port
from tests.support.webhooks import (
    payment_intent,
    shop_event,
    shop_headers,
    stripe_event,
    stripe_headers,
)

PHONE = "+8613800138000"
NATIONAL = "13800138000"
LINES = [{"sku": "TOWEL", "quantity": 2, "unit_price": 12500}]


@pytest.fixture(scope="module")
def verbose_service(db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    log_file = tmp_path_factory.mktemp("logs") / "service.log"
    env = {**os.environ, "DATABASE_URL": db_url, "LOYALTY_LOG_LEVEL": "DEBUG"}
    port = free_port()
    with log_file.open("w") as sink:
        process = subprocess.Popen(
            [str(BIN / "loyalty"), "serve", "--port", str(port)],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + STARTUP_SECONDS
    try:
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the service did not start:\n{log_file.read_text()}")
            time.sleep(0.2)
        yield base, env, process, log_file
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=15)


async def full_flow(base: str, env: dict[str, str]) -> list[str]:
    """Every kind of request a secret or a phone number travels in; returns the secrets seen."""
    admin_token = cli("token", "admin", "--subject", "ops", env=env)
    admin = {"Authorization": f"Bearer {admin_token}"}
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        store = await http.post(
            "/v1/admin/stores",
            json={"code": "logs", "name": "Logs"},
            headers={**admin, "Idempotency-Key": "s"},
        )
        terminal = (
            await http.post(
                "/v1/admin/terminals",
                json={"store_id": store.json()["store_id"], "code": "till"},
                headers={**admin, "Idempotency-Key": "t"},
            )
        ).json()
        pos_token = (
            await http.post(
                "/v1/auth/terminal-token",
                json={"terminal_id": terminal["terminal_id"], "secret": terminal["secret"]},
            )
        ).json()["access_token"]
        wrong_secret = await http.post(
            "/v1/auth/terminal-token",
            json={"terminal_id": terminal["terminal_id"], "secret": "guessed-secret-123"},
        )
        assert wrong_secret.status_code == 401
        pos = {"Authorization": f"Bearer {pos_token}"}
        member = (
            await http.post(
                "/v1/pos/members",
                json={"phone": NATIONAL, "name": "Han Meimei", "email": "han@example.com"},
                headers={**pos, "Idempotency-Key": "m"},
            )
        ).json()
        await http.get("/v1/pos/members/lookup", params={"phone": PHONE}, headers=pos)
        await http.get("/v1/pos/members/lookup", params={"phone": "+8613900000000"}, headers=pos)
        await http.post(
            "/v1/pos/members", json={"phone": "12"}, headers={**pos, "Idempotency-Key": "bad"}
        )
        sale = await http.post(
            "/v1/pos/sales",
            json={"receipt_id": "R1", "member_id": member["member_id"], "lines": LINES},
            headers={**pos, "Idempotency-Key": "sale"},
        )
        await http.post(
            f"/v1/pos/sales/{sale.json()['sale_id']}/refunds",
            json={"refund_id": "F1", "amount": 100},
            headers={**pos, "Idempotency-Key": "refund"},
        )
        member_token = cli("token", "member", member["member_id"], env=env)
        me = {"Authorization": f"Bearer {member_token}"}
        await http.get("/v1/me", headers=me)
        await http.get("/v1/me/ledger", headers=me)
        await http.get("/v1/me", headers={"Authorization": f"Bearer {member_token}x"})
        linked = shop_event("customer.linked", {"customer_id": "C1", "phone": PHONE})
        await http.post("/v1/webhooks/shop", content=linked, headers=shop_headers(linked))
        forged = shop_event("customer.linked", {"customer_id": "C2", "phone": PHONE})
        await http.post(
            "/v1/webhooks/shop", content=forged, headers=shop_headers(forged, secret="x" * 40)
        )
        paid = stripe_event(
            "payment_intent.succeeded",
            payment_intent("pi_logs_1", 5000, metadata={"member_id": member["member_id"]}),
        )
        await http.post("/v1/webhooks/stripe", content=paid, headers=stripe_headers(paid))
        await http.get(f"/v1/admin/members/{member['member_id']}/export", headers=admin)
        await http.post(
            f"/v1/admin/members/{member['member_id']}/erase",
            headers={**admin, "Idempotency-Key": "erase"},
        )
    return [admin_token, pos_token, member_token, terminal["secret"]]


async def test_a_full_flow_logs_json_with_request_ids_and_never_a_secret_or_a_phone(
    verbose_service: Any, clean_db: str
) -> None:
    base, env, process, log_file = verbose_service

    secrets = await full_flow(base, env)
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=15)

    text = log_file.read_text()
    forbidden = [
        *secrets,
        *(token.rsplit(".", 1)[1] for token in secrets[:3]),  # a signature alone is enough
        DEV_JWT_SECRET,
        DEV_SHOP_SECRET,
        DEV_STRIPE_SECRET,
        "guessed-secret-123",
        PHONE,
        NATIONAL,
        "13900000000",
        "han@example.com",
    ]
    leaked = [value[:12] + "..." for value in forbidden if value in text]
    assert leaked == []
    records = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    requests = [r for r in records if r.get("event") == "http.request"]
    assert len(requests) >= 15
    assert all(len(r["request_id"]) == 32 for r in requests)
    assert {r["route"] for r in requests} >= {"/v1/pos/sales", "/v1/pos/members/lookup"}
    # Anything the service logs while serving a request names that request.
    during_requests = [r for r in records if "path" in r or "source" in r]
    assert all("request_id" in r for r in during_requests)
    others = [
        line
        for line in text.splitlines()
        if line.strip() and not line.startswith("{") and not line.startswith("serving on")
    ]
    assert others == [], "every line the service writes is JSON"
