"""What GET /health asks of the database: that it answers, and which stored configuration
rows the service does not apply as they are."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class RefusedRow:
    """A stored configuration row the service does not apply, and why."""

    table: str
    row: str  # its key, as text
    reason: str


class ConfigurationUnavailable(RuntimeError):
    """The programme or the tier ladder cannot be read and this process has no earlier good
    copy: nothing that needs them can be served (503) until the rows are repaired."""

    def __init__(self, refused: Sequence[RefusedRow]) -> None:
        self.refused = tuple(refused)
        super().__init__("; ".join(f"{r.table} {r.row}: {r.reason}" for r in self.refused))


@dataclass(frozen=True, slots=True)
class ConfigurationHealth:
    usable: bool  # False: the programme or tier ladder cannot be served (503 for sales)
    refused: tuple[RefusedRow, ...]


class DatabaseProbe(Protocol):
    async def ping(self) -> None:
        """Returns once the database answered; raises if it cannot be reached."""
        ...

    async def configuration(self) -> ConfigurationHealth: ...
