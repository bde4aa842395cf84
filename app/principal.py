"""Who is calling: an admin, a POS terminal acting for its store, or a member."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol
from uuid import UUID

from domain.staff import StaffRole


class Role(StrEnum):
    ADMIN = "admin"
    POS = "pos"
    MEMBER = "member"


@dataclass(frozen=True, slots=True)
class Principal:
    role: Role
    subject: str
    store_id: UUID | None = None
    terminal_id: UUID | None = None
    member_id: UUID | None = None
    # A POS token's terminal secret version: rotating the secret refuses older tokens.
    credential_version: int | None = None
    # An admin's staff role (issue #18): what app/permissions.py lets the token do. A token
    # without the claim is an owner's, as every admin token was before roles existed.
    staff_role: StaffRole | None = None

    @property
    def caller_key(self) -> str:
        """The namespace of this caller's idempotency keys."""
        return f"{self.role.value}:{self.subject}"

    @property
    def actor(self) -> str:
        """How the audit log names this caller."""
        return f"{self.role.value}:{self.subject}"


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    expires_in: int  # seconds


class Tokens(Protocol):
    """Signed bearer tokens: who a caller is, and tokens for terminals and members."""

    async def authenticate(self, token: str) -> Principal:
        """The token's principal; the adapter's own error if it cannot be trusted."""
        ...

    def for_terminal(
        self, terminal_id: UUID, store_id: UUID, secret_version: int = 1
    ) -> IssuedToken: ...

    def issue_member_token(
        self, member_id: UUID, ttl_seconds: int | None = None
    ) -> IssuedToken: ...
