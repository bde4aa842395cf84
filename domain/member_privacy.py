"""A member's personal data: the export of everything held about them, and its erasure.

Erasure keeps the member's row, ids, ledger, sales and coupons (the books must still add up and
the hash chain still verify: it covers ledger entries, never profile columns) and removes what
identifies a person: phone, name, e-mail, birthday, the shop's customer ids, feedback texts.
The phone column is unique and NOT NULL, so an erased member's phone becomes a tombstone that
can never be an E.164 number (no "+"), derived from the member id so that it stays unique.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

ERASED_TEXT = "[erased]"
TOMBSTONE_PREFIX = "x"


def phone_tombstone(member_id: UUID) -> str:
    """16 characters, like the longest E.164 number the column holds; never a phone number."""
    return TOMBSTONE_PREFIX + hashlib.sha256(member_id.bytes).hexdigest()[:15]


def is_erased_phone(phone: str | None) -> bool:
    return phone is not None and phone.startswith(TOMBSTONE_PREFIX)


# One table's rows about the member, each row as plain JSON values (str, int, bool, None, ...).
ExportedRows = list[dict[str, object]]


@dataclass(frozen=True, slots=True)
class MemberExport:
    member_id: UUID
    generated_at: datetime
    erased: bool
    tables: dict[str, ExportedRows]


@dataclass(frozen=True, slots=True)
class Erasure:
    member_id: UUID
    erased_at: datetime
    # How many rows each table had changed or removed: the audit trail of what was done.
    changed: dict[str, int]


class MemberPrivacyRepository(Protocol):
    async def export(self, member_id: UUID) -> dict[str, ExportedRows]:
        """Every row that names the member, by table; empty when the member does not exist."""
        ...

    async def erase(self, member_id: UUID, *, tombstone: str, at: datetime) -> dict[str, int]:
        """Removes the personal data in place (see the module's docstring); rows changed."""
        ...
