"""The till's and the app's reads of a member, each one statement straight on the pool.

No transaction: a single statement sees one snapshot, so the member, tier, balances and
coupons it returns are consistent with each other (more so than the repositories' six reads
in a READ COMMITTED transaction). The statements are fixed strings with numbered parameters,
so asyncpg prepares each once per connection and then only binds and executes it. What each
returns is pinned against app.read_models.UnitOfWorkMemberReads in
tests/integration/test_member_read_models.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from asyncpg import Record
from piccolo.engine.postgres import PostgresEngine

from adapters.persistence.engine import clean_connection
from adapters.persistence.replica import ReadRouter
from adapters.persistence.repositories.members import member_from_row
from app.read_models import (
    MAX_LISTED_COUPONS,
    CardAtTill,
    CouponView,
    EntrySource,
    Expiring,
    MemberAtTill,
    MemberInApp,
    PointsTotals,
)
from app.use_cases.views import TierView
from domain.cards import CardStatus
from domain.member_privacy import is_erased_phone
from domain.members import Member
from domain.points import Reference

# The member (with the active card: none, no member), its tier (the entry tier if the ladder
# lacks it), its points totals. {found} yields member_id and the presented card's status.
_MEMBER = """
WITH found AS ({found})
SELECT f.card_status, m.id, m.phone, m.name, m.email, m.birthday, m.tier_code,
       m.enrolled_store_id, m.enrolled_at, m.preferred_language, m.consent_sms,
       m.consent_email, m.consent_push, c.card_number, t.code AS tier, t.name AS tier_name,
       coalesce(a.available, 0) AS available, coalesce(a.pending, 0) AS pending,
       coalesce(a.debt, 0) AS debt,
       (SELECT coalesce(sum(l.remaining), 0)::bigint FROM points_lots l
        WHERE l.member_id = m.id AND l.frozen AND NOT l.pending AND l.remaining > 0) AS frozen,
       {extra}
