"""The audit trail: who changed what, newest first, filtered; as JSON pages or CSV."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from typing import Annotated

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from litestar.response import Stream

from adapters.http.controllers.admin_reports import REPORT_DAYS
from adapters.http.controllers.me import decode_cursor, encode_cursor
from adapters.http.csv_export import (
    CSV_ANSWER,
    CSV_DESCRIPTION,
    CSV_MEDIA_TYPE,
    csv_download,
    paged,
)
from adapters.http.schemas.audit import AuditEntryOut, AuditLogPageOut
from adapters.http.schemas.problem import problems
from app import transactions
from app.container import Container
from app.reports import AuditEntry, AuditQuery
from app.unit_of_work import UnitOfWork
from domain.errors import InvalidInput
from domain.program import ProgramSettings
from domain.reporting import optional_period

EXPORT_PAGE = 1000
# Text as the audit log stores it: no control character, and no U+FFFD, which is what a query
# string's invalid UTF-8 decodes to (a lone surrogate included): refused, not searched for.
TEXT = r"^[^\x00-\x1f\x7f\ufffd]+$"

Actor = Annotated[
    str | None,
    QueryParameter(
        min_length=1,
        max_length=200,
        pattern=TEXT,
        description="who: `admin:<subject>`, `pos:<terminal id>`, ... (exact)",
    ),
]
Action = Annotated[
    str | None,
    QueryParameter(
        min_length=1,
        max_length=64,
        pattern=r"^[a-z][a-z_.]*$",
        description="what: `program.updated`, ... (exact)",
    ),
]
Entity = Annotated[
    str | None,
    QueryParameter(
        min_length=1,
        max_length=64,
        pattern=r"^[a-z][a-z_]*$",
        description="the kind of thing changed: `program`, `tiers`, `member`, `store`, ...",
    ),
]
EntityId = Annotated[
    str | None,
    QueryParameter(
        min_length=1,
        max_length=128,
        pattern=TEXT,
        description="with `entity`: one of them (`entity=member&entity_id=<uuid>`)",
    ),
]
From = Annotated[
    date | None,
    QueryParameter(
        name="from", description="first day (programme time zone); default: none. " + REPORT_DAYS
    ),
]
To = Annotated[
    date | None,
    QueryParameter(description="the day after the period; default: none. " + REPORT_DAYS),
]
FILTERS = (
    "Filters, each optional: `actor`, `action`, `entity` (with `entity_id`), and the period "
    "[from, to) in local days of the programme's time zone."
)


class AdminAuditLogController(Controller):
    path = "/audit-log"
    tags = ["admin"]

    async def _query(
        self,
        container: Container,
        actor: str | None,
        action: str | None,
        entity: str | None,
        entity_id: str | None,
        from_: date | None,
        to: date | None,
    ) -> AuditQuery:
        async def load(uow: UnitOfWork) -> ProgramSettings:
            return await uow.program.get()

        program = await transactions.read(container.uow, load)
        optional_period(from_, to, container.clock.now().astimezone(program.zone).date())
        if entity_id is not None and entity is None:
            raise InvalidInput("entity_id needs entity", field="entity_id")
        return AuditQuery(
            zone=program.time_zone,
            actor=actor,
            action=action,
            entity=entity,
            entity_id=entity_id,
            first_day=from_,
            last_day=date.fromordinal(to.toordinal() - 1) if to else None,
        )

    @get(
        operation_id="listAuditLog",
        summary="The audit trail: every audited change, newest first",
        description=FILTERS,
        responses=problems(401, 403, 422),
    )
    async def list_(
        self,
        container: NamedDependency[Container],
        actor: Actor = None,
        action: Action = None,
        entity: Entity = None,
        entity_id: EntityId = None,
        from_: From = None,
        to: To = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
        cursor: Annotated[str | None, QueryParameter(max_length=64)] = None,
    ) -> AuditLogPageOut:
        before_id = decode_cursor(cursor)
        query = await self._query(container, actor, action, entity, entity_id, from_, to)
        entries = await container.reports.audit_log(
            replace(query, before_id=before_id, limit=limit)
        )
        return AuditLogPageOut(
            items=[AuditEntryOut.of(e) for e in entries],
            next_cursor=encode_cursor(entries[-1].id) if len(entries) == limit else None,
        )

    @get(
        "/csv",
        operation_id="exportAuditLog",
        summary="The audit trail as CSV, newest first, with the filters of the list",
        description=FILTERS + CSV_DESCRIPTION,
        media_type=CSV_MEDIA_TYPE,
        response_description=CSV_ANSWER,
        responses=problems(401, 403, 422),
    )
    async def export(
        self,
        container: NamedDependency[Container],
        actor: Actor = None,
        action: Action = None,
        entity: Entity = None,
        entity_id: EntityId = None,
        from_: From = None,
        to: To = None,
    ) -> Stream:
        query = replace(
            await self._query(container, actor, action, entity, entity_id, from_, to),
            limit=EXPORT_PAGE,
        )

        async def page(before_id: int) -> tuple[list[AuditEntryOut], int | None]:
            entries = await container.reports.audit_log(replace(query, before_id=before_id))
            return _out(entries), _last(entries, query.limit)

        first = await container.reports.audit_log(query)
        return csv_download(
            AuditEntryOut, paged(_out(first), _last(first, query.limit), page), "audit-log.csv"
        )


def _out(entries: Sequence[AuditEntry]) -> list[AuditEntryOut]:
    return [AuditEntryOut.of(e) for e in entries]


def _last(entries: Sequence[AuditEntry], limit: int) -> int | None:
    return entries[-1].id if len(entries) == limit else None
