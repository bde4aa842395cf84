"""Admin tokens from an identity provider, through HTTP: RS256/ES256 against a local JWKS."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import asyncpg
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from litestar import Litestar

from app.settings import Settings
from app.wiring.composition import build_tokens
from tests.api.client import Api, bearer
from tests.support.jwks import AUDIENCE, ISSUER, IdentityProvider, serve_identity_provider


@pytest.fixture
def idp(app: Litestar, api: Api, settings: Settings) -> Iterator[IdentityProvider]:
    """The running app switched to identity-provider admin tokens for one test."""
    container = app.state.container
    previous = container.tokens
    with serve_identity_provider() as provider:
        configured = Settings(
            admin_jwks_url=provider.url, admin_jwt_issuer=ISSUER, admin_jwt_audience=AUDIENCE
        )
        container.tokens = build_tokens(configured, container.clock)
        try:
            yield provider
        finally:
            container.tokens = previous


@pytest.mark.parametrize("kid", ["rsa-1", "ec-1"], ids=["RS256", "ES256"])
async def test_an_identity_provider_token_is_an_admin(
    api: Api, idp: IdentityProvider, kid: str
) -> None:
    response = await api.client.get("/v1/admin/program", headers=bearer(idp.token(kid)))

    assert response.status_code == 200, response.text


async def test_the_admin_subject_comes_from_the_identity_provider(
    api: Api, idp: IdentityProvider, clean_db: str
) -> None:
    headers = {**bearer(idp.token(sub="bob@example.test")), "Idempotency-Key": "store-1"}
    created = await api.client.post(
        "/v1/admin/stores", json={"code": "s1", "name": "S1"}, headers=headers
    )

    assert created.status_code == 201
    connection = await asyncpg.connect(clean_db)
    try:
        actor = await connection.fetchval("SELECT actor FROM audit_log")
    finally:
        await connection.close()
    assert actor == "admin:bob@example.test"


@pytest.mark.parametrize(
    "overrides",
    [
        {"iss": "https://evil.example.test/"},
        {"aud": "another-api"},
        {"exp": datetime.now(UTC) - timedelta(minutes=5)},
        {"sub": None},
    ],
    ids=["issuer", "audience", "expired", "no-subject"],
)
async def test_a_token_failing_the_claims_is_401(
    api: Api, idp: IdentityProvider, overrides: dict[str, object]
) -> None:
    response = await api.client.get("/v1/admin/program", headers=bearer(idp.token(**overrides)))

    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"


async def test_a_key_the_provider_does_not_publish_is_401(api: Api, idp: IdentityProvider) -> None:
    idp.add_key(
        "rogue", rsa.generate_private_key(public_exponent=65537, key_size=2048), publish=False
    )
    response = await api.client.get("/v1/admin/program", headers=bearer(idp.token("rogue")))

    assert response.status_code == 401


async def test_a_token_signed_with_another_key_under_a_published_kid_is_401(
    api: Api, idp: IdentityProvider
) -> None:
    rogue = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.now(UTC)
    token = jwt.encode(
        {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": "mallory",
            "iat": now,
            "exp": now + timedelta(minutes=5),
        },
        rogue,
        algorithm="RS256",
        headers={"kid": "rsa-1"},
    )

    response = await api.client.get("/v1/admin/program", headers=bearer(token))

    assert response.status_code == 401


async def test_hs256_admin_tokens_are_refused_once_a_jwks_is_configured(
    api: Api, idp: IdentityProvider
) -> None:
    cli_admin = api.tokens.issue_admin_token("cli-admin").token

    admin = await api.client.get("/v1/admin/program", headers=bearer(cli_admin))
    member = await api.client.get("/v1/me", headers=api.member_headers(str(uuid4())))

    assert admin.status_code == 401
    assert member.status_code != 401  # the service's own member and POS tokens still work


async def test_the_key_set_is_fetched_once_for_many_requests(
    api: Api, idp: IdentityProvider
) -> None:
    for _ in range(5):
        response = await api.client.get("/v1/admin/program", headers=bearer(idp.token()))
        assert response.status_code == 200

    assert idp.requests == 1
