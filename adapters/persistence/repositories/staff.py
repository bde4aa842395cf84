"""Staff, set-password tokens and console sessions on PostgreSQL (in the current unit of work)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from adapters.persistence.tables import StaffRow, StaffSessionRow, StaffSetPasswordTokenRow
from domain.staff import (
    ABSOLUTE_TIMEOUT,
    SetPasswordToken,
    StaffExists,
    StaffMember,
    StaffRole,
    StaffSession,
    StaffStatus,
)


def _member(row: dict[str, Any]) -> StaffMember:
    return StaffMember(
        id=row["id"],
        email=row["email"],
        display_name=row["display_name"],
        role=StaffRole(row["role"]),
        status=StaffStatus(row["status"]),
        created_at=row["created_at"],
        password_hash=row["password_hash"],
        totp_secret_sealed=row["totp_secret_sealed"],
    )


def _session(row: dict[str, Any]) -> StaffSession:
    return StaffSession(
        id_hash=row["id_hash"],
        staff_id=row["staff_id"],
        created_at=row["created_at"],
        last_seen_at=row["last_seen_at"],
        expires_at=row["expires_at"],
        second_factor_pending=row["second_factor_pending"],
        revoked_at=row["revoked_at"],
    )


class PostgresStaffRepository:
    async def add(self, member: StaffMember) -> None:
        try:
            await StaffRow.insert(
                StaffRow(
                    id=member.id,
                    email=member.email,
                    display_name=member.display_name,
                    role=member.role.value,
                    status=member.status.value,
                    password_hash=member.password_hash,
                    totp_secret_sealed=member.totp_secret_sealed,
                    created_at=member.created_at,
                    updated_at=member.created_at,
                )
            )
        except asyncpg.UniqueViolationError:
            raise StaffExists(f"{member.email} already has an account") from None

    async def get(self, staff_id: UUID) -> StaffMember | None:
        row = await StaffRow.select().where(StaffRow.id == staff_id).first()
        return _member(row) if row else None

    async def get_by_email(self, email: str) -> StaffMember | None:
        row = await StaffRow.select().where(StaffRow.email == email).first()
        return _member(row) if row else None

    async def save(self, member: StaffMember, at: datetime) -> None:
        await StaffRow.update(
            {
                StaffRow.display_name: member.display_name,
                StaffRow.role: member.role.value,
                StaffRow.status: member.status.value,
                StaffRow.password_hash: member.password_hash,
                StaffRow.totp_secret_sealed: member.totp_secret_sealed,
                StaffRow.updated_at: at,
            }
        ).where(StaffRow.id == member.id)

    async def list_all(self) -> list[StaffMember]:
        rows = await StaffRow.select().order_by(StaffRow.email)
        return [_member(row) for row in rows]

    async def add_token(self, token: SetPasswordToken) -> None:
        await StaffSetPasswordTokenRow.insert(
            StaffSetPasswordTokenRow(
                token_hash=token.token_hash,
                staff_id=token.staff_id,
                created_at=token.created_at,
                expires_at=token.expires_at,
                used_at=token.used_at,
            )
        )

    async def take_token(self, token_hash: str) -> SetPasswordToken | None:
        rows = await StaffSetPasswordTokenRow.raw(
            "SELECT token_hash, staff_id, created_at, expires_at, used_at "
            "FROM staff_set_password_tokens WHERE token_hash = {} FOR UPDATE",
            token_hash,
        )
        if not rows:
            return None
        row = rows[0]
        return SetPasswordToken(
            row["token_hash"], row["staff_id"], row["created_at"], row["expires_at"], row["used_at"]
        )

    async def use_token(self, token_hash: str, at: datetime) -> None:
        await StaffSetPasswordTokenRow.update({StaffSetPasswordTokenRow.used_at: at}).where(
            StaffSetPasswordTokenRow.token_hash == token_hash
        )

    async def add_session(self, session: StaffSession) -> None:
        await StaffSessionRow.insert(
            StaffSessionRow(
                id_hash=session.id_hash,
                staff_id=session.staff_id,
                created_at=session.created_at,
                last_seen_at=session.last_seen_at,
                expires_at=session.expires_at,
                second_factor_pending=session.second_factor_pending,
                revoked_at=session.revoked_at,
            )
        )

    async def get_session(self, id_hash: str) -> StaffSession | None:
        row = await StaffSessionRow.select().where(StaffSessionRow.id_hash == id_hash).first()
        return _session(row) if row else None

    async def touch_session(self, id_hash: str, at: datetime) -> None:
        await StaffSessionRow.update({StaffSessionRow.last_seen_at: at}).where(
            StaffSessionRow.id_hash == id_hash
        )

    async def complete_second_factor(self, id_hash: str, at: datetime) -> None:
        await StaffSessionRow.update(
            {
                StaffSessionRow.second_factor_pending: False,
                StaffSessionRow.last_seen_at: at,
                StaffSessionRow.expires_at: at + ABSOLUTE_TIMEOUT,
            }
        ).where(StaffSessionRow.id_hash == id_hash)

    async def revoke_session(self, id_hash: str, at: datetime) -> None:
        await StaffSessionRow.update({StaffSessionRow.revoked_at: at}).where(
            (StaffSessionRow.id_hash == id_hash) & StaffSessionRow.revoked_at.is_null()
        )

    async def revoke_sessions_of(self, staff_id: UUID, at: datetime) -> int:
        rows = await StaffSessionRow.raw(
            "UPDATE staff_sessions SET revoked_at = {} "
            "WHERE staff_id = {} AND revoked_at IS NULL RETURNING id_hash",
            at,
            staff_id,
        )
        return len(rows)
