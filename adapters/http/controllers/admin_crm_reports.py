"""CRM reports: RFM segments, lifecycle stages and flows, churn warnings, regions."""

from __future__ import annotations

import base64
import binascii
from datetime import date
from typing import Annotated
from uuid import UUID

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from litestar.response import Stream

from adapters.http.controllers.admin_reports import REPORT_DAYS, PeriodFrom, PeriodTo
from adapters.http.csv_export import (
    CSV_ANSWER,
    CSV_DESCRIPTION,
    CSV_MEDIA_TYPE,
    csv_download,
    mapped,
)
from adapters.http.schemas.crm import (
    ChurnRiskOut,
    ChurnRiskPageOut,
    LifecycleReportOut,
    RegionOut,
    RegionsOut,
    RfmMemberOut,
    RfmReportOut,
)
from adapters.http.schemas.problem import problems
from app import transactions
from app.container import Container
from app.reports import ChurnRiskQuery
from app.unit_of_work import UnitOfWork
from domain.crm import DEFAULT_WINDOW_DAYS, MAX_WINDOW_DAYS, RfmSegment
from domain.errors import InvalidInput
from domain.program import ProgramSettings
from domain.reporting import optional_period, period, require_report_day

AsOf = Annotated[
    date | None,
    QueryParameter(
        description="the last day of the window (programme time zone); default today. "
        + REPORT_DAYS
    ),
]
WindowDays = Annotated[
    int,
    QueryParameter(ge=1, le=MAX_WINDOW_DAYS, description="calendar days ending on as_of"),
]
Limit = Annotated[int, QueryParameter(ge=1, le=200)]
Cursor = Annotated[str | None, QueryParameter(max_length=128)]


async def _program(container: Container) -> ProgramSettings:
    async def load(uow: UnitOfWork) -> ProgramSettings:
        return await uow.program.get()

    return await transactions.read(container.uow, load)


def _today(container: Container, program: ProgramSettings) -> date:
    return container.clock.now().astimezone(program.zone).date()


def _encode(monetary: int, member_id: UUID) -> str:
    return base64.urlsafe_b64encode(f"m{monetary}:{member_id}".encode()).decode().rstrip("=")


def _decode(cursor: str | None) -> tuple[int, UUID] | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        monetary, member_id = raw[1:].split(":")
        if raw[:1] != "m":
            raise ValueError(raw)
        return int(monetary), UUID(member_id)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput("the cursor is not one this API gave out", field="cursor") from None


