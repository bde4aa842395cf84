from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from adapters.http.schemas.problem import problems
from adapters.http.schemas.reports import PointsLiabilityOut
from app import transactions
from app.container import Container
from app.unit_of_work import UnitOfWork
from domain.errors import InvalidInput
from domain.program import ProgramSettings

PeriodFrom = Annotated[
    date | None,
    QueryParameter(
        name="from",
        description="first day of the period (programme time zone); default: the first day "
        "of the month of `to` - 1 day, or of the current month",
    ),
]
PeriodTo = Annotated[
    date | None,
    QueryParameter(
        description="the day after the period (exclusive); default: the first day of the "
        "month after `from`, or of next month",
    ),
]


def _first_of_next_month(day: date) -> date:
    return date(day.year + 1, 1, 1) if day.month == 12 else date(day.year, day.month + 1, 1)


def period(start: date | None, end: date | None, today: date) -> tuple[date, date]:
    """[start, end) with the defaults filled in: the current month when neither is given."""
    try:
        if start is None and end is None:
            start = today.replace(day=1)
        if start is None:
            assert end is not None
            start = (end - timedelta(days=1)).replace(day=1)
        if end is None:
            end = _first_of_next_month(start)
    except (ValueError, OverflowError):
        raise InvalidInput("the period is outside the supported dates", field="from") from None
    if start >= end:
        raise InvalidInput("`from` must be before `to`", field="from")
    return start, end


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
