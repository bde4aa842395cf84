"""The service as an operator runs it: `loyalty serve` in its own process, tokens from the CLI."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

BIN = Path(sys.executable).parent
STARTUP_SECONDS = 30


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _cli(*args: str, env: dict[str, str]) -> str:
    result = subprocess.run(
        [str(BIN / "loyalty"), *args], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.fixture
def service(db_url: str) -> Iterator[tuple[str, dict[str, str]]]:
    env = {**os.environ, "DATABASE_URL": db_url, "LOYALTY_LOG_LEVEL": "WARNING"}
    port = _free_port()
    process = subprocess.Popen(
        [str(BIN / "loyalty"), "serve", "--port", str(port), "--migrate"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
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
                output = process.stdout.read() if process.stdout else ""
                pytest.fail(f"the service did not start:\n{output}")
            time.sleep(0.2)
        yield base, env
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.mark.usefixtures("clean_db")
def test_a_served_process_enrols_sells_and_shows_the_member_their_points(
    service: tuple[str, dict[str, str]],
) -> None:
    base, env = service
    admin = {"Authorization": f"Bearer {_cli('token', 'admin', '--subject', 'e2e', env=env)}"}
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

        member_token = _cli("token", "member", member["member_id"], env=env)
        me = http.get("/v1/me", headers={"Authorization": f"Bearer {member_token}"})
        assert me.status_code == 200
        assert me.json()["points"]["available"] == 250
        schema = http.get("/schema/openapi.json")
        assert schema.status_code == 200
        assert "/v1/pos/sales" in schema.json()["paths"]
