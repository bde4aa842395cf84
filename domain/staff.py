"""Staff of the back office: accounts, roles, set-password links and console sessions.

- A staff member has an e-mail (lower-cased, unique), a display name, one role and a status.
  An account is created *invited*: it has no password until its holder opens the one-time
  set-password link. Disabled accounts cannot log in and lose their sessions.
- A set-password link carries a random token shown once; only its SHA-256 is stored (256 bits
  of entropy need no slow hash). It is single-use and expires after SET_PASSWORD_TTL.
- A console session is a random id in an HttpOnly cookie, stored only as its SHA-256. It ends
  after IDLE_TIMEOUT without a request, after ABSOLUTE_TIMEOUT whatever happens, at logout,
  and when the member's password, role or status changes (every session of the member is
  revoked). A session opened by a correct password of an account with a second factor is
  *pending* until the TOTP code is given; a pending session authorises nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol
from uuid import UUID

from domain.errors import Conflict, InvalidInput, NotFound, RuleViolation

SET_PASSWORD_TTL = timedelta(hours=24)
IDLE_TIMEOUT = timedelta(minutes=30)
ABSOLUTE_TIMEOUT = timedelta(hours=12)
# A password step passed, the TOTP code not yet given: the pending session lasts this long.
SECOND_FACTOR_TTL = timedelta(minutes=5)
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256  # argon2 would take any length; a megabyte "password" is an attack
TOKEN_BYTES = 32


class StaffRole(StrEnum):
    OWNER = "owner"
    MARKETING = "marketing"
    SERVICE = "service"
    ANALYST = "analyst"


class StaffStatus(StrEnum):
    INVITED = "invited"  # no password yet
    ACTIVE = "active"
    DISABLED = "disabled"


class StaffExists(Conflict):
    code = "staff_exists"
    title = "A staff member with this e-mail already exists"


class StaffNotFound(NotFound):
    code = "staff_not_found"
    title = "No such staff member"


class InvalidSetPasswordLink(RuleViolation):
    code = "invalid_set_password_link"
    title = "This link is invalid, used or expired"


class WeakPassword(InvalidInput):
    code = "weak_password"
    title = "The password is too short or too long"


class StaffLoginFailed(RuleViolation):
    """One refusal for an unknown e-mail, a wrong password, a wrong code and a disabled
    account alike: the caller learns nothing about which."""

    code = "staff_login_failed"
    title = "E-mail, password or code is wrong"


class WrongSecondFactorCode(InvalidInput):
    """Enrolling or removing one's own second factor with a code that does not match."""

    code = "wrong_second_factor_code"
    title = "The code from the authenticator app is wrong"


def normalise_email(email: str) -> str:
    cleaned = email.strip().lower()
    local, at, domain = cleaned.partition("@")
    if not at or not local or "." not in domain or len(cleaned) > 254 or " " in cleaned:
        raise InvalidInput("not an e-mail address", field="email")
    return cleaned


def check_password(password: str) -> None:
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise WeakPassword(
            f"a password needs {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters"
        )


