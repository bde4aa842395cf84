"""The birthday job's read model on PostgreSQL (app.use_cases.birthdays.BirthdayCalendar)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from uuid import UUID

from adapters.persistence.connections import Database, connection_for

# Members whose birthday, celebrated in one of the window's years, falls in the window.
# 29 February is celebrated on 28 February in years without one.
_BIRTHDAYS_DUE = """
SELECT m.id, occurrence.day
FROM members AS m
CROSS JOIN LATERAL (
    SELECT CASE
        WHEN extract(month FROM m.birthday) = 2 AND extract(day FROM m.birthday) = 29
             AND NOT (y % 4 = 0 AND (y % 100 <> 0 OR y % 400 = 0))
        THEN make_date(y, 2, 28)
        ELSE make_date(y, extract(month FROM m.birthday)::int, extract(day FROM m.birthday)::int)
    END AS day
    FROM generate_series(extract(year FROM $1::date)::int, extract(year FROM $2::date)::int) AS y
) AS occurrence
WHERE m.birthday IS NOT NULL
  AND occurrence.day BETWEEN $1::date AND $2::date
  AND ($3::uuid IS NULL OR m.id > $3::uuid)
ORDER BY m.id
LIMIT $4
"""


class PostgresBirthdayCalendar:
    def __init__(self, database: Database) -> None:
        self._database = database

    async def members_due(
        self, first: date, last: date, *, after: UUID | None, limit: int
    ) -> Sequence[tuple[UUID, date]]:
        async with connection_for(self._database) as connection:
            rows = await connection.fetch(_BIRTHDAYS_DUE, first, last, after, limit)
        return [(row["id"], row["day"]) for row in rows]
