"""What the fakes share: the error a broken constraint raises, and a link between fakes."""

from __future__ import annotations

from typing import Any


class ConstraintViolation(Exception):
    """What the database would raise: a UNIQUE or CHECK constraint was broken."""


class Link:
    """A reference to another fake that the database's snapshots leave alone."""

    def __init__(self, target: Any) -> None:
        self.target = target

    def __deepcopy__(self, memo: dict[int, Any]) -> Link:
        return self
