"""Console pages of the CRM (issue #18): the RFM grid as a heat map, a cell's members, the
churn-risk list, and the RFM members and the churn-risk list as CSV.

Everything comes from the report ports /v1/admin/reports uses (``rfm``, ``rfm_members``,
``churn_risk``); the CSV is streamed by the same helper as the API's
(adapters/http/csv_export.py), behind the console's session and permission table.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.response import Stream, Template

from adapters.http.console.controller import _formats, _page, _program
from adapters.http.console.paging import Pager, int_or_none, uuid_or_none
from adapters.http.csv_export import csv_download, mapped
from adapters.http.schemas.crm import ChurnRiskOut, RfmMemberOut
from app.container import Container
from app.reports import ChurnRiskQuery, ScoredMember
from domain.crm import DEFAULT_WINDOW_DAYS, RfmSegment
from domain.program import ProgramSettings

LISTED = 200
SCORES = (1, 2, 3, 4, 5)


def _today(container: Container, program: ProgramSettings) -> date:
    return container.clock.now().astimezone(program.zone).date()


def _score(value: int) -> int:
    return value if value in SCORES else 0


def _churn_cursor(text: str) -> tuple[int, UUID] | None:
    """The (monetary, member) keyset cursor of the churn list, `12345:<uuid>`."""
    monetary, _, member = text.partition(":")
    member_id = uuid_or_none(member)
    sign = monetary[1:] if monetary.startswith("-") else monetary
    if member_id is None or not sign.isdigit() or len(sign) > 18:
        return None
    return int(monetary), member_id


class ReportPages(Controller):
    path = "/console"
    include_in_schema = False

    @get("/crm", operation_id="console.crm.rfm")
    async def rfm(
        self, request: Request[Any, Any, Any], container: NamedDependency[Container]
    ) -> Template:
        """The RFM report's segments, and its members counted per (R, F) cell."""
        program = await _program(container)
        today = _today(container, program)
        report = await container.reports.rfm(
            zone=program.time_zone, as_of=today, window_days=DEFAULT_WINDOW_DAYS
        )
        cells = {(r, f): 0 for r in SCORES for f in SCORES}
        async for member in container.reports.rfm_members(
            zone=program.time_zone, as_of=today, window_days=DEFAULT_WINDOW_DAYS, segment=None
        ):
            cells[(member.r, member.f)] = cells.get((member.r, member.f), 0) + 1
        largest = max(cells.values()) or 1
        return _page(
            request,
            "crm.html",
            _formats(request, program),
            report=report,
            cells=cells,
            heat={cell: (4 * count + largest - 1) // largest for cell, count in cells.items()},
            scores=SCORES,
            today=today,
        )

    @get("/crm/cell", operation_id="console.crm.cell")
    async def cell(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Container],
        r: FromQuery[int] = 0,
        f: FromQuery[int] = 0,
    ) -> Template:
        """The members of one (R, F) cell of the grid, most valuable first."""
        program = await _program(container)
        today = _today(container, program)
        # The cell is computed from the scored stream, so its pages go by position in it (the
        # stream's order is stable for a day's scores); the cursor is how many came before.
        pager = Pager.of(request.url.path, dict(request.query_params))
        skip = int_or_none(pager.after) or 0
        members: list[ScoredMember] = []
        total = 0
        async for member in container.reports.rfm_members(
            zone=program.time_zone, as_of=today, window_days=DEFAULT_WINDOW_DAYS, segment=None
        ):
            if member.r == r and member.f == f:
                total += 1
                if skip < total <= skip + LISTED:
                    members.append(member)
        return _page(
            request,
            "crm_cell.html",
            _formats(request, program),
            r=_score(r),
            f=_score(f),
            members=members,
            total=total,
            pager=pager.followed_by(skip + LISTED if total > skip + LISTED else None),
        )

    @get("/crm/rfm.csv", operation_id="console.crm.rfm_csv")
    async def rfm_csv(
        self, container: NamedDependency[Container], segment: FromQuery[str] = ""
    ) -> Stream:
        """Every scored member (or one segment's), streamed as the API's CSV."""
        program = await _program(container)
        chosen = RfmSegment(segment) if segment in set(RfmSegment) else None
        rows = container.reports.rfm_members(
            zone=program.time_zone,
            as_of=_today(container, program),
            window_days=DEFAULT_WINDOW_DAYS,
            segment=chosen,
        )
        return csv_download(RfmMemberOut, mapped(rows, RfmMemberOut.of), "rfm-members.csv")

    @get("/crm/churn", operation_id="console.crm.churn")
    async def churn(
        self, request: Request[Any, Any, Any], container: NamedDependency[Container]
    ) -> Template:
        """Valuable members who became dormant in the last 30 days, most valuable first."""
        program = await _program(container)
        pager = Pager.of(request.url.path, dict(request.query_params))
        rows = await container.reports.churn_risk(
            ChurnRiskQuery(
                zone=program.time_zone,
                today=_today(container, program),
                crm=program.crm,
                window_days=DEFAULT_WINDOW_DAYS,
                within_days=30,
                limit=LISTED + 1,
                after=_churn_cursor(pager.after),
            )
        )
        last = rows[LISTED - 1] if len(rows) > LISTED else None
        return _page(
            request,
            "churn.html",
            _formats(request, program),
            rows=rows[:LISTED],
            pager=pager.followed_by(f"{last.monetary}:{last.member_id}" if last else None),
        )

    @get("/crm/churn.csv", operation_id="console.crm.churn_csv")
    async def churn_csv(self, container: NamedDependency[Container]) -> Stream:
        """The whole churn-risk list, streamed as the API's CSV."""
        program = await _program(container)
        query = ChurnRiskQuery(
            zone=program.time_zone,
            today=_today(container, program),
            crm=program.crm,
            window_days=DEFAULT_WINDOW_DAYS,
            within_days=30,
            limit=0,
        )
        rows = mapped(container.reports.churn_risk_all(query), ChurnRiskOut.of)
        return csv_download(ChurnRiskOut, rows, "churn-risk.csv")