FROM found f
LEFT JOIN members m ON m.id = f.member_id
LEFT JOIN member_cards c ON c.member_id = m.id AND c.status = 'active'
LEFT JOIN points_accounts a ON a.member_id = m.id
LEFT JOIN LATERAL (
    SELECT code, name FROM tiers ORDER BY code = m.tier_code DESC, rank LIMIT 1
) t ON m.id IS NOT NULL
"""

# $2 now, $3 channel
_USABLE_COUPONS = f"""ARRAY(
    SELECT ROW(k.code, k.title, k.kind, k.value, k.min_spend, k.expires_at) FROM coupons k
    WHERE k.member_id = m.id AND k.status = 'available' AND k.valid_from <= $2
      AND k.expires_at > $2 AND $3 = ANY(k.channels)
    ORDER BY k.expires_at, k.id LIMIT {MAX_LISTED_COUPONS}
) AS coupons"""  # noqa: S608 (a constant of this module)

# $2 now, $3 until
_EXPIRING = """ARRAY(
    SELECT ROW(l.expires_at, sum(l.remaining)::bigint) FROM points_lots l
    WHERE l.member_id = m.id AND NOT l.pending AND NOT l.frozen AND l.remaining > 0
      AND l.expires_at > $2 AND l.expires_at <= $3
    GROUP BY l.expires_at ORDER BY l.expires_at
) AS expiring"""

_BY_CARD = "SELECT member_id, status AS card_status FROM member_cards WHERE card_number = $1"
_BY_PHONE = "SELECT id AS member_id, NULL::varchar AS card_status FROM members WHERE phone = $1"
_BY_ID = "SELECT $1::uuid AS member_id, NULL::varchar AS card_status"

CARD_AT_TILL = _MEMBER.format(found=_BY_CARD, extra=_USABLE_COUPONS)
PHONE_AT_TILL = _MEMBER.format(found=_BY_PHONE, extra=_USABLE_COUPONS)
MEMBER_AT_TILL = _MEMBER.format(found=_BY_ID, extra=_USABLE_COUPONS)
IN_APP = _MEMBER.format(found=_BY_ID, extra=_EXPIRING)
# Erasure turns the phone into a tombstone (domain.member_privacy).
_PHONE_OF = "SELECT phone FROM members WHERE id = $1"


def _member(row: Record) -> Member | None:
    if row["id"] is None or row["card_number"] is None:
        return None
    return member_from_row(row)


def _totals(row: Record) -> PointsTotals:
    return PointsTotals(row["available"], row["pending"], row["debt"], row["frozen"])


def _at_till(row: Record) -> MemberAtTill | None:
    member = _member(row)
    if member is None:
        return None
    return MemberAtTill(
        member,
        TierView(row["tier"], row["tier_name"]),
        _totals(row),
        [CouponView(*coupon) for coupon in row["coupons"]],
    )


def _member_id(row: Record | None) -> UUID | None:
    # The member a lookup by card or phone found (None: no row, or a card without member).
    if row is None:
        return None
    found: UUID | None = row["id"]
    return found


class PostgresMemberReads:
    """On the replica when one is configured and has replayed the member's last write made
    by this process (adapters/persistence/replica.py), else on the primary."""

    def __init__(self, database: PostgresEngine | ReadRouter) -> None:
        self._reads = ReadRouter.of(database)

    async def _row(self, query: str, *args: Any, member: UUID | None = None) -> Record | None:
        # One autocommitted read leaves no session state: no reset round trip on release.
        async def fetch(connection: Any) -> Record | None:
            row: Record | None = await connection.fetchrow(query, *args)
            return row

        if member is not None:
            return await self._reads.run(fetch, member=member)
        return await self._reads.run(fetch, member_of=_member_id)

    async def card_at_till(
        self, card_number: str, *, now: datetime, channel: str
    ) -> CardAtTill | None:
        row = await self._row(CARD_AT_TILL, card_number, now, channel)
        if row is None:
            return None
        return CardAtTill(CardStatus(row["card_status"]), _at_till(row))

    async def phone_at_till(
        self, phone: str, *, now: datetime, channel: str
    ) -> MemberAtTill | None:
        row = await self._row(PHONE_AT_TILL, phone, now, channel)
        return _at_till(row) if row is not None else None

    async def member_at_till(
        self, member_id: UUID, *, now: datetime, channel: str
    ) -> MemberAtTill | None:
        row = await self._row(MEMBER_AT_TILL, member_id, now, channel, member=member_id)
        return _at_till(row) if row is not None else None

    async def is_erased(self, member_id: UUID) -> bool:
        row = await self._row(_PHONE_OF, member_id, member=member_id)
        return row is not None and is_erased_phone(row["phone"])

    async def in_app(
        self, member_id: UUID, *, now: datetime, until: datetime
    ) -> MemberInApp | None:
        row = await self._row(IN_APP, member_id, now, until, member=member_id)
        if row is None:
            return None
        member = _member(row)
        if member is None:
            return None
        return MemberInApp(
            member,
            TierView(row["tier"], row["tier_name"]),
            _totals(row),
            [Expiring(points, at) for at, points in row["expiring"]],
        )


_ENTRY_SOURCES = """
SELECT 'sale' AS kind, s.id::text AS ref, s.id AS sale_id, s.receipt_id, s.channel, s.store_id,
       st.name AS store_name, NULL::varchar AS refund_id
FROM sales s JOIN stores st ON st.id = s.store_id
WHERE s.id = ANY($1::uuid[])
UNION ALL
SELECT 'refund', f.id::text, s.id, s.receipt_id, s.channel, s.store_id, st.name, f.refund_id
FROM refunds f JOIN sales s ON s.id = f.sale_id JOIN stores st ON st.id = s.store_id
WHERE f.id = ANY($2::uuid[])
"""


def _uuids(references: Sequence[Reference], kind: str) -> list[UUID]:
    found = []
    for reference in references:
        if reference.kind == kind:
            try:
                found.append(UUID(reference.id))
            except ValueError:
                continue
    return found


class PostgresLedgerSources:
    def __init__(self, engine: PostgresEngine) -> None:
        self._engine = engine

    async def of(self, references: Sequence[Reference]) -> dict[Reference, EntrySource]:
        sales, refunds = _uuids(references, "sale"), _uuids(references, "refund")
        if not sales and not refunds:
            return {}
        async with clean_connection(self._engine) as connection:
            rows = await connection.fetch(_ENTRY_SOURCES, sales, refunds)
        return {
            Reference(row["kind"], row["ref"]): EntrySource(
                sale_id=row["sale_id"],
                receipt_id=row["receipt_id"],
                channel=row["channel"],
                store_id=row["store_id"],
                store_name=row["store_name"],
                refund_id=row["refund_id"],
            )
            for row in rows
        }
