"""JSON Web Tokens: HS256 signed with the configured secret, with issuer and audience.

Only HS256 is accepted on verification, so "alg: none" and algorithm-confusion tokens fail.
"""

from __future__ import annotations

from datetime import timedelta
from itertools import islice
from typing import Any
from uuid import UUID

import jwt

from adapters.http.jwks import AdminJwksVerifier, JwksError
from app.principal import IssuedToken, Principal, Role
from domain.ports import Clock
from domain.staff import StaffRole

ALGORITHM = "HS256"
LEEWAY = timedelta(seconds=30)
# Verified tokens remembered per process (a few hundred bytes each); see TokenService.verify.
VERIFIED_CACHE_SIZE = 10_000


class InvalidToken(Exception):
    pass


class TokenService:
    def __init__(
        self,
        *,
        secret: str,
        issuer: str,
        audience: str,
        clock: Clock,
        ttl_seconds: dict[Role, int],
        admin_verifier: AdminJwksVerifier | None = None,
    ) -> None:
        self._admin_verifier = admin_verifier
        self._secret = secret
        self._issuer = issuer
        self._audience = audience
        self._clock = clock
        self._ttl = ttl_seconds
        # token -> (principal, exp, the later of nbf and iat)
        self._verified: dict[str, tuple[Principal, float, float]] = {}

    def issue(self, principal: Principal, ttl_seconds: int | None = None) -> IssuedToken:
        ttl = ttl_seconds or self._ttl[principal.role]
        now = self._clock.now()
        claims: dict[str, Any] = {
            "iss": self._issuer,
            "aud": self._audience,
            "sub": principal.subject,
            "role": principal.role.value,
            "iat": now,
            "nbf": now,
            "exp": now + timedelta(seconds=ttl),
        }
        if principal.store_id:
            claims["store_id"] = str(principal.store_id)
        if principal.terminal_id:
            claims["terminal_id"] = str(principal.terminal_id)
        if principal.credential_version is not None:
            claims["ver"] = principal.credential_version
        if principal.role is Role.ADMIN:
            claims["staff_role"] = (principal.staff_role or StaffRole.OWNER).value
        return IssuedToken(jwt.encode(claims, self._secret, algorithm=ALGORITHM), ttl)

    def verify(self, token: str) -> Principal:
        """The caller a token names, if it is ours, for us, and valid now.

        A till or an app sends the same token with every request for up to an hour, and
        PyJWT's checks cost more CPU than the rest of a lookup. So a token whose signature and
        claims were verified once is remembered, keyed by its exact text: a hit is the very
        bytes that were verified, under this process's one secret, and its time claims are
        checked again against the clock on every use, so it expires exactly as before.
        The cache answers only what the token itself says. What happened since it was issued
        is for the caller to check on every request: a member token of an erased member is
        refused by the member area's check against the database (adapters/http/auth.py), and a
        POS token of a terminal deactivated, or whose secret was rotated, by the POS area's;
        a remembered token passes through them like any other, so remembering changes no
        answer.
        Refused tokens are never remembered.
        """
        known = self._verified.get(token)
        if known is not None:
            principal, expires, not_before = known
            try:
                self._check_times(expires, not_before)
            except InvalidToken:
                self._verified.pop(token, None)
                raise
            return principal
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                # Time claims are checked below against the injected clock, not the wall clock.
                options={
                    "require": ["exp", "iat", "nbf", "iss", "aud", "sub"],
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                },
            )
            expires = float(claims["exp"])
            not_before = max(float(claims["nbf"]), float(claims["iat"]))
            self._check_times(expires, not_before)
            principal = _principal(claims)
        except (jwt.PyJWTError, ValueError, KeyError, TypeError) as error:
            raise InvalidToken(str(error)) from None
        self._remember(token, principal, expires, not_before)
        return principal

    def _check_times(self, expires: float, not_before: float) -> None:
        now = self._clock.now().timestamp()
        leeway = LEEWAY.total_seconds()
        if expires < now - leeway:
            raise InvalidToken("the token has expired")
        if not_before > now + leeway:
            raise InvalidToken("the token is not yet valid")

    def _remember(
        self, token: str, principal: Principal, expires: float, not_before: float
    ) -> None:
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            now = self._clock.now().timestamp() - LEEWAY.total_seconds()
            self._verified = {t: v for t, v in self._verified.items() if v[1] >= now}
            if len(self._verified) >= VERIFIED_CACHE_SIZE:
                # All still valid: forget the quarter remembered longest ago (dicts keep the
                # order of insertion); a token forgotten is only verified again.
                for forgotten in list(islice(self._verified, VERIFIED_CACHE_SIZE // 4 or 1)):
                    del self._verified[forgotten]
        self._verified[token] = (principal, expires, not_before)

    async def authenticate(self, token: str) -> Principal:
        """What the HTTP guard calls: identity-provider admin tokens when a JWKS is configured
        (and then no HS256 admin token: a leaked service secret must not mint admins), the
        service's own HS256 tokens otherwise."""
        if self._admin_verifier is None:
            return self.verify(token)
        if self._admin_verifier.handles(token):
            try:
                return await self._admin_verifier.verify(token)
            except JwksError as error:
                raise InvalidToken(str(error)) from None
        principal = self.verify(token)
        if principal.role is Role.ADMIN:
            raise InvalidToken("admin tokens come from the identity provider")
        return principal

    def issue_admin_token(
        self,
        subject: str,
        ttl_seconds: int | None = None,
        staff_role: StaffRole = StaffRole.OWNER,
    ) -> IssuedToken:
        return self.issue(Principal(Role.ADMIN, subject, staff_role=staff_role), ttl_seconds)

    def issue_member_token(self, member_id: UUID, ttl_seconds: int | None = None) -> IssuedToken:
        return self.issue(Principal(Role.MEMBER, str(member_id), member_id=member_id), ttl_seconds)

    def for_terminal(
        self, terminal_id: UUID, store_id: UUID, secret_version: int = 1
    ) -> IssuedToken:
        return self.issue(
            Principal(
                Role.POS,
                str(terminal_id),
                store_id=store_id,
                terminal_id=terminal_id,
                credential_version=secret_version,
            )
        )


def _principal(claims: dict[str, Any]) -> Principal:
    role = Role(str(claims.get("role")))
    subject = str(claims["sub"])
    if role is Role.POS:
        return Principal(
            role,
            subject,
            store_id=UUID(claims["store_id"]),
            terminal_id=UUID(claims["terminal_id"]),
            # Tokens issued before secrets had versions were issued under the first one.
            credential_version=int(claims.get("ver", 1)),
        )
    if role is Role.MEMBER:
        return Principal(role, subject, member_id=UUID(subject))
    if role is Role.ADMIN:
        return Principal(role, subject, staff_role=staff_role_claim(claims))
    return Principal(role, subject)


def staff_role_claim(claims: dict[str, Any]) -> StaffRole:
    """An admin token's `staff_role` claim; absent means owner (tokens from before roles).
    An unknown value is a bad token (ValueError), never a default."""
    return StaffRole(str(claims.get("staff_role", StaffRole.OWNER.value)))
