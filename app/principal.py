"""Who is calling: an admin, a POS terminal acting for its store, or a member."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID


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

    @property
    def caller_key(self) -> str:
        """The namespace of this caller's idempotency keys."""
        return f"{self.role.value}:{self.subject}"

    @property
    def actor(self) -> str:
        """How the audit log names this caller."""
        return f"{self.role.value}:{self.subject}"
