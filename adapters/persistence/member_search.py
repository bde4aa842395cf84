"""The back office's member search, one statement per criterion on the pool (no transaction).

Each criterion has its index (migrations/..._admin_control_sql.py): members.phone (UNIQUE),
member_cards' primary key, lower(email), member_external_ids.external_id and shop_customers'
primary key, and for a name the trigram index on lower(name) where pg_trgm is installed.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from piccolo.engine.postgres import PostgresEngine

from adapters.persistence.replica import ReadRouter
from adapters.persistence.repositories.member_privacy import not_erased
from domain.member_search import FoundMember, SearchBy

# {found}: a condition on m with $1 the value. $2 after, $3 limit.
_FIND = f"""
SELECT m.id, m.phone, m.name, m.email, m.tier_code, m.enrolled_at, c.card_number
FROM members m
LEFT JOIN member_cards c ON c.member_id = m.id AND c.status = 'active'
WHERE {{found}} AND {not_erased("m.phone")} AND ($2::uuid IS NULL OR m.id > $2)
ORDER BY m.id
LIMIT $3
"""  # noqa: S608 (constants of this module)

_FOUND: dict[SearchBy, str] = {
    SearchBy.PHONE: "m.phone = $1",
    SearchBy.CARD_NUMBER: "m.id IN (SELECT member_id FROM member_cards WHERE card_number = $1)",
    SearchBy.EMAIL: "lower(m.email) = $1 AND m.email IS NOT NULL",
    # The pattern is built from $1 in SQL, its LIKE wildcards escaped: a '%' typed is a '%'.
    SearchBy.NAME: (
        "m.name IS NOT NULL AND lower(m.name) LIKE "
        "'%' || replace(replace(replace($1, '\\', '\\\\'), '%', '\\%'), '_', '\\_') || '%'"
    ),
    SearchBy.EXTERNAL_ID: (
        "m.id IN (SELECT member_id FROM member_external_ids WHERE external_id = $1 "
        "UNION SELECT member_id FROM shop_customers WHERE customer_id = $1)"
    ),
}
_QUERIES = {by: _FIND.format(found=found) for by, found in _FOUND.items()}


class PostgresMemberDirectory:
    def __init__(self, database: PostgresEngine | ReadRouter) -> None:
        # On the read replica when one is configured (replica.py).
        self._reads = ReadRouter.of(database)

    async def find(
        self, by: SearchBy, value: str, *, after: UUID | None, limit: int
    ) -> Sequence[FoundMember]:
        rows = await self._reads.run(
            lambda connection: connection.fetch(_QUERIES[by], value, after, limit),
            own_commits=True,  # staff find the member they just enrolled or changed
        )
        return [
            FoundMember(
                member_id=row["id"],
                phone=row["phone"],
                name=row["name"],
                email=row["email"],
                card_number=row["card_number"],
                tier_code=row["tier_code"],
                enrolled_at=row["enrolled_at"],
            )
            for row in rows
        ]