def token_hash(token: str) -> str:
    """How set-password tokens and session ids are stored: high-entropy, so a fast hash."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class StaffMember:
    id: UUID
    email: str
    display_name: str
    role: StaffRole
    status: StaffStatus
    created_at: datetime
    password_hash: str | None = None
    totp_secret_sealed: str | None = None  # sealed by the secret box, never stored plain

    @property
    def can_log_in(self) -> bool:
        return self.status is StaffStatus.ACTIVE and self.password_hash is not None

    @property
    def is_active(self) -> bool:
        """May hold a session: active, with a password or through the identity provider."""
        return self.status is StaffStatus.ACTIVE

    @property
    def has_second_factor(self) -> bool:
        return self.totp_secret_sealed is not None

    def with_password(self, password_hash: str) -> StaffMember:
        status = StaffStatus.ACTIVE if self.status is StaffStatus.INVITED else self.status
        return replace(self, password_hash=password_hash, status=status)


@dataclass(frozen=True, slots=True)
class SetPasswordToken:
    token_hash: str
    staff_id: UUID
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None

    def usable(self, now: datetime) -> bool:
        return self.used_at is None and now < self.expires_at


@dataclass(frozen=True, slots=True)
class StaffSession:
    id_hash: str
    staff_id: UUID
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime  # the absolute end
    second_factor_pending: bool = False
    revoked_at: datetime | None = None

    @classmethod
    def open(cls, id_hash: str, staff_id: UUID, now: datetime, *, pending: bool) -> StaffSession:
        ends = now + (SECOND_FACTOR_TTL if pending else ABSOLUTE_TIMEOUT)
        return cls(id_hash, staff_id, now, now, ends, second_factor_pending=pending)

    def live(self, now: datetime) -> bool:
        return (
            self.revoked_at is None
            and now < self.expires_at
            and now < self.last_seen_at + IDLE_TIMEOUT
        )


class PasswordHasher(Protocol):
    """A slow, salted password hash (argon2id in the adapter)."""

    def hash(self, password: str) -> str: ...

    def verify(self, stored: str, password: str) -> bool:
        """Whether ``password`` matches; False (never an exception) when it does not."""
        ...

    def needs_rehash(self, stored: str) -> bool: ...


class TotpCodes(Protocol):
    def new_secret(self) -> str: ...

    def verify(self, secret: str, code: str, now: datetime) -> bool: ...

    def provisioning_uri(self, secret: str, account: str) -> str: ...


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    """What the browser carries to the identity provider, and what must come back."""

    url: str  # the provider's authorization endpoint with every parameter
    state: str
    nonce: str
    code_verifier: str  # PKCE (S256): kept by the console, never sent to the browser's URL


@dataclass(frozen=True, slots=True)
class VerifiedIdentity:
    """An e-mail the identity provider vouches for (its ID token checked and verified)."""

    email: str
    subject: str
    issuer: str


class IdentityRefused(Exception):
    """The identity provider's answer failed a check; ``reason`` is for the log only."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class IdentityProvider(Protocol):
    """An OpenID Connect provider, authorization code flow with PKCE, state and nonce."""

    async def authorization_request(self, redirect_uri: str) -> AuthorizationRequest: ...

    async def identity(
        self, code: str, *, code_verifier: str, nonce: str, redirect_uri: str
    ) -> VerifiedIdentity:
        """Exchanges the code and verifies the ID token; IdentityRefused on any failure."""
        ...


class StaffRepository(Protocol):
    """Staff, set-password tokens and console sessions, in the current unit of work."""

    async def add(self, member: StaffMember) -> None:
        """Raises StaffExists if the e-mail is taken."""
        ...

    async def get(self, staff_id: UUID) -> StaffMember | None: ...

    async def get_by_email(self, email: str) -> StaffMember | None: ...

    async def save(self, member: StaffMember, at: datetime) -> None: ...

    async def list_all(self) -> list[StaffMember]: ...

    async def add_token(self, token: SetPasswordToken) -> None: ...

    async def take_token(self, token_hash: str) -> SetPasswordToken | None:
        """The token, locked for update, or None."""
        ...

    async def use_token(self, token_hash: str, at: datetime) -> None: ...

    async def add_session(self, session: StaffSession) -> None: ...

    async def get_session(self, id_hash: str) -> StaffSession | None: ...

    async def touch_session(self, id_hash: str, at: datetime) -> None: ...

    async def complete_second_factor(self, id_hash: str, at: datetime) -> None:
        """The pending session becomes a full one, with the absolute timeout from ``at``."""
        ...

    async def revoke_session(self, id_hash: str, at: datetime) -> None: ...

    async def revoke_sessions_of(self, staff_id: UUID, at: datetime) -> int: ...
