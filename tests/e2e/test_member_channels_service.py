"""A served process configured as production with LOYALTY_MESSAGES=live: a login code reaches
the (local fake of) Aliyun's SMS API, signed, and the member logs in with it; a notice reaches
the local SMTP server; and production refuses to start without a word on messages."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import asyncpg
import httpx
import pytest

from tests.e2e.conftest import BIN, serving
from tests.support.channel_fakes import (
    KEY_ID,
    KEY_SECRET,
    SIGN_NAME,
    TEMPLATES,
    FakeAliyunSms,
    Mailbox,
    aliyun_sms_server,
    smtp_server,
)

PHONE = "+8613800138000"
WAIT_SECONDS = 15
PRODUCTION = {
    "LOYALTY_ENV": "production",
    "LOYALTY_JWT_SECRET": "e2e-production-secret-" + "x" * 20,
    "LOYALTY_SHOP_WEBHOOK_SECRET": "e2e-shop-secret",
    "STRIPE_WEBHOOK_SECRET": "whsec_e2e",
    "LOYALTY_LOG_LEVEL": "WARNING",
}


@pytest.fixture(scope="module")
def live(db_url: str) -> Iterator[tuple[str, FakeAliyunSms, Mailbox]]:
    with aliyun_sms_server() as (sms, endpoint), smtp_server() as (mailbox, smtp_port):
        env = {
            **os.environ,
            **PRODUCTION,
            "DATABASE_URL": db_url,
            "LOYALTY_JOBS_IN_PROCESS": "1",
            "LOYALTY_OUTBOX_INTERVAL": "1",
            "LOYALTY_MESSAGES": "live",
            "LOYALTY_ALIYUN_ACCESS_KEY_ID": KEY_ID,
            "LOYALTY_ALIYUN_ACCESS_KEY_SECRET": KEY_SECRET,
            "LOYALTY_ALIYUN_SMS_SIGN_NAME": SIGN_NAME,
            "LOYALTY_ALIYUN_SMS_TEMPLATES": TEMPLATES,
            "LOYALTY_ALIYUN_SMS_ENDPOINT": endpoint,
            "LOYALTY_SMTP_HOST": "127.0.0.1",
            "LOYALTY_SMTP_PORT": str(smtp_port),
            "LOYALTY_SMTP_SECURITY": "none",
            "LOYALTY_SMTP_FROM": "members@shop.example",
        }
        with serving(env, "--migrate") as base:
            yield base, sms, mailbox


async def wait_for(check: Any) -> Any:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        await asyncio.sleep(0.2)
    pytest.fail(f"nothing arrived within {WAIT_SECONDS} s")


async def test_a_login_code_reaches_the_sms_api_from_the_served_process_and_logs_in(
    live: tuple[str, FakeAliyunSms, Mailbox], clean_db: str
) -> None:
    base, sms, _ = live
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        asked = await client.post("/v1/auth/otp", json={"phone": PHONE})
        codes = await wait_for(lambda: sms.codes_to("13800138000"))
        verified = await client.post(
            "/v1/auth/otp/verify", json={"phone": PHONE, "code": codes[-1]}
        )

    assert asked.status_code == 202
    assert verified.status_code == 200, verified.text
    assert sms.refused == []
    sent = next(p for p in sms.sent if p["PhoneNumbers"] == "13800138000")
    assert (sent["SignName"], sent["TemplateCode"]) == (SIGN_NAME, "SMS_100")  # zh-CN


async def test_a_coupon_notice_reaches_the_smtp_server_from_the_served_process(
    live: tuple[str, FakeAliyunSms, Mailbox], clean_db: str
) -> None:
    _, _, mailbox = live
    member_id = uuid4()
    now = datetime.now(UTC)
    connection = await asyncpg.connect(clean_db)
    try:
        await connection.execute(
            "INSERT INTO members (id, phone, email, preferred_language, tier_code, enrolled_at,"
            " consent_email) VALUES ($1, '+8613900000001', 'mei@example.com', 'en', 'member',"
            " $2, true)",
            member_id,
            now,
        )
        await connection.execute(
            "INSERT INTO outbox (kind, member_id, payload, created_at, next_attempt_at, attempts)"
            " VALUES ('coupon_issued', $1, $2::jsonb, $3, $3, 0)",
            member_id,
            '{"title": "5 off", "expires_at": "2030-01-01T00:00:00+00:00", "source": "campaign"}',
            now,
        )
    finally:
        await connection.close()

    await wait_for(lambda: [m for m in mailbox.messages if m["To"] == "mei@example.com"])

    mail = next(m for m in mailbox.messages if m["To"] == "mei@example.com")
    assert mail["Subject"] == "You have a new coupon"
    assert "5 off" in str(mail.get_content())


def test_production_refuses_to_start_without_saying_whether_messages_leave(db_url: str) -> None:
    env = {**os.environ, **PRODUCTION, "DATABASE_URL": db_url}
    env.pop("LOYALTY_MESSAGES", None)

    result = subprocess.run(
        [str(BIN / "loyalty"), "serve", "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode != 0
    assert "LOYALTY_MESSAGES" in result.stdout + result.stderr
