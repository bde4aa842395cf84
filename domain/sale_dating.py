"""How far from now a sale may be dated: tills sync late, but not years late.

A sale's time decides its points' expiry, its tier window and its draw chances, so a sale
dated long ago would earn points that are already expired, count in a window long closed and
draw from campaigns long over. Tills that were offline sync within days; the limit is a
setting (``LOYALTY_MAX_BACKDATE_DAYS``) so that a replay of old history can raise it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.errors import InvalidInput
from domain.time_range import require_instant

DEFAULT_MAX_BACKDATE_DAYS = 90
# A century: the accepted time range (from 2000) is the real bound beyond a few thousand days.
MAX_BACKDATE_DAYS = 36_600
# Tills' clocks drift; a sale stamped a little in the future is a clock, not a fraud.
MAX_CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class SaleDating:
    max_backdate: timedelta = timedelta(days=DEFAULT_MAX_BACKDATE_DAYS)
    max_skew: timedelta = MAX_CLOCK_SKEW

    @classmethod
    def of_days(cls, days: int) -> SaleDating:
        return cls(max_backdate=timedelta(days=days))

    def check(self, occurred_at: datetime, now: datetime, *, field: str) -> datetime:
        """``occurred_at`` if a sale may carry it at ``now``; 422 naming ``field`` otherwise."""
        require_instant(occurred_at, field)
        if occurred_at > now + self.max_skew:
            raise InvalidInput(
                f"{field} is in the future (more than {_minutes(self.max_skew)} minutes ahead)",
                field=field,
            )
        if occurred_at < now - self.max_backdate:
            raise InvalidInput(
                f"{field} is more than {self.max_backdate.days} days in the past",
                field=field,
            )
        return occurred_at


def _minutes(delta: timedelta) -> int:
    return int(delta.total_seconds() // 60)
