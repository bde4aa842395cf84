"""Tokens: 401 when missing or not to be trusted, 403 when valid but of the wrong role."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from app.settings import Settings
from tests.api.client import Api, bearer


def _token(settings: Settings, **overrides: object) -> str:
    now = datetime.now(UTC)
    claims: dict[str, object] = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": "someone",
        "role": "admin",
        "iat": now,
        "nbf": now,
        "exp": now + timedelta(minutes=5),
    }
    claims.update(overrides)
    return jwt.encode(
        {k: v for k, v in claims.items() if v is not None}, settings.jwt_secret, algorithm="HS256"
    )


async def test_a_request_without_a_token_is_401_with_a_problem(api: Api) -> None:
    response = await api.client.get("/v1/admin/program")

    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["code"] == "unauthenticated"


@pytest.mark.parametrize(
    "header",
    ["Bearer", "Basic dXNlcjpwYXNz", "Bearer not.a.jwt", "Bearer " + "x" * 300],
    ids=["empty", "basic", "garbage", "long"],
)
async def test_a_malformed_authorization_header_is_401(api: Api, header: str) -> None:
    response = await api.client.get("/v1/admin/program", headers={"Authorization": header})

    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"


@pytest.mark.parametrize(
    "overrides",
    [
        {"exp": datetime.now(UTC) - timedelta(minutes=5)},
        {"nbf": datetime.now(UTC) + timedelta(minutes=5)},
        {"iss": "someone-else"},
        {"aud": "another-api"},
        {"role": "superuser"},
        {"exp": None},
        {"sub": None},
    ],
    ids=["expired", "not-yet-valid", "issuer", "audience", "unknown-role", "no-exp", "no-sub"],
)
async def test_a_token_that_cannot_be_trusted_is_401(
    api: Api, settings: Settings, overrides: dict[str, object]
) -> None:
    response = await api.client.get(
        "/v1/admin/program", headers=bearer(_token(settings, **overrides))
    )

    assert response.status_code == 401


async def test_a_token_signed_with_another_secret_is_401(api: Api, settings: Settings) -> None:
    forged = jwt.encode(
        jwt.decode(_token(settings), options={"verify_signature": False}, algorithms=["HS256"]),
        "another-secret-that-is-long-enough-for-hs256!!",
        algorithm="HS256",
    )
    response = await api.client.get("/v1/admin/program", headers=bearer(forged))

    assert response.status_code == 401


async def test_an_unsigned_alg_none_token_is_401(api: Api, settings: Settings) -> None:
    claims = jwt.decode(_token(settings), options={"verify_signature": False})
    unsigned = jwt.encode(claims, key=None, algorithm="none")  # type: ignore[arg-type]

    response = await api.client.get("/v1/admin/program", headers=bearer(unsigned))

    assert response.status_code == 401


async def test_each_area_refuses_the_other_roles_with_403(api: Api) -> None:
    till = await api.open_till()
    member = await till.enrol()
    member_headers = api.member_headers(member["member_id"])
    pos_headers = till.headers()

    assert (await api.client.get("/v1/admin/program", headers=pos_headers)).status_code == 403
    assert (await api.client.get("/v1/admin/program", headers=member_headers)).status_code == 403
    assert (await api.client.get("/v1/me", headers=pos_headers)).status_code == 403
    assert (await api.client.get("/v1/me", headers=api.admin_headers)).status_code == 403
    lookup = "/v1/pos/members/lookup?phone=13800138000"
    assert (await api.client.get(lookup, headers=member_headers)).status_code == 403
    assert (await api.client.get(lookup, headers=api.admin_headers)).status_code == 403
    forbidden = await api.client.post(
        "/v1/pos/sales",
        json={"receipt_id": "R", "lines": [{"sku": "A", "quantity": 1, "unit_price": 1}]},
        headers={**member_headers, "Idempotency-Key": "k"},
    )
    assert forbidden.status_code == 403
    assert forbidden.json()["code"] == "forbidden"


async def test_a_terminal_with_a_wrong_secret_or_unknown_id_gets_one_answer(api: Api) -> None:
    store = await api.create_store()
    terminal = await api.create_terminal(store["store_id"])

    wrong = await api.client.post(
        "/v1/auth/terminal-token",
        json={"terminal_id": terminal["terminal_id"], "secret": "not-the-secret"},
    )
    unknown = await api.client.post(
        "/v1/auth/terminal-token",
        json={"terminal_id": "00000000-0000-4000-8000-000000000000", "secret": "x"},
    )

    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.json()["code"] == "invalid_credentials"


async def test_a_terminal_token_is_bound_to_its_store_and_terminal(api: Api) -> None:
    till = await api.open_till()
    claims = jwt.decode(till.token, options={"verify_signature": False})

    assert claims["role"] == "pos"
    assert claims["store_id"] == till.store_id
    assert claims["terminal_id"] == till.terminal_id
    assert claims["sub"] == till.terminal_id
