"""What the fakes share: the error a broken constraint raises, and the link between fakes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.support.fakes.database import FakeDatabase


class ConstraintViolation(Exception):
    """What the database would raise: a UNIQUE, CHECK or foreign-key constraint was broken.

    A fake raises it only where PostgreSQL refuses too; tests/integration/contracts proves
    each such refusal on both."""


def require(condition: bool, constraint: str) -> None:
    """Refuses, as the database's ``constraint`` would, unless ``condition`` holds."""
    if not condition:
        raise ConstraintViolation(constraint)


class Link:
    """A reference to another fake that the database's snapshots leave alone."""

    def __init__(self, target: Any) -> None:
        self.target = target

    def __deepcopy__(self, memo: dict[int, Any]) -> Link:
        return self


class Linked:
    """A fake that reads the others (a foreign key, a read that joins tables); FakeDatabase
    links it to itself."""

    _db: Link | None = None

    def link(self, db: FakeDatabase) -> None:
        self._db = Link(db)

    @property
    def db(self) -> FakeDatabase:
        assert self._db is not None, f"{type(self).__name__} needs a FakeDatabase"
        database: FakeDatabase = self._db.target
        return database
