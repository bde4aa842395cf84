"""Logging in by OTP on a development machine in two requests (issue #17, item 9): the code
reaches the developer (the console SMS stand-in prints it; `loyalty dev otp` shows the last
one), and production never logs or prints it."""

from __future__ import annotations

import asyncio
import io

import pytest

import adapters.notifications
from adapters.notifications import ConsoleSmsSender, LogSmsSender
from app.settings import Settings
from app.wiring.cli import main
from app.wiring.composition import sms_sender
from domain.notifications import login_code_text
from tests.api.client import Api
from tests.api.test_member_login import deliver
from tests.support.logs import Recorder

PHONE = "+8613800138000"
CODE = "482913"

PRODUCTION = Settings(
    environment="production",
    jwt_secret="p" * 40,
    shop_webhook_secrets=("shop",),
    stripe_webhook_secrets=("stripe",),
    database_url="postgresql://db/loyalty",
    messages="none",
)


@pytest.fixture
def logs(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    recorder = Recorder()
    monkeypatch.setattr(adapters.notifications, "log", recorder)
    return recorder


async def test_production_sends_sms_through_the_masked_log_and_never_shows_the_code(
    capsys: pytest.CaptureFixture[str], logs: Recorder
) -> None:
    PRODUCTION.check()
    sender = sms_sender(PRODUCTION)

    await sender.send(PHONE, login_code_text(CODE, 5))

    assert isinstance(sender, LogSmsSender)
    assert logs.events() == ["sms.sent"]
    printed = capsys.readouterr()
    assert CODE not in printed.out + printed.err
    assert CODE not in str(logs.lines)
    assert "13800138000" not in str(logs.lines)


async def test_a_development_machine_prints_the_code_prominently(logs: Recorder) -> None:
    sender = sms_sender(Settings())
    stream = io.StringIO()

    await ConsoleSmsSender(stream).send(PHONE, login_code_text(CODE, 5))

    assert isinstance(sender, ConsoleSmsSender)
    assert f"DEVELOPMENT SMS to {PHONE}" in stream.getvalue()
    assert f"Your login code is {CODE}" in stream.getvalue()


async def test_two_requests_log_in_with_the_code_loyalty_dev_otp_prints(
    api: Api,
    clean_db: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", clean_db)
    monkeypatch.delenv("LOYALTY_ENV", raising=False)
    assert await asyncio.to_thread(main, ["dev", "otp", "--phone", PHONE]) == 1  # nothing asked yet
    capsys.readouterr()

    asked = await api.client.post("/v1/auth/otp", json={"phone": "138 0013 8000"})
    assert asked.status_code == 202
    assert await asyncio.to_thread(main, ["dev", "otp", "--phone", "138 0013 8000"]) == 0
    code = capsys.readouterr().out.strip()
    verified = await api.client.post("/v1/auth/otp/verify", json={"phone": PHONE, "code": code})

    assert verified.status_code == 200, verified.text
    assert verified.json()["refresh_token"]
    # Once the outbox sent it, the sealed code is gone; the CLI says where it went instead.
    sms = await deliver(clean_db)
    assert sms.last_code(PHONE) == code
    assert await asyncio.to_thread(main, ["dev", "otp", "--phone", PHONE]) == 1
    assert "already sent" in capsys.readouterr().err


def test_loyalty_dev_otp_is_refused_in_production(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LOYALTY_ENV", "production")
    monkeypatch.setenv("LOYALTY_JWT_SECRET", "p" * 40)
    monkeypatch.setenv("LOYALTY_SHOP_WEBHOOK_SECRET", "shop-secret")
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", "whsec_production")
    monkeypatch.setenv("DATABASE_URL", "postgresql://nowhere.invalid/loyalty")
    monkeypatch.setenv("LOYALTY_MESSAGES", "none")

    assert main(["dev", "otp", "--phone", PHONE]) == 2
    assert "refused" in capsys.readouterr().err
