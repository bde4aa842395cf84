"""Console pages of the CRM (issue #18): the RFM grid as a heat map and its segments, a
cell's members page by page, the churn-risk list, lifecycle flows and regions, each list also
as CSV.

The grid, the lifecycle flows and the regions are read from the snapshots the jobs write
(adapters/persistence/console_snapshots.py): a page load reads a few rows, never every member.
The churn list and the whole RFM member export come from the report ports /v1/admin/reports
uses; every CSV is streamed by the same helper as the API's (adapters/http/csv_export.py),
behind the console's session and permission table.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.response import Stream, Template

from adapters.http.console.controller import _formats, _page, _program
from adapters.http.console.paging import uuid_or_none
from adapters.http.csv_export import csv_download, mapped
from adapters.http.schemas.crm import ChurnRiskOut, RegionOut, RfmMemberOut, StageFlowOut
from app.container import Container
from app.reports import ChurnRisk, ScoredMember
from domain.crm import DEFAULT_WINDOW_DAYS, LifecycleStage, RfmSegment, segment_of
from domain.program import ProgramSettings

T = TypeVar("T")

LISTED = 200
PAGE = 50  # a cell's members per page
CHURN_WITHIN_DAYS = 30  # dormant for at most this many days
CSV_PAGE = 1000  # rows per read of a cell's CSV
SCORES = (1, 2, 3, 4, 5)
BIGINT = 2**63


def _today(container: Container, program: ProgramSettings) -> date:
    return container.clock.now().astimezone(program.zone).date()


def _cursor(after: str) -> tuple[int, UUID] | None:
    """``<spend>:<member id>`` as the cell page writes it; None when malformed."""
    spend, _, member = after.partition(":")
    try:
        value, member_id = int(spend), UUID(member)
    except ValueError:
        return None
    return (value, member_id) if -BIGINT <= value < BIGINT else None


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
        """The RFM snapshot's members counted per (R, F) cell, and per segment."""
        program = await _program(container)
        grid = await container.reports.rfm_grid()
        cells = {(r, f): 0 for r in SCORES for f in SCORES}
        segments = {segment: [0, 0] for segment in RfmSegment}  # members, monetary
        for cell in grid.cells if grid else []:
            cells[(cell.r, cell.f)] = cell.members
            counted = segments[segment_of(cell.r, cell.f)]
            counted[0] += cell.members
            counted[1] += cell.monetary
        largest = max(cells.values()) or 1
        scored = grid.members_scored if grid else 0
        return _page(
            request,
            "crm.html",
            _formats(request, program),
            grid=grid,
            cells=cells,
            heat={cell: (4 * count + largest - 1) // largest for cell, count in cells.items()},
            scores=SCORES,
            scored=scored,
            segments=[
                (segment, members, Decimal(members) / scored if scored else Decimal(0),
                 monetary // members if members else 0)
                for segment, (members, monetary) in segments.items()
            ],
        )  # fmt: skip

    @get("/crm/cell", operation_id="console.crm.cell")
    async def cell(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Container],
        r: FromQuery[int] = 0,
        f: FromQuery[int] = 0,
        after: FromQuery[str] = "",
    ) -> Template:
        """The members of one (R, F) cell of the snapshot, most valuable first, a page at a
        time (the cursor is the last row's spend and member id)."""
        program = await _program(container)
        formats = _formats(request, program)
        cursor = _cursor(after)
        if r not in SCORES or f not in SCORES or (after and cursor is None):
            return _page(request, "crm_cell.html", formats, 422, invalid=True, r=0, f=0)
        grid = await container.reports.rfm_grid()
        total = next((c.members for c in grid.cells if (c.r, c.f) == (r, f)), 0) if grid else 0
        members = list(
            await container.reports.rfm_cell_members(r=r, f=f, limit=PAGE + 1, after=cursor)
        )
        more = len(members) > PAGE
        members = members[:PAGE]
        last = members[-1] if members else None
        return _page(
            request,
            "crm_cell.html",
            formats,
            r=r,
            f=f,
            grid=grid,
            members=members,
            total=total,
            first_page=cursor is None,
            next_after=f"{last.monetary}:{last.member_id}" if more and last else None,
        )

    @get("/crm/cell.csv", operation_id="console.crm.cell_csv")
    async def cell_csv(
        self, container: NamedDependency[Container], r: FromQuery[int] = 0, f: FromQuery[int] = 0
    ) -> Stream:
        """Every member of the cell in the snapshot, as the API's RFM member CSV."""
        reports = container.reports

        async def rows() -> AsyncIterator[ScoredMember]:
            after: tuple[int, UUID] | None = None
            while r in SCORES and f in SCORES:
                page = await reports.rfm_cell_members(r=r, f=f, limit=CSV_PAGE, after=after)
                for member in page:
                    yield member
                if len(page) < CSV_PAGE:
                    return
                after = (page[-1].monetary, page[-1].member_id)

        return csv_download(RfmMemberOut, mapped(rows(), RfmMemberOut.of), f"rfm-r{r}-f{f}.csv")

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
        """Valuable members who became dormant in the 30 days up to the RFM snapshot's day,
        most valuable first (from the snapshot: scoring everyone per page load took seconds
        at 100,000 members)."""
        program = await _program(container)
        snapshot = await container.reports.churn_risk_snapshot(
            crm=program.crm, within_days=CHURN_WITHIN_DAYS, limit=LISTED, after=None
        )
        return _page(
            request,
            "churn.html",
            _formats(request, program),
            snapshot=snapshot,
            rows=snapshot.rows if snapshot else [],
        )

    @get("/crm/churn.csv", operation_id="console.crm.churn_csv")
    async def churn_csv(self, container: NamedDependency[Container]) -> Stream:
        """The whole churn-risk list of the same snapshot, as the API's CSV."""
        program = await _program(container)
        reports = container.reports

        async def rows() -> AsyncIterator[ChurnRisk]:
            after: tuple[int, UUID] | None = None
            while True:
                page = await reports.churn_risk_snapshot(
                    crm=program.crm, within_days=CHURN_WITHIN_DAYS, limit=CSV_PAGE, after=after
                )
                for row in page.rows if page else []:
                    yield row
                if page is None or len(page.rows) < CSV_PAGE:
                    return
                after = (page.rows[-1].monetary, page.rows[-1].member_id)

        return csv_download(ChurnRiskOut, mapped(rows(), ChurnRiskOut.of), "churn-risk.csv")

    @get("/crm/lifecycle", operation_id="console.crm.lifecycle")
    async def lifecycle(
        self, request: Request[Any, Any, Any], container: NamedDependency[Container]
    ) -> Template:
        """Members per lifecycle stage at the start and the end of the snapshot's period, and
        who moved from each stage to each other, as a from x to matrix."""
        program = await _program(container)
        snapshot = await container.reports.lifecycle_snapshot()
        matrix: dict[tuple[LifecycleStage | None, LifecycleStage], int] = {}
        if snapshot:
            for flow in snapshot.report.flows:
                matrix[(flow.from_stage, flow.to_stage)] = flow.members
        return _page(
            request,
            "crm_lifecycle.html",
            _formats(request, program),
            snapshot=snapshot,
            stages=list(LifecycleStage),
            origins=[None, *LifecycleStage],
            matrix=matrix,
            timedelta1=timedelta(days=1),
        )

    @get("/crm/lifecycle.csv", operation_id="console.crm.lifecycle_csv")
    async def lifecycle_csv(self, container: NamedDependency[Container]) -> Stream:
        """The snapshot's flows, as the API's lifecycle report's flows."""
        snapshot = await container.reports.lifecycle_snapshot()
        flows = snapshot.report.flows if snapshot else []
        rows = (
            StageFlowOut(from_=flow.from_stage, to=flow.to_stage, members=flow.members)
            for flow in flows
        )
        return csv_download(StageFlowOut, _each(rows), "lifecycle-flows.csv")

    @get("/crm/regions", operation_id="console.crm.regions")
    async def regions(
        self, request: Request[Any, Any, Any], container: NamedDependency[Container]
    ) -> Template:
        """Members, buyers, sales and net spend per member region over the snapshot's days."""
        program = await _program(container)
        snapshot = await container.reports.regions_snapshot()
        rows = snapshot.report.rows if snapshot else []
        return _page(
            request,
            "crm_regions.html",
            _formats(request, program),
            snapshot=snapshot,
            rows=rows,
            largest=max((row.net_spend for row in rows), default=0) or 1,
        )

    @get("/crm/regions.csv", operation_id="console.crm.regions_csv")
    async def regions_csv(self, container: NamedDependency[Container]) -> Stream:
        """The snapshot's regions, as the API's regions report's rows."""
        snapshot = await container.reports.regions_snapshot()
        rows = snapshot.report.rows if snapshot else []
        return csv_download(RegionOut, _each(RegionOut.of(row) for row in rows), "regions.csv")


async def _each(items: Iterable[T]) -> AsyncIterator[T]:
    for item in items:
        yield item
