# ruff: noqa: S608  (the f-strings join constant SQL fragments; every value is a parameter)
"""Whole lists for the back office's CSV downloads, and the audit log, in SQL.

An export reads in one REPEATABLE READ, read-only transaction through a server-side cursor
(asyncpg's ``Connection.cursor``, fetching ``PREFETCH`` rows at a time): rows go out as they
come, and neither the process nor PostgreSQL's client buffer ever holds the whole list.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import asyncpg

from adapters.persistence import crm_reports
from app.reports import (
    AuditEntry,
    AuditQuery,
    ChurnRisk,
    ChurnRiskQuery,
    ScoredMember,
    SegmentMember,
)
from domain.crm import CrmSettings, RfmSegment, SegmentSpec

PREFETCH = 1000

# $1-$3 as the RFM report, $4 a segment or NULL for all.
_RFM_MEMBERS = f"""
WITH {crm_reports._RFM_CTES}
SELECT rfm.*, m.name, m.tier_code
FROM rfm JOIN members m ON m.id = rfm.member_id
WHERE $4::text IS NULL OR rfm.segment = $4
ORDER BY rfm.monetary DESC, rfm.member_id
"""


async def _rows(
    connection: asyncpg.Connection, sql: str, *args: Any
) -> AsyncIterator[asyncpg.Record]:
    async with connection.transaction(isolation="repeatable_read", readonly=True):
        await connection.execute(crm_reports.REPORT_MEMORY)
        async for record in connection.cursor(sql, *args, prefetch=PREFETCH):
            yield record


async def rfm_members(
    connection: asyncpg.Connection,
    *,
    zone: str,
    as_of: date,
    window_days: int,
    segment: RfmSegment | None,
) -> AsyncIterator[ScoredMember]:
    value = segment.value if segment else None
    async for r in _rows(connection, _RFM_MEMBERS, zone, as_of, window_days, value):
        yield ScoredMember(
            member_id=r["member_id"],
            name=r["name"],
            tier_code=r["tier_code"],
            recency_days=int(r["recency_days"]),
            frequency=int(r["frequency"]),
            monetary=int(r["monetary"]),
            r=int(r["r"]),
            f=int(r["f"]),
            m=int(r["m"]),
            segment=RfmSegment(r["segment"]),
        )


async def segment_members(
    connection: asyncpg.Connection,
    spec: SegmentSpec,
    *,
    today: date,
    zone: str,
    crm: CrmSettings,
) -> AsyncIterator[SegmentMember]:
    inner, args = crm_reports.segment_sql(spec, today=today, zone=zone, crm=crm)
    sql = (
        f"SELECT m.id, m.name, m.tier_code, m.enrolled_at FROM ({inner}) s "
        "JOIN members m ON m.id = s.member_id ORDER BY m.id"
    )
    async for r in _rows(connection, sql, *args):
        yield SegmentMember(r["id"], r["name"], r["tier_code"], r["enrolled_at"])


async def churn_risk_all(
    connection: asyncpg.Connection, query: ChurnRiskQuery
) -> AsyncIterator[ChurnRisk]:
    crm = query.crm
    # LIMIT NULL is no limit; no cursor.
    args = (query.zone, query.today, query.window_days, crm.dormant_days, crm.churned_days,
            query.today, query.within_days, None, None, None)  # fmt: skip
    async for r in _rows(connection, crm_reports._CHURN_RISK, *args):
        yield crm_reports.churn_risk_of(r, crm)


# The audit log: newest first by id (ids grow with time). The statement names only the
# filters given, so that each is planned with its index (migration 2026-12-07: actor, action
# and subject, each followed by id, for the order): a catch-all "$1 IS NULL OR ..." statement
# would be planned once, generically, and scan.


def _like_prefix(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + ":%"


def audit_sql(query: AuditQuery) -> tuple[str, list[object]]:
    conditions: list[str] = []
    args: list[object] = []

    def arg(value: object) -> str:
        args.append(value)
        return f"${len(args)}"

    if query.actor is not None:
        conditions.append(f"actor = {arg(query.actor)}")
    if query.action is not None:
        conditions.append(f"action = {arg(query.action)}")
    if query.entity is not None and query.entity_id is not None:
        conditions.append(f"subject = {arg(f'{query.entity}:{query.entity_id}')}")
    elif query.entity is not None:
        conditions.append(
            f"(subject = {arg(query.entity)} OR subject LIKE {arg(_like_prefix(query.entity))})"
        )
    if query.first_day is not None:
        zone = arg(query.zone)
        conditions.append(f"at >= ({arg(query.first_day)}::date)::timestamp AT TIME ZONE {zone}")
    if query.last_day is not None:
        zone = arg(query.zone)
        conditions.append(f"at < ({arg(query.last_day)}::date + 1)::timestamp AT TIME ZONE {zone}")
    if query.before_id is not None:
        conditions.append(f"id < {arg(query.before_id)}")
    where = " AND ".join(conditions) or "true"
    sql = (
        "SELECT id, at, actor, action, subject, details FROM audit_log "
        f"WHERE {where} ORDER BY id DESC LIMIT {arg(query.limit)}"
    )
    return sql, args


async def audit_log(connection: asyncpg.Connection, query: AuditQuery) -> list[AuditEntry]:
    sql, args = audit_sql(query)
    rows = await connection.fetch(sql, *args)
    return [
        AuditEntry(
            id=r["id"],
            at=r["at"],
            actor=r["actor"],
            action=r["action"],
            subject=r["subject"],
            details=json.loads(r["details"]) if isinstance(r["details"], str) else r["details"],
        )
        for r in rows
    ]
