"""What the back office's member search returns, and its port (a read model)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol
from uuid import UUID


class SearchBy(StrEnum):
    PHONE = "phone"  # E.164, exact
    CARD_NUMBER = "card_number"  # any of the member's cards, blocked ones too
    EMAIL = "email"  # normalised, case-insensitive, exact
    NAME = "name"  # case-insensitive substring
    EXTERNAL_ID = "external_id"  # an imported customer id or the web shop's, exact


@dataclass(frozen=True, slots=True)
class FoundMember:
    member_id: UUID
    phone: str | None
    name: str | None
    email: str | None
    card_number: str | None  # the active card; None for an imported member without one
    tier_code: str
    enrolled_at: datetime


class MemberDirectory(Protocol):
    """The back office's member search (a read model: one statement, indexed per criterion)."""

    async def find(
        self, by: SearchBy, value: str, *, after: UUID | None, limit: int
    ) -> Sequence[FoundMember]:
        """Members not erased matching ``value`` (already normalised), by id above ``after``.
        For NAME, ``value`` is lower case and matched as a substring of the lower-cased name."""
        ...
