"""Member login against a served process: the in-process outbox worker sends the code (to the
development SMS directory), and concurrent refreshes race over real TCP connections."""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import serving

PHONE = "+8613800138000"


@pytest.fixture(scope="module")
def login_service(
    db_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path]]:
    sms_dir = tmp_path_factory.mktemp("sms")
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "LOYALTY_LOG_LEVEL": "WARNING",
        "LOYALTY_JOBS_IN_PROCESS": "1",
        "LOYALTY_OUTBOX_INTERVAL": "1",
        "LOYALTY_DEV_SMS_DIR": str(sms_dir),
    }
    with serving(env, "--migrate") as base:
        yield base, sms_dir


SMS_WAIT_SECONDS = 10


async def sms_code(sms_dir: Path, phone: str, *, previous: int = 0) -> str:
    """Waits for the worker to deliver the (previous+1)-th SMS to the phone."""
    path = sms_dir / f"{phone}.txt"
    deadline = time.monotonic() + SMS_WAIT_SECONDS
    while time.monotonic() < deadline:
        lines = path.read_text().splitlines() if path.exists() else []
        if len(lines) > previous:
            match = re.search(r"\b(\d{6})\b", lines[previous])
            assert match is not None, lines[previous]
            return match.group(1)
        await asyncio.sleep(0.2)
    pytest.fail(f"no SMS to {phone} within {SMS_WAIT_SECONDS} s")


@pytest.fixture
async def http(login_service: tuple[str, Path], clean_db: str) -> Any:
    base, sms_dir = login_service
    for old in sms_dir.iterdir():
        old.unlink()
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        yield client, sms_dir


async def test_a_member_logs_in_with_the_code_the_worker_sent(http: Any) -> None:
    client, sms_dir = http

    asked = await client.post("/v1/auth/otp", json={"phone": PHONE})
    code = await sms_code(sms_dir, PHONE)
    verified = await client.post("/v1/auth/otp/verify", json={"phone": PHONE, "code": code})

    assert asked.status_code == 202
    assert verified.status_code == 200, verified.text
    token = verified.json()["access_token"]
    me = await client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200


async def test_two_refreshes_of_one_token_at_once_let_exactly_one_through(http: Any) -> None:
    client, sms_dir = http
    await client.post("/v1/auth/otp", json={"phone": PHONE})
    code = await sms_code(sms_dir, PHONE)
    session = (await client.post("/v1/auth/otp/verify", json={"phone": PHONE, "code": code})).json()

    answers = await asyncio.gather(
        *(
            client.post("/v1/auth/refresh", json={"refresh_token": session["refresh_token"]})
            for _ in range(2)
        )
    )

    assert sorted(a.status_code for a in answers) == [200, 401]
