"""Login codes and refresh tokens on PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from adapters.persistence.tables import LoginChallengeRow, RefreshTokenRow
from domain.login import MAX_CODE_ATTEMPTS, LoginChallenge, RefreshToken

_REPLACE_CHALLENGE = """
INSERT INTO login_challenges (phone, code_hash, created_at, expires_at, attempts, consumed_at)
VALUES ({}, {}, {}, {}, 0, NULL)
ON CONFLICT (phone) DO UPDATE SET
    code_hash = EXCLUDED.code_hash, created_at = EXCLUDED.created_at,
    expires_at = EXCLUDED.expires_at, attempts = 0, consumed_at = NULL
"""

# One statement counts the guess and takes the row lock: a concurrent guess waits, then
# re-evaluates the WHERE against the count this one committed, so no two guesses share a count
# and the sixth finds no live challenge.
_COUNT_ATTEMPT = """
UPDATE login_challenges SET attempts = attempts + 1
WHERE phone = {} AND consumed_at IS NULL AND expires_at > {} AND attempts < {}
RETURNING phone, code_hash, created_at, expires_at, attempts
"""


class PostgresLoginChallengeRepository:
    async def replace(self, challenge: LoginChallenge) -> None:
        await LoginChallengeRow.raw(
            _REPLACE_CHALLENGE,
            challenge.phone,
            challenge.code_hash,
            challenge.created_at,
            challenge.expires_at,
        )

    async def count_attempt(self, phone: str, now: datetime) -> LoginChallenge | None:
        rows = await LoginChallengeRow.raw(_COUNT_ATTEMPT, phone, now, MAX_CODE_ATTEMPTS)
        if not rows:
            return None
        row = rows[0]
        return LoginChallenge(
            row["phone"], row["code_hash"], row["created_at"], row["expires_at"], row["attempts"]
        )

    async def consume(self, phone: str, at: datetime) -> None:
        await LoginChallengeRow.update({LoginChallengeRow.consumed_at: at}).where(
            LoginChallengeRow.phone == phone
        )


def _token(row: dict[str, Any]) -> RefreshToken:
    return RefreshToken(
        id=row["id"],
        member_id=row["member_id"],
        family_id=row["family_id"],
        token_hash=row["token_hash"],
        issued_at=row["issued_at"],
        expires_at=row["expires_at"],
        parent_id=row["parent_id"],
        used_at=row["used_at"],
        revoked_at=row["revoked_at"],
    )


class PostgresRefreshTokenRepository:
    async def add(self, token: RefreshToken) -> None:
        await RefreshTokenRow.insert(
            RefreshTokenRow(
                id=token.id,
                member_id=token.member_id,
                family_id=token.family_id,
                parent_id=token.parent_id,
                token_hash=token.token_hash,
                issued_at=token.issued_at,
                expires_at=token.expires_at,
                used_at=token.used_at,
                revoked_at=token.revoked_at,
            )
        )

    async def member_of(self, token_hash: str) -> UUID | None:
        rows = await RefreshTokenRow.raw(
            "SELECT member_id FROM refresh_tokens WHERE token_hash = {}", token_hash
        )
        return rows[0]["member_id"] if rows else None

    async def get_for_update(self, token_hash: str) -> RefreshToken | None:
        rows = await RefreshTokenRow.raw(
            "SELECT * FROM refresh_tokens WHERE token_hash = {} FOR UPDATE", token_hash
        )
        return _token(rows[0]) if rows else None

    async def mark_used(self, token_id: UUID, at: datetime) -> None:
        await RefreshTokenRow.update({RefreshTokenRow.used_at: at}).where(
            RefreshTokenRow.id == token_id
        )

    async def revoke_family(self, family_id: UUID, at: datetime) -> int:
        rows = (
            await RefreshTokenRow.update({RefreshTokenRow.revoked_at: at})
            .where((RefreshTokenRow.family_id == family_id) & RefreshTokenRow.revoked_at.is_null())
            .returning(RefreshTokenRow.id)
        )
        return len(rows)

    async def lock_family_of(self, token_hash: str) -> UUID | None:
        rows = await RefreshTokenRow.raw(
            "SELECT family_id FROM refresh_tokens WHERE token_hash = {}", token_hash
        )
        if not rows:
            return None
        family_id: UUID = rows[0]["family_id"]
        # A statement of its own: the revoking UPDATE that follows takes a new snapshot, which
        # includes the successor a refresh holding one of these locks committed meanwhile.
        await RefreshTokenRow.raw(
            "SELECT id FROM refresh_tokens WHERE family_id = {} ORDER BY id FOR UPDATE", family_id
        )
        return family_id