class AdminCrmReportsController(Controller):
    path = "/reports"
    tags = ["admin", "crm"]

    @get(
        "/rfm",
        operation_id="getRfmReport",
        summary="RFM scores and segments: members, share and averages per segment",
        description=(
            "Members with at least one sale in the window_days calendar days ending on as_of "
            "(inclusive, programme time zone) are scored. Recency = days from the last sale "
            "date to as_of; frequency = number of sales; monetary = sales minus refunds dated "
            "in the window. Each score is 1 + floor(5 x (rank - 1) / n), rank being SQL RANK() "
            "by frequency ascending (F), monetary ascending (M), recency descending (R). "
            "Segments from (R, F): champions R5 F4-5; loyal R3-4 F4-5; potential_loyalists "
            "R4-5 F2-3; new_customers R5 F1; promising R4 F1; need_attention R3 F3; "
            "about_to_sleep R3 F1-2; at_risk R1-2 F3-4; cant_lose_them R1-2 F5; hibernating "
            "R2 F1-2; lost R1 F1-2. Every segment is listed, empty ones with 0."
        ),
        responses=problems(401, 403, 422),
    )
    async def rfm(
        self,
        container: NamedDependency[Container],
        as_of: AsOf = None,
        window_days: WindowDays = DEFAULT_WINDOW_DAYS,
    ) -> RfmReportOut:
        program = await _program(container)
        today = _today(container, program)
        report = await container.reports.rfm(
            zone=program.time_zone,
            as_of=require_report_day(as_of, today, "as_of") if as_of else today,
            window_days=window_days,
        )
        return RfmReportOut.of(report)

    @get(
        "/lifecycle",
        operation_id="getLifecycleReport",
        summary="Members per lifecycle stage at the start and end of a period, and the flows",
        description=(
            "Stages: prospect (no sale yet), new (first sale less than new_days ago), active, "
            "dormant (no sale for dormant_days), churned (no sale for churned_days); the "
            "thresholds are the programme's `crm` settings. The period is [from, to) in the "
            "programme's time zone (default: the current month); stages are taken at the end "
            "of the day before `from` and at the end of the day before `to`. Flows count the "
            "members whose stage differs, by (from, to); from is null for members enrolled "
            "during the period."
        ),
        responses=problems(401, 403, 422),
    )
    async def lifecycle(
        self,
        container: NamedDependency[Container],
        from_: PeriodFrom = None,
        to: PeriodTo = None,
    ) -> LifecycleReportOut:
        program = await _program(container)
        start, end = period(from_, to, _today(container, program))
        report = await container.reports.lifecycle(
            zone=program.time_zone, start=start, end=end, crm=program.crm
        )
        return LifecycleReportOut.of(report)

    @get(
        "/churn-risk",
        operation_id="getChurnRisk",
        summary="Valuable members who became dormant recently, most valuable first",
        description=(
            "Members whose last sale is between dormant_days and dormant_days + within_days "
            "ago (they turned dormant in the last within_days days, and are not churned) and "
            "who are in the top monetary quintile (M score 5 over the window_days ending "
            "today) or on one of the two highest tiers above the entry tier. Ordered by "
            "monetary descending."
        ),
        responses=problems(401, 403, 422),
    )
    async def churn_risk(
        self,
        container: NamedDependency[Container],
        within_days: Annotated[int, QueryParameter(ge=1, le=3660)] = 30,
        window_days: WindowDays = DEFAULT_WINDOW_DAYS,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> ChurnRiskPageOut:
        after = _decode(cursor)
        program = await _program(container)
        today = _today(container, program)
        rows = await container.reports.churn_risk(
            ChurnRiskQuery(
                zone=program.time_zone,
                today=today,
                crm=program.crm,
                window_days=window_days,
                within_days=within_days,
                limit=limit + 1,
                after=after,
            )
        )
        more = len(rows) > limit
        rows = rows[:limit]
        return ChurnRiskPageOut(
            as_of=today,
            items=[ChurnRiskOut.of(r) for r in rows],
            next_cursor=_encode(rows[-1].monetary, rows[-1].member_id) if more else None,
        )

    @get(
        "/churn-risk/csv",
        operation_id="exportChurnRisk",
        summary="The whole churn-risk list as CSV, most valuable first",
        description="The members of GET /v1/admin/reports/churn-risk, all of them, read in one "
        "snapshot." + CSV_DESCRIPTION,
        media_type=CSV_MEDIA_TYPE,
        response_description=CSV_ANSWER,
        responses=problems(401, 403, 422),
    )
    async def churn_risk_csv(
        self,
        container: NamedDependency[Container],
        within_days: Annotated[int, QueryParameter(ge=1, le=3660)] = 30,
        window_days: WindowDays = DEFAULT_WINDOW_DAYS,
    ) -> Stream:
        program = await _program(container)
        query = ChurnRiskQuery(
            zone=program.time_zone,
            today=_today(container, program),
            crm=program.crm,
            window_days=window_days,
            within_days=within_days,
            limit=0,
        )
        rows = mapped(container.reports.churn_risk_all(query), ChurnRiskOut.of)
        return csv_download(ChurnRiskOut, rows, "churn-risk.csv")

    @get(
        "/rfm/members/csv",
        operation_id="exportRfmMembers",
        summary="Every member the RFM report scores, with scores and segment, as CSV",
        description=(
            "The members behind GET /v1/admin/reports/rfm (same as_of and window_days, same "
            "scoring), most valuable (monetary) first; `segment` keeps one segment."
            + CSV_DESCRIPTION
        ),
        media_type=CSV_MEDIA_TYPE,
        response_description=CSV_ANSWER,
        responses=problems(401, 403, 422),
    )
    async def rfm_members_csv(
        self,
        container: NamedDependency[Container],
        as_of: AsOf = None,
        window_days: WindowDays = DEFAULT_WINDOW_DAYS,
        segment: Annotated[RfmSegment | None, QueryParameter()] = None,
    ) -> Stream:
        program = await _program(container)
        today = _today(container, program)
        rows = container.reports.rfm_members(
            zone=program.time_zone,
            as_of=require_report_day(as_of, today, "as_of") if as_of else today,
            window_days=window_days,
            segment=segment,
        )
        return csv_download(RfmMemberOut, mapped(rows, RfmMemberOut.of), "rfm-members.csv")

    @get(
        "/regions",
        operation_id="getRegionsReport",
        summary="Members, buyers, sales and net spend by region",
        description=(
            "Per region (null: members without one): members enrolled by the end of the "
            "period, buyers (members with a sale in it), their sales and net spend (sales "
            "minus refunds dated in the period, minor units). The period is [from, to) in the "
            "programme's time zone; without either bound, all time."
        ),
        responses=problems(401, 403, 422),
    )
    async def regions(
        self,
        container: NamedDependency[Container],
        from_: Annotated[
            date | None,
            QueryParameter(name="from", description="first day; default: none. " + REPORT_DAYS),
        ] = None,
        to: Annotated[
            date | None,
            QueryParameter(description="the day after the period; default: none. " + REPORT_DAYS),
        ] = None,
    ) -> RegionsOut:
        program = await _program(container)
        optional_period(from_, to, _today(container, program))
        last_day = date.fromordinal(to.toordinal() - 1) if to else None
        rows = await container.reports.regions(
            zone=program.time_zone, first_day=from_, last_day=last_day
        )
        return RegionsOut(from_=from_, to=to, regions=[RegionOut.of(r) for r in rows])
