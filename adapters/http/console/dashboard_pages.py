"""The console's dashboard (issue #18): members, sales, points, coupons and draw plays per
day over the last 30 days, the points liability and its value, members per tier.

Everything is read from the snapshot rows ``loyalty jobs snapshot-dashboard`` writes
(adapters/persistence/console_snapshots.py): one read of at most 30 rows, whatever the number
of members. The charts are inline SVG drawn here (charts.py says why), each with its figures in
the table below it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from litestar import Request
from litestar.response import Template

from adapters.http.console.charts import Chart, day_chart
from adapters.http.console.controller import _formats, _page, _program, _value_of_points
from adapters.http.console.i18n import N_
from app.container import Container
from app.reports import DashboardDay
from app.scheduling import DASHBOARD_DAYS

WEEK = 7


@dataclass(frozen=True, slots=True)
class Series:
    field: str  # of DashboardDay
    title: str  # a msgid
    money: bool = False
    line: bool = False


SERIES = (
    Series("sales_amount", N_("Sales per day"), money=True),
    Series("points_earned", N_("Points earned per day")),
    Series("members_total", N_("Members"), line=True),
    Series("members_new", N_("New members per day")),
    Series("coupons_issued", N_("Coupons issued per day")),
    Series("coupons_redeemed", N_("Coupons redeemed per day")),
    Series("draw_plays", N_("Draw plays per day")),
)


def _chart(days: list[DashboardDay], series: Series) -> Chart:
    values = [int(getattr(day, series.field)) for day in days]
    return day_chart([day.day for day in days], values, from_zero=not series.line)


async def dashboard_page(request: Request[Any, Any, Any], container: Container) -> Template:
    program = await _program(container)
    today = container.clock.now().astimezone(program.zone).date()
    first = today - timedelta(days=DASHBOARD_DAYS - 1)
    days = list(await container.reports.dashboard_days(first_day=first, last_day=today))
    standing_day = next((day for day in reversed(days) if day.standing), None)
    standing = standing_day.standing if standing_day else None
    week_start = today - timedelta(days=WEEK - 1)
    return _page(
        request,
        "dashboard.html",
        _formats(request, program),
        days=days,
        first=first,
        today=today,
        latest=days[-1] if days else None,
        new_this_week=sum(day.members_new for day in days if day.day >= week_start),
        standing=standing,
        standing_at=standing_day.computed_at if standing_day else None,
        value_available=_value_of_points(standing.available, program.point_value)
        if standing
        else 0,
        value_debt=_value_of_points(standing.debt, program.point_value) if standing else 0,
        tiers_largest=max(standing.members_per_tier.values(), default=0) or 1 if standing else 1,
        charts=[(series, _chart(days, series)) for series in SERIES],
    )
