"""Segments a campaign can target, and how many members each reaches."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from adapters.http.controllers.admin_reports import REPORT_DAYS
from adapters.http.schemas.crm import SegmentPreviewOut
from adapters.http.schemas.problem import problems
from app import transactions
from app.container import Container
from app.use_cases.crm import preview_segment
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
        rfm: Annotated[str | None, QueryParameter(max_length=64)] = None,
        lifecycle: Annotated[str | None, QueryParameter(max_length=64)] = None,
        tier: Annotated[str | None, QueryParameter(max_length=64)] = None,
        as_of: Annotated[
            date | None, QueryParameter(description="default today. " + REPORT_DAYS)
        ] = None,
        window_days: Annotated[int | None, QueryParameter(ge=1, le=MAX_WINDOW_DAYS)] = None,
    ) -> SegmentPreviewOut:
        spec = parse_segment_spec(
            {
                "rfm": rfm,
                "lifecycle": lifecycle,
                "tier": tier,
                "as_of": as_of,
                "window_days": window_days,
            }
        )
        preview = await transactions.read(
            container.uow, lambda uow: preview_segment(spec, uow, clock=container.clock)
        )
        return SegmentPreviewOut.of(preview)
