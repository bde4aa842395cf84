"""Member login: one-time codes sent by SMS, rotating refresh tokens, request rate limits.

- A login code is 6 random digits, valid for 5 minutes and for at most 5 guesses. It is stored
  only as an HMAC keyed with a server secret (a bare hash of a 6-digit code is reversed by
  trying all million), and compared in constant time. A new code replaces the phone's previous
  one. Every guess is counted before it is judged, so concurrent guesses cannot share a count.
- A refresh token is an opaque random string stored as a hash, in a family that starts at a
  login. Refreshing uses it up and issues its successor in the same family. Presenting a token
  that was already used means two parties hold the family (a thief replayed one, or the owner
  did after a theft): the whole family is revoked, and both parties must log in again.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol
from uuid import UUID

from domain.ports import RandomSource

CODE_DIGITS = 6
CODE_TTL = timedelta(minutes=5)
MAX_CODE_ATTEMPTS = 5
REFRESH_TOKEN_TTL = timedelta(days=30)


def new_login_code(random: RandomSource) -> str:
    return f"{random.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


class LoginCodeHasher:
    """HMAC-SHA256 over the phone and the code: a stolen table cannot be brute-forced without
    the key, and a code hash is useless for another phone."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("the login code key needs at least 32 bytes")
        self._key = key

    def hash(self, phone: str, code: str) -> str:
        return hmac.new(self._key, f"{phone}:{code}".encode(), hashlib.sha256).hexdigest()

    def matches(self, phone: str, code: str, stored: str) -> bool:
        return hmac.compare_digest(self.hash(phone, code), stored)


@dataclass(frozen=True, slots=True)
class LoginChallenge:
    phone: str
    code_hash: str
    created_at: datetime
    expires_at: datetime
    attempts: int = 0  # guesses counted so far, the one being judged included

    @classmethod
    def issue(cls, phone: str, code_hash: str, now: datetime) -> LoginChallenge:
        return cls(phone, code_hash, now, now + CODE_TTL)

    def is_live(self, now: datetime) -> bool:
        return now < self.expires_at and self.attempts < MAX_CODE_ATTEMPTS

    def accepts(self, code_matches: bool, now: datetime) -> bool:
        """Judges the guess already counted in ``attempts``: the fifth guess may still win."""
        return code_matches and now < self.expires_at and self.attempts <= MAX_CODE_ATTEMPTS


class LoginChallengeRepository(Protocol):
    async def replace(self, challenge: LoginChallenge) -> None:
        """Makes ``challenge`` the phone's only one (a new code voids the previous)."""
        ...

    async def count_attempt(self, phone: str, now: datetime) -> LoginChallenge | None:
        """Counts one guess against the phone's live challenge, atomically, and returns it
        with the new count, locked until the unit of work ends; None if there is no live
        challenge (none, expired, used, or out of guesses)."""
        ...

    async def consume(self, phone: str, at: datetime) -> None:
        """The code worked: it can never work again."""
        ...


class RefreshVerdict(StrEnum):
    ROTATE = "rotate"
    REUSED = "reused"  # already used: revoke the family
    REJECTED = "rejected"  # expired or revoked


@dataclass(frozen=True, slots=True)
class RefreshToken:
    id: UUID
    member_id: UUID
    family_id: UUID
    token_hash: str
    issued_at: datetime
    expires_at: datetime
    parent_id: UUID | None = None
    used_at: datetime | None = None
    revoked_at: datetime | None = None

    @classmethod
    def start_family(
        cls, token_id: UUID, member_id: UUID, token_hash: str, now: datetime
    ) -> RefreshToken:
        return cls(token_id, member_id, token_id, token_hash, now, now + REFRESH_TOKEN_TTL)

    def successor(self, token_id: UUID, token_hash: str, now: datetime) -> RefreshToken:
        return RefreshToken(
            token_id,
            self.member_id,
            self.family_id,
            token_hash,
            now,
            now + REFRESH_TOKEN_TTL,
            parent_id=self.id,
        )

    def verdict(self, now: datetime) -> RefreshVerdict:
        if self.revoked_at is not None:
            return RefreshVerdict.REJECTED
        if self.used_at is not None:
            return RefreshVerdict.REUSED
        if now >= self.expires_at:
            return RefreshVerdict.REJECTED
        return RefreshVerdict.ROTATE


class RefreshTokenRepository(Protocol):
    async def add(self, token: RefreshToken) -> None: ...

    async def member_of(self, token_hash: str) -> UUID | None:
        """Whose token this is, read without a lock (so that the member's lock can be taken
        before the token's)."""
        ...

    async def get_for_update(self, token_hash: str) -> RefreshToken | None:
        """The token, locked until the unit of work ends: two refreshes of one token queue."""
        ...

    async def mark_used(self, token_id: UUID, at: datetime) -> None: ...

    async def revoke_family(self, family_id: UUID, at: datetime) -> int:
        """Revokes every token of the family not yet revoked; returns how many."""
        ...

    async def lock_family_of(self, token_hash: str) -> UUID | None:
        """The family of the token (in any state), with every token of the family locked
        until the unit of work ends: a refresh in flight finishes first (its successor is then
        revoked with the rest), and one that comes later waits and finds its token revoked."""
        ...


# Rate limits --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RateLimit:
    limit: int  # requests allowed per window
    window: timedelta

    def __post_init__(self) -> None:
        if self.limit < 1 or self.window <= timedelta(0):
            raise ValueError("a rate limit needs a positive limit and window")


class RateLimiter(Protocol):
    async def hit(
        self, bucket: str, rule: RateLimit, now: datetime, *, weight: int = 1
    ) -> timedelta | None:
        """Counts ``weight`` requests in ``bucket``'s current window, durably even if the
        caller's transaction rolls back; None while within the limit, else the time until the
        window ends."""
        ...


def window_start(rule: RateLimit, now: datetime) -> datetime:
    """Fixed windows aligned on the epoch, so every process agrees on the current one."""
    seconds = int(rule.window.total_seconds())
    epoch = int(now.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, tz=now.tzinfo)
