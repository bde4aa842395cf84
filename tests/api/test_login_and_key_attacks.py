"""Attacks on login (issue #8, item 4): key confusion on admin tokens, code guessing at scale.

One phone's five-guess limit and its code rate limit are in test_member_login.py; here one
client guesses across many phones, and an attacker signs an HS256 token with the identity
provider's public key, which they can read from the JWKS.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

from cryptography.hazmat.primitives import serialization

from app.settings import Settings
from tests.api.client import Api, bearer
from tests.api.test_admin_jwks import idp
from tests.api.test_member_login import request_code
from tests.support.jwks import AUDIENCE, ISSUER, IdentityProvider

__all__ = ["idp"]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs256_signed_with(secret: bytes, kid: str) -> str:
    """Signed by hand: PyJWT itself refuses to use a PEM public key as an HMAC secret."""
    now = int(time.time())
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "mallory", "iat": now, "exp": now + 300}
    payload = _b64(json.dumps(claims).encode())
    signature = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


async def test_an_hs256_token_signed_with_the_providers_public_key_is_401(
    api: Api, idp: IdentityProvider
) -> None:
    public = idp.keys["rsa-1"].public_key()
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    jwk = json.dumps(idp.jwks()["keys"][0]).encode()
    genuine = await api.client.get("/v1/admin/program", headers=bearer(idp.token("rsa-1")))

    forged = [
        await api.client.get(
            "/v1/admin/program", headers=bearer(hs256_signed_with(secret, "rsa-1"))
        )
        for secret in (pem, jwk)
    ]

    assert genuine.status_code == 200, genuine.text
    assert [f.status_code for f in forged] == [401, 401]
    assert {f.json()["code"] for f in forged} == {"unauthenticated"}


async def test_guessing_codes_across_many_phones_from_one_client_is_rate_limited(
    api: Api, clean_db: str, settings: Settings
) -> None:
    limit, _ = settings.login_guesses_per_ip
    answers = [
        await api.client.post(
            "/v1/auth/otp/verify", json={"phone": f"+86139{n:08d}", "code": "123456"}
        )
        for n in range(limit + 1)
    ]
    code = await request_code(api, clean_db, "+8613800138000")

    right = await api.client.post(
        "/v1/auth/otp/verify", json={"phone": "+8613800138000", "code": code}
    )

    assert {a.status_code for a in answers[:limit]} == {401}
    assert len({a.text for a in answers[:limit]}) == 1, "one uniform answer"
    assert answers[limit].status_code == 429
    assert answers[limit].json()["code"] == "rate_limited"
    assert int(answers[limit].headers["retry-after"]) >= 1
    assert right.status_code == 429, "the limit holds even for the right code"
