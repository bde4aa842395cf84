"""The log of webhook events claimed, for exactly-once application."""

from __future__ import annotations

from datetime import datetime


class FakeWebhookEventLog:
    def __init__(self) -> None:
        self.events: dict[tuple[str, str], tuple[str, str]] = {}  # -> (type, outcome)

    async def claim(self, source: str, event_id: str, event_type: str, now: datetime) -> bool:
        if (source, event_id) in self.events:
            return False
        self.events[(source, event_id)] = (event_type, "claimed")
        return True

    async def record_outcome(self, source: str, event_id: str, outcome: str) -> None:
        event_type, _ = self.events[(source, event_id)]
        self.events[(source, event_id)] = (event_type, outcome)
