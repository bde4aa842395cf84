"""Stores and the POS terminals that act for them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from domain.errors import InvalidInput

_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def require_code(value: str, field: str) -> str:
    if not _CODE.match(value):
        raise InvalidInput(
            f"{field} must be 1-64 letters, digits, '.', '_' or '-', starting alphanumeric",
            field=field,
        )
    return value


@dataclass(frozen=True, slots=True)
class Store:
    id: UUID
    code: str
    name: str
    created_at: datetime

    def __post_init__(self) -> None:
        require_code(self.code, "code")
        if not self.name.strip() or len(self.name) > 200:
            raise InvalidInput("name must be 1-200 characters", field="name")


@dataclass(frozen=True, slots=True)
class Terminal:
    id: UUID
    store_id: UUID
    code: str
    secret_hash: str
    created_at: datetime
    active: bool = True
    # Counts the secret's rotations; a POS token carries the version it was issued under.
    secret_version: int = 1
    deactivated_at: datetime | None = None

    def __post_init__(self) -> None:
        require_code(self.code, "code")
