"""Recording what a module logs, whatever other tests did to structlog before."""

from __future__ import annotations

from typing import Any


class Recorder:
    """Stands in for a module's structlog logger: structlog caches loggers on first use, so
    capturing its processors (structlog.testing) misses loggers other tests used before."""

    def __init__(self) -> None:
        self.lines: list[dict[str, Any]] = []

    def _record(self, level: str) -> Any:
        return lambda event, **fields: self.lines.append({"event": event, "level": level, **fields})

    def __getattr__(self, level: str) -> Any:
        return self._record(level)

    def events(self) -> list[str]:
        return [line["event"] for line in self.lines]
