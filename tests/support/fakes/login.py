"""Member login: one-time codes, refresh tokens and the rate limiter."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from uuid import UUID

from domain.login import LoginChallenge, RateLimit, RefreshToken
from domain.login import window_start as login_window_start
from tests.support.fakes.common import ConstraintViolation, Linked, require


class FakeLoginChallengeRepository:
    def __init__(self) -> None:
        self.challenges: dict[str, LoginChallenge] = {}
        self.consumed: set[str] = set()

    async def replace(self, challenge: LoginChallenge) -> None:
        self.challenges[challenge.phone] = challenge
        self.consumed.discard(challenge.phone)

    async def count_attempt(self, phone: str, now: datetime) -> LoginChallenge | None:
        challenge = self.challenges.get(phone)
        if challenge is None or phone in self.consumed or not challenge.is_live(now):
            return None
        counted = replace(challenge, attempts=challenge.attempts + 1)
        self.challenges[phone] = counted
        return counted

    async def consume(self, phone: str, at: datetime) -> None:
        self.consumed.add(phone)


class FakeRefreshTokenRepository(Linked):
    def __init__(self) -> None:
        self.tokens: dict[UUID, RefreshToken] = {}

    async def add(self, token: RefreshToken) -> None:
        require(token.member_id in self.db.members.members, "refresh_tokens_member_id_fkey")
        if any(t.token_hash == token.token_hash for t in self.tokens.values()):
            raise ConstraintViolation("refresh token hash is taken")
        self.tokens[token.id] = token

    async def member_of(self, token_hash: str) -> UUID | None:
        token = await self.get_for_update(token_hash)
        return token.member_id if token else None

    async def get_for_update(self, token_hash: str) -> RefreshToken | None:
        return next((t for t in self.tokens.values() if t.token_hash == token_hash), None)

    async def mark_used(self, token_id: UUID, at: datetime) -> None:
        self.tokens[token_id] = replace(self.tokens[token_id], used_at=at)

    async def lock_family_of(self, token_hash: str) -> UUID | None:
        token = await self.get_for_update(token_hash)
        return token.family_id if token else None

    async def revoke_family(self, family_id: UUID, at: datetime) -> int:
        revoked = 0
        for token_id, token in list(self.tokens.items()):
            if token.family_id == family_id and token.revoked_at is None:
                self.tokens[token_id] = replace(token, revoked_at=at)
                revoked += 1
        return revoked


class FakeRateLimiter:
    """Counts outside any unit of work, as the PostgreSQL limiter's autocommit does."""

    def __init__(self) -> None:
        self.hits: dict[str, int] = {}

    async def hit(
        self, bucket: str, rule: RateLimit, now: datetime, *, weight: int = 1
    ) -> timedelta | None:
        start = login_window_start(rule, now)
        key = f"{bucket}@{start.isoformat()}"
        self.hits[key] = self.hits.get(key, 0) + weight
        return None if self.hits[key] <= rule.limit else start + rule.window - now
