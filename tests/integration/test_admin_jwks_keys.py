"""The JWKS key cache: rotation picks up new keys, outages keep the old ones, made-up key ids
cannot make the service hammer the identity provider."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from adapters.http.jwks import AdminJwksVerifier, JwksError
from adapters.system import SystemClock
from app.principal import Role
from tests.support.jwks import AUDIENCE, ISSUER, IdentityProvider, serve_identity_provider


@pytest.fixture
def idp() -> Iterator[IdentityProvider]:
    with serve_identity_provider() as provider:
        yield provider


def verifier(idp: IdentityProvider, *, refetch: float, max_age: float = 300) -> AdminJwksVerifier:
    return AdminJwksVerifier(
        idp.url,
        issuer=ISSUER,
        audience=AUDIENCE,
        clock=SystemClock(),
        max_age=max_age,
        min_refetch_interval=refetch,
    )


async def test_a_rotated_in_key_is_fetched_when_a_token_names_it(idp: IdentityProvider) -> None:
    admin = verifier(idp, refetch=0)
    assert (await admin.verify(idp.token("rsa-1"))).role is Role.ADMIN

    idp.add_key("ec-2", ec.generate_private_key(ec.SECP256R1()))
    principal = await admin.verify(idp.token("ec-2", sub="carol"))

    assert principal.subject == "carol"
    assert admin.fetches == 2


async def test_unknown_key_ids_do_not_refetch_within_the_interval(idp: IdentityProvider) -> None:
    admin = verifier(idp, refetch=3600)
    await admin.verify(idp.token("rsa-1"))
    idp.add_key("ec-2", ec.generate_private_key(ec.SECP256R1()), publish=False)

    for _ in range(5):
        with pytest.raises(JwksError):
            await admin.verify(idp.token("ec-2"))

    assert admin.fetches == 1


async def test_an_outage_of_the_provider_keeps_the_cached_keys(idp: IdentityProvider) -> None:
    admin = verifier(idp, refetch=0, max_age=0)  # every request wants a fresh set
    await admin.verify(idp.token("rsa-1"))
    idp.failing = True

    principal = await admin.verify(idp.token("rsa-1"))

    assert principal.role is Role.ADMIN
    assert idp.requests == 2


async def test_hs256_and_none_are_not_admin_algorithms(idp: IdentityProvider) -> None:
    import jwt

    admin = verifier(idp, refetch=0)
    for token in (
        jwt.encode({"sub": "x", "iss": ISSUER, "aud": AUDIENCE}, "k" * 32, algorithm="HS256"),
        jwt.encode({"sub": "x", "iss": ISSUER, "aud": AUDIENCE}, None, algorithm="none"),
    ):
        assert not admin.handles(token)
        with pytest.raises(JwksError):
            await admin.verify(token)
