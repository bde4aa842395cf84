from __future__ import annotations

from datetime import date
from typing import Annotated

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from adapters.http.schemas.problem import problems
from adapters.http.schemas.reports import PointsLiabilityOut
from app import transactions
from app.container import Container
from app.unit_of_work import UnitOfWork
from domain.program import ProgramSettings
from domain.reporting import EARLIEST_REPORT_DAY, YEARS_AHEAD, period

REPORT_DAYS = (
    f"From {EARLIEST_REPORT_DAY} to 31 December {YEARS_AHEAD} years after this year; "
    "other days are 422"
)
PeriodFrom = Annotated[
    date | None,
    QueryParameter(
        name="from",
        description="first day of the period (programme time zone); default: the first day "
        "of the month of `to` - 1 day, or of the current month. " + REPORT_DAYS,
    ),
]
PeriodTo = Annotated[
    date | None,
    QueryParameter(
        description="the day after the period (exclusive); default: the first day of the "
        "month after `from`, or of next month. " + REPORT_DAYS,
    ),
]


class AdminReportsController(Controller):
    path = "/reports"
    tags = ["admin"]

    @get(
        "/points-liability",
        operation_id="getPointsLiability",
        summary="Outstanding points and their value, by expiry month, and a period's flows",
        description=(
            "Outstanding available, pending and debt points across all members and their "
            "value at the programme's point value (floored); available points by the month "
            "they expire; and for the period [from, to) in the programme's time zone the "
            "points earned, redeemed, expired, reversed, restored and adjusted (sums of the "
            "entries posted, signed as stored), with the breakage rate for a closed period. "
            "available - debt equals the sum of every ledger entry, and the months add up to "
            "available."
        ),
        responses=problems(401, 403, 422),
    )
    async def points_liability(
        self,
        container: NamedDependency[Container],
        from_: PeriodFrom = None,
        to: PeriodTo = None,
    ) -> PointsLiabilityOut:
        async def load_program(uow: UnitOfWork) -> ProgramSettings:
            return await uow.program.get()

        program = await transactions.read(container.uow, load_program)
        as_of = container.clock.now()
        today = as_of.astimezone(program.zone).date()
        start, end = period(from_, to, today)
        report = await container.reports.points_liability(
            time_zone=program.time_zone, start=start, end=end
        )
        return PointsLiabilityOut.of(
            report, program, start=start, end=end, today=today, as_of=as_of
        )
