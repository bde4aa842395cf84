"""A first run, as a new user makes it (issue #17, items 12 and 14): `make run` listens where
PORT and HOST say, and `loyalty seed-demo` can be run again without undoing an admin's work
or piling up terminals."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import tempfile
import time

import asyncpg
import httpx
import pytest

from app.settings import PROJECT_ROOT
from tests.e2e.conftest import BIN, STARTUP_SECONDS, cli, free_port

STAMP = BIN.parent / ".installed"


def _lines(output: str, key: str) -> list[str]:
    return [line.split()[1] for line in output.splitlines() if line.startswith(f"{key}:")]


def _admin(env: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {cli('token', 'admin', '--subject', 'e2e', env=env)}"}


def _terminal_token(base: str, output: str) -> httpx.Response:
    return httpx.post(
        f"{base}/v1/auth/terminal-token",
        json={
            "terminal_id": _lines(output, "terminal_id")[0],
            "secret": _lines(output, "terminal_secret")[0],
        },
        timeout=10,
    )


@pytest.mark.usefixtures("clean_db")
def test_make_run_serves_on_the_port_and_host_it_is_given(db_url: str) -> None:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": db_url, "LOYALTY_LOG_LEVEL": "WARNING"}
    # The virtualenv this test runs in, taken as installed (-o): make only runs the service.
    venv = f"VENV={BIN.parent}"
    command = ["make", "-o", str(STAMP), "run", venv, f"PORT={port}", "HOST=127.0.0.1"]
    with tempfile.TemporaryFile(mode="w+") as output:
        process = subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + STARTUP_SECONDS
            while True:
                try:
                    health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
                    break
                except httpx.TransportError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    output.seek(0)
                    pytest.fail(f"make run did not serve on {port}:\n{output.read()}")
                time.sleep(0.2)
            assert health.status_code == 200
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def _count(db_url: str, query: str) -> int:
    async def count() -> int:
        connection = await asyncpg.connect(db_url)
        try:
            value: int = await connection.fetchval(query)
        finally:
            await connection.close()
        return value

    return asyncio.run(count())


@pytest.mark.usefixtures("clean_db")
def test_seed_demo_run_twice_keeps_one_terminal_and_the_latest_secret_logs_in(
    service: tuple[str, dict[str, str]], db_url: str
) -> None:
    base, env = service
    first = cli("seed-demo", env=env)
    second = cli("seed-demo", env=env)

    assert _lines(first, "terminal_id") == _lines(second, "terminal_id")
    assert _lines(first, "member_id") == _lines(second, "member_id")
    assert len(_lines(second, "member_id")) == 3
    assert _count(db_url, "SELECT count(*) FROM terminals") == 1
    assert _count(db_url, "SELECT count(*) FROM stores") == 1
    assert _count(db_url, "SELECT count(*) FROM members") == 3
    # The demo ladder came in once, as a version of the policy, audited.
    assert _count(db_url, "SELECT max(version) FROM tier_policies") == 2
    assert _count(db_url, "SELECT count(*) FROM audit_log WHERE action = 'tiers.updated'") == 1
    assert _count(db_url, "SELECT count(*) FROM tiers") == 3
    assert (
        _count(
            db_url,
            "SELECT count(*) FROM audit_log WHERE action = 'terminal.secret_rotated' "
            "AND actor = 'cli:seed-demo'",
        )
        == 1
    )
    assert _terminal_token(base, first).status_code == 401
    assert _terminal_token(base, second).status_code == 200


@pytest.mark.usefixtures("clean_db")
def test_seed_demo_leaves_a_ladder_and_programme_an_admin_saved(
    service: tuple[str, dict[str, str]], db_url: str
) -> None:
    base, env = service
    admin = _admin(env)
    with httpx.Client(base_url=base, timeout=10, headers=admin) as http:
        ladder = {
            "window_days": 180,
            "grace_days": 0,
            "tiers": [
                {
                    "code": "basic",
                    "name": "Basic",
                    "rank": 0,
                    "threshold": 0,
                    "earn_multiplier": "1",
                },
                {
                    "code": "vip",
                    "name": "VIP",
                    "rank": 1,
                    "threshold": 50000,
                    "earn_multiplier": "2",
                },
            ],
        }
        saved = http.put("/v1/admin/tiers", json=ladder)
        assert saved.status_code == 200, saved.text
        program = {k: v for k, v in http.get("/v1/admin/program").json().items() if k != "version"}
        changed = http.put("/v1/admin/program", json={**program, "earn_rate": "2"})
        assert changed.status_code == 200, changed.text
        before = (http.get("/v1/admin/tiers").json(), http.get("/v1/admin/program").json())

        output = cli("seed-demo", env=env)
        again = cli("seed-demo", env=env)

        after = (http.get("/v1/admin/tiers").json(), http.get("/v1/admin/program").json())
    assert after == before
    assert [t["code"] for t in after[0]["tiers"]] == ["basic", "vip"]
    assert after[1]["earn_rate"] == "2.0000"
    assert _lines(output, "terminal_id") == _lines(again, "terminal_id")
    assert (
        _count(
            db_url,
            "SELECT count(*) FROM audit_log WHERE actor = 'cli:seed-demo' "
            "AND action IN ('tiers.updated', 'program.updated')",
        )
        == 0
    )
