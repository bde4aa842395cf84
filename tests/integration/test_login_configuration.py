"""Login configuration: the address a per-IP limit counts, settings, CLI admin tokens."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from litestar import Request

from adapters.http.client_address import client_address, trusted_networks
from app.settings import Settings, SettingsError


def request(peer: str, forwarded: str | None = None) -> Request[Any, Any, Any]:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/auth/otp",
        "headers": headers,
        "client": (peer, 40000),
        "query_string": b"",
        "app": None,
    }
    return Request(scope)  # type: ignore[arg-type]


PROXIES = trusted_networks(("10.0.0.0/8", "192.0.2.1"))


def test_without_trusted_proxies_the_peer_counts_and_the_header_is_ignored() -> None:
    assert client_address(request("203.0.113.9", "198.51.100.1"), ()) == "203.0.113.9"


def test_a_header_from_an_untrusted_peer_is_ignored() -> None:
    assert client_address(request("203.0.113.9", "198.51.100.1"), PROXIES) == "203.0.113.9"


def test_behind_trusted_proxies_the_first_untrusted_hop_from_the_right_counts() -> None:
    # The client claimed 1.1.1.1; the edge proxy saw 198.51.100.7; an inner proxy forwarded.
    forwarded = "1.1.1.1, 198.51.100.7, 192.0.2.1"

    assert client_address(request("10.1.2.3", forwarded), PROXIES) == "198.51.100.7"


def test_a_trusted_peer_without_the_header_is_itself_the_client() -> None:
    assert client_address(request("10.1.2.3"), PROXIES) == "10.1.2.3"


def test_settings_parse_limits_and_refuse_half_configured_identity_providers() -> None:
    settings = Settings.from_env(
        {"LOYALTY_LOGIN_CODES_PER_PHONE": "3/600", "LOYALTY_TRUSTED_PROXIES": "10.0.0.0/8"}
    )
    assert settings.login_codes_per_phone == (3, 600)
    assert settings.trusted_proxies == ("10.0.0.0/8",)
    with pytest.raises(SettingsError, match="5/3600"):
        Settings.from_env({"LOYALTY_LOGIN_CODES_PER_IP": "lots"})
    with pytest.raises(SettingsError, match="ISSUER"):
        Settings.from_env({"LOYALTY_ADMIN_JWKS_URL": "https://idp.example/jwks.json"})
    with pytest.raises(SettingsError, match="LOYALTY_TRUSTED_PROXIES"):
        Settings.from_env({"LOYALTY_TRUSTED_PROXIES": "not-an-address"})
    production = Settings(
        environment="production",
        jwt_secret="p" * 40,
        shop_webhook_secrets=("shop",),
        stripe_webhook_secrets=("stripe",),
        database_url="postgresql://db/loyalty",
        dev_sms_dir=Path("/tmp/sms"),
    )
    with pytest.raises(SettingsError, match="DEV_SMS_DIR"):
        production.check()


def test_the_cli_declines_to_mint_admin_tokens_the_service_would_refuse(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from app.wiring.cli import main

    monkeypatch.setenv("LOYALTY_ADMIN_JWKS_URL", "https://idp.example/jwks.json")
    monkeypatch.setenv("LOYALTY_ADMIN_JWT_ISSUER", "https://idp.example/")
    monkeypatch.setenv("LOYALTY_ADMIN_JWT_AUDIENCE", "loyalty")

    assert main(["token", "admin", "--subject", "ops"]) == 1
    assert "identity provider" in capsys.readouterr().err


def test_console_identity_provider_settings_go_together() -> None:
    complete = {
        "LOYALTY_OIDC_ISSUER": "https://idp.example",
        "LOYALTY_OIDC_CLIENT_ID": "console",
        "LOYALTY_OIDC_CLIENT_SECRET": "s3cret",
        "LOYALTY_OIDC_ALLOWED_DOMAINS": "shop.cn, corp.shop.cn",
    }
    settings = Settings.from_env(complete)
    assert settings.oidc_allowed_domains == ("shop.cn", "corp.shop.cn")
    for missing in ("LOYALTY_OIDC_ISSUER", "LOYALTY_OIDC_CLIENT_ID", "LOYALTY_OIDC_CLIENT_SECRET"):
        with pytest.raises(SettingsError, match="LOYALTY_OIDC_CLIENT_SECRET go together"):
            Settings.from_env({k: v for k, v in complete.items() if k != missing})
