"""Segments a campaign can target, and how many members each reaches."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from litestar.response import Stream

from adapters.http.controllers.admin_reports import REPORT_DAYS
from adapters.http.csv_export import (
    CSV_ANSWER,
    CSV_DESCRIPTION,
    CSV_MEDIA_TYPE,
    csv_download,
    mapped,
)
from adapters.http.schemas.crm import SegmentMemberOut, SegmentPreviewOut
from adapters.http.schemas.problem import problems
from app import transactions
from app.container import Container
from app.use_cases.crm import SegmentPreview, preview_segment
from app.use_cases.program import get_program
from domain.crm import MAX_WINDOW_DAYS, parse_segment_spec


class AdminSegmentsController(Controller):
    path = "/segments"
    tags = ["admin", "crm"]

    @get(
        "/preview",
        operation_id="previewSegment",
        summary="How many members a segment reaches, before a campaign issues anything",
        description=(
            "Exactly one of `rfm` (an RFM segment, scored over window_days ending on as_of), "
            "`lifecycle` (a stage on as_of) or `tier` (a tier code). as_of defaults to today "
            "in the programme's time zone. The same spec, as JSON "
            '(`{"rfm": "champions", "as_of": "2011-12-10", "window_days": 365}`, '
            '`{"lifecycle": "dormant"}`, `{"tier": "gold"}`), is what a campaign targets.'
        ),
        responses=problems(401, 403, 422),
    )
    async def preview(
        self,
        container: NamedDependency[Container],
        rfm: Rfm = None,
        lifecycle: Lifecycle = None,
        tier: Tier = None,
        as_of: AsOf = None,
        window_days: WindowDays = None,
    ) -> SegmentPreviewOut:
        preview = await _preview(container, rfm, lifecycle, tier, as_of, window_days)
        return SegmentPreviewOut.of(preview)

    @get(
        "/preview/csv",
        operation_id="exportSegmentMembers",
        summary="The members a segment reaches, as CSV (by member id)",
        description="The same parameters as GET /v1/admin/segments/preview; the rows are the "
        "members a campaign to that segment would issue to, read in one snapshot."
        + CSV_DESCRIPTION,
        media_type=CSV_MEDIA_TYPE,
        response_description=CSV_ANSWER,
        responses=problems(401, 403, 422),
    )
    async def members_csv(
        self,
        container: NamedDependency[Container],
        rfm: Rfm = None,
        lifecycle: Lifecycle = None,
        tier: Tier = None,
        as_of: AsOf = None,
        window_days: WindowDays = None,
    ) -> Stream:
        preview = await _preview(container, rfm, lifecycle, tier, as_of, window_days)
        program = await transactions.read(container.uow, get_program)
        rows = container.reports.segment_members(
            preview.spec, today=preview.today, zone=program.time_zone, crm=program.crm
        )
        return csv_download(SegmentMemberOut, mapped(rows, SegmentMemberOut.of), "segment.csv")


Rfm = Annotated[str | None, QueryParameter(max_length=64)]
Lifecycle = Annotated[str | None, QueryParameter(max_length=64)]
Tier = Annotated[str | None, QueryParameter(max_length=64)]
AsOf = Annotated[date | None, QueryParameter(description="default today. " + REPORT_DAYS)]
WindowDays = Annotated[int | None, QueryParameter(ge=1, le=MAX_WINDOW_DAYS)]


async def _preview(
    container: Container,
    rfm: str | None,
    lifecycle: str | None,
    tier: str | None,
    as_of: date | None,
    window_days: int | None,
) -> SegmentPreview:
    """The segment, checked (a refusal is a problem answer before any CSV starts)."""
    spec = parse_segment_spec(
        {"rfm": rfm, "lifecycle": lifecycle, "tier": tier, "as_of": as_of,
         "window_days": window_days}
    )  # fmt: skip
    return await transactions.read(
        container.uow, lambda uow: preview_segment(spec, uow, clock=container.clock)
    )
