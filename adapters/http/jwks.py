"""Admin tokens from an identity provider: RS256/ES256, verified against its JWKS.

PyJWKClient fetches the key set with blocking HTTP, so the fetch runs in a worker thread and
the keys are cached here: a request with a known key id never leaves the event loop. The set
is fetched again when it is older than ``max_age`` or a token names an unknown key id (key
rotation), but at most once per ``min_refetch_interval``, so tokens with made-up key ids cannot
make the service hammer the identity provider. If a refetch fails the cached keys stay in use.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import jwt
import structlog

from app.principal import Principal, Role
from domain.ports import Clock
from domain.staff import StaffRole

ALGORITHMS = ("RS256", "ES256")
LEEWAY_SECONDS = 30
log = structlog.get_logger("loyalty.auth")


class JwksError(Exception):
    pass


class AdminJwksVerifier:
    def __init__(
        self,
        url: str,
        *,
        issuer: str,
        audience: str,
        clock: Clock,
        max_age: float = 300.0,
        min_refetch_interval: float = 30.0,
        timeout: float = 5.0,
    ) -> None:
        self._client = jwt.PyJWKClient(url, cache_keys=False, cache_jwk_set=False, timeout=timeout)
        self._issuer = issuer
        self._audience = audience
        self._clock = clock
        self._max_age = max_age
        self._min_refetch_interval = min_refetch_interval
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None  # monotonic time of the last successful fetch
        self._tried_at: float | None = None  # ... of the last attempt
        self._lock = asyncio.Lock()
        self.fetches = 0

    @staticmethod
    def handles(token: str) -> bool:
        """Whether the token is signed with an algorithm this verifier owns."""
        try:
            return jwt.get_unverified_header(token).get("alg") in ALGORITHMS
        except jwt.PyJWTError:
            return False

    async def verify(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise JwksError(str(error)) from None
        algorithm = header.get("alg")
        if algorithm not in ALGORITHMS:
            raise JwksError(f"algorithm {algorithm!r} is not accepted for admin tokens")
        key = await self._key(str(header.get("kid") or ""))
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=[algorithm],
                audience=self._audience,
                issuer=self._issuer,
                options={
                    "require": ["exp", "iat", "iss", "aud", "sub"],
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                },
            )
        except jwt.PyJWTError as error:
            raise JwksError(str(error)) from None
        now = self._clock.now().timestamp()
        if float(claims["exp"]) < now - LEEWAY_SECONDS:
            raise JwksError("the token has expired")
        if float(claims.get("nbf", claims["iat"])) > now + LEEWAY_SECONDS:
            raise JwksError("the token is not yet valid")
        try:
            # The identity provider's `staff_role` claim; absent: owner (as before roles).
            staff_role = StaffRole(str(claims.get("staff_role", StaffRole.OWNER.value)))
        except ValueError:
            raise JwksError("unknown staff_role claim") from None
        return Principal(Role.ADMIN, str(claims["sub"]), staff_role=staff_role)

    async def _key(self, kid: str) -> jwt.PyJWK:
        if not self._stale() and kid in self._keys:
            return self._keys[kid]
        async with self._lock:
            if (self._stale() or kid not in self._keys) and self._may_fetch():
                await self._refresh()
        key = self._keys.get(kid)
        if key is None:
            raise JwksError(f"no key {kid!r} in the identity provider's key set")
        return key

    def _stale(self) -> bool:
        return self._fetched_at is None or time.monotonic() - self._fetched_at > self._max_age

    def _may_fetch(self) -> bool:
        return self._tried_at is None or (
            time.monotonic() - self._tried_at >= self._min_refetch_interval
        )

    async def _refresh(self) -> None:
        self._tried_at = time.monotonic()
        try:
            keys = await asyncio.to_thread(self._fetch)
        except (jwt.PyJWTError, OSError) as error:
            log.warning("jwks.fetch_failed", error=str(error), cached_keys=len(self._keys))
            return
        self._keys = keys
        self._fetched_at = time.monotonic()

    def _fetch(self) -> dict[str, jwt.PyJWK]:
        self.fetches += 1
        key_set = self._client.get_jwk_set(refresh=True)
        return {
            key.key_id: key
            for key in key_set.keys
            if key.key_id and key.public_key_use in (None, "sig")
        }
