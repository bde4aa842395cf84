"""Staff login through an OpenID Connect provider: authorization code flow with PKCE (S256),
state and nonce (docs/console.md, "Identity provider").

The ID token is verified by PyJWT (already the service's JWT library, with the crypto extra)
against the provider's JWKS: signature (RS256/ES256 only, never `none` or HMAC), issuer,
audience (the client id; `azp` too when the audience is several), expiry and issue time with
30 s leeway on the service's clock, and the nonce. The e-mail must be present and
`email_verified` true, and, when allowed domains are configured, end in one of them. Discovery
and the key set are fetched with httpx (async) and cached; an unknown key id refetches the set
at most once per ``min_refetch_interval``, so made-up key ids cannot hammer the provider.
Authlib was not added: the flow is four HTTP exchanges, and every cryptographic step (JWKS
parsing, signature and claim checks) is PyJWT's.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
import time
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt
import structlog

from domain.ports import Clock
from domain.staff import AuthorizationRequest, IdentityRefused, VerifiedIdentity

ALGORITHMS = ("RS256", "ES256")
LEEWAY_SECONDS = 30
log = structlog.get_logger("loyalty.oidc")


def code_challenge(verifier: str) -> str:
    """PKCE S256 (RFC 7636 4.2): BASE64URL(SHA256(ASCII(code_verifier))), unpadded."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class OidcProvider:
    def __init__(
        self,
        issuer: str,
        client_id: str,
        client_secret: str,
        *,
        clock: Clock,
        allowed_domains: tuple[str, ...] = (),
        scopes: str = "openid email profile",
        max_age: float = 300.0,
        min_refetch_interval: float = 30.0,
        timeout: float = 5.0,
    ) -> None:
        self.issuer = issuer
        self._client_id = client_id
        self._client_secret = client_secret
        self._clock = clock
        self._allowed = tuple(d.lower().lstrip("@") for d in allowed_domains)
        self._scopes = scopes
        self._max_age = max_age
        self._min_refetch_interval = min_refetch_interval
        self._timeout = timeout
        self._metadata: dict[str, Any] | None = None
        self._metadata_at = 0.0
        self._keys: dict[str, jwt.PyJWK] = {}
        self._keys_at: float | None = None
        self._keys_tried_at: float | None = None
        self._lock = asyncio.Lock()

    # Discovery and keys ------------------------------------------------------------------

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            async with httpx.AsyncClient(timeout=self._timeout) as client:
                response = await client.get(url, headers={"Accept": "application/json"})
            response.raise_for_status()
            body = response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise IdentityRefused(f"fetching {url} failed: {error}") from None
        if not isinstance(body, dict):
            raise IdentityRefused(f"{url} did not answer a JSON object")
        return body

    async def metadata(self) -> dict[str, Any]:
        if self._metadata is None or time.monotonic() - self._metadata_at > self._max_age:
            url = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
            found = await self._get_json(url)
            # OIDC Discovery 4.3: the document's issuer is exactly the configured one.
            if found.get("issuer") != self.issuer:
                raise IdentityRefused("the discovery document names another issuer")
            for field in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
                if not isinstance(found.get(field), str):
                    raise IdentityRefused(f"the discovery document has no {field}")
            self._metadata, self._metadata_at = found, time.monotonic()
        return self._metadata

    async def _key(self, kid: str) -> jwt.PyJWK:
        stale = self._keys_at is None or time.monotonic() - self._keys_at > self._max_age
        if stale or kid not in self._keys:
            async with self._lock:
                may = self._keys_tried_at is None or (
                    time.monotonic() - self._keys_tried_at >= self._min_refetch_interval
                )
                if (stale or kid not in self._keys) and (stale or may):
                    await self._refresh_keys()
        key = self._keys.get(kid)
        if key is None:
            raise IdentityRefused(f"no key {kid!r} in the provider's key set")
        return key

    async def _refresh_keys(self) -> None:
        self._keys_tried_at = time.monotonic()
        uri = (await self.metadata())["jwks_uri"]
        try:
            key_set = jwt.PyJWKSet.from_dict(await self._get_json(uri))
        except jwt.PyJWTError as error:
            log.warning("oidc.jwks_unusable", error=str(error))
            return
        self._keys = {
            key.key_id: key
            for key in key_set.keys
            if key.key_id and key.public_key_use in (None, "sig")
        }
        self._keys_at = time.monotonic()

    # The flow ------------------------------------------------------------------------------

    async def authorization_request(self, redirect_uri: str) -> AuthorizationRequest:
        endpoint = (await self.metadata())["authorization_endpoint"]
        state = secrets.token_urlsafe(32)
        nonce = secrets.token_urlsafe(32)
        verifier = secrets.token_urlsafe(48)  # 64 characters, within RFC 7636's 43-128
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self._client_id,
                "redirect_uri": redirect_uri,
                "scope": self._scopes,
                "state": state,
                "nonce": nonce,
                "code_challenge": code_challenge(verifier),
                "code_challenge_method": "S256",
            }
        )
        separator = "&" if "?" in endpoint else "?"
        return AuthorizationRequest(f"{endpoint}{separator}{query}", state, nonce, verifier)

    async def identity(
        self, code: str, *, code_verifier: str, nonce: str, redirect_uri: str
    ) -> VerifiedIdentity:
        id_token = await self._exchange(code, code_verifier, redirect_uri)
        claims = await self._verify(id_token, nonce)
        email = claims.get("email")
        if not isinstance(email, str) or "@" not in email:
            raise IdentityRefused("the ID token carries no e-mail")
        if claims.get("email_verified") is not True:
            raise IdentityRefused("the provider does not say the e-mail is verified")
        email = email.strip().lower()
        if self._allowed and email.rsplit("@", 1)[1] not in self._allowed:
            raise IdentityRefused("the e-mail's domain is not allowed")
        return VerifiedIdentity(email=email, subject=str(claims["sub"]), issuer=self.issuer)

    async def _exchange(self, code: str, verifier: str, redirect_uri: str) -> str:
        endpoint = (await self.metadata())["token_endpoint"]
        try:
            async with httpx.AsyncClient(timeout=self._timeout) as client:
                response = await client.post(
                    endpoint,
                    data={
                        "grant_type": "authorization_code",
                        "code": code,
                        "redirect_uri": redirect_uri,
                        "code_verifier": verifier,
                    },
                    # client_secret_basic, the default method (OIDC Core 9)
                    auth=(self._client_id, self._client_secret),
                    headers={"Accept": "application/json"},
                )
            body = response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise IdentityRefused(f"the token exchange failed: {error}") from None
        if response.status_code != 200 or not isinstance(body, dict):
            raise IdentityRefused(f"the token endpoint answered {response.status_code}")
        id_token = body.get("id_token")
        if not isinstance(id_token, str):
            raise IdentityRefused("the token endpoint returned no ID token")
        return id_token

    async def _verify(self, id_token: str, nonce: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(id_token)
        except jwt.PyJWTError as error:
            raise IdentityRefused(str(error)) from None
        algorithm = header.get("alg")
        if algorithm not in ALGORITHMS:
            raise IdentityRefused(f"algorithm {algorithm!r} is not accepted")
        key = await self._key(str(header.get("kid") or ""))
        try:
            claims: dict[str, Any] = jwt.decode(
                id_token,
                key.key,
                algorithms=[algorithm],
                audience=self._client_id,
                issuer=self.issuer,
                options={
                    "require": ["exp", "iat", "iss", "aud", "sub"],
                    # checked below against the service's clock, like every other token
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                },
            )
        except jwt.PyJWTError as error:
            raise IdentityRefused(str(error)) from None
        now = self._clock.now().timestamp()
        if float(claims["exp"]) < now - LEEWAY_SECONDS:
            raise IdentityRefused("the ID token has expired")
        if float(claims["iat"]) > now + LEEWAY_SECONDS:
            raise IdentityRefused("the ID token was issued in the future")
        audience = claims["aud"]
        if (
            isinstance(audience, list)
            and len(audience) > 1
            and claims.get("azp") != self._client_id
        ):
            raise IdentityRefused("the ID token's authorised party is another client")
        presented = claims.get("nonce")
        if not isinstance(presented, str) or not hmac.compare_digest(
            presented.encode(), nonce.encode()
        ):
            raise IdentityRefused("the ID token's nonce is not this login's")
        return claims
