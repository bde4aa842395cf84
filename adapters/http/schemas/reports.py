from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

import msgspec
from msgspec import Meta

from adapters.http.schemas.common import Output
from app.reports import PointsLiability, breakage_rate
from domain.program import ProgramSettings


class OutstandingPointsOut(Output, kw_only=True):
    available: int
    pending: int
    debt: int


class OutstandingValueOut(Output, kw_only=True):
    available: Annotated[int, Meta(description="minor units: floor(available x point_value)")]
    pending: Annotated[int, Meta(description="minor units: floor(pending x point_value)")]
    debt: Annotated[int, Meta(description="minor units: floor(debt x point_value)")]


class ExpiryMonthOut(Output, kw_only=True):
    month: Annotated[
        str,
        Meta(
            pattern=r"^([0-9]{4}-[0-9]{2}|never)$",
            description=(
                "the month, in the programme's time zone, of the last day the points can be "
                "spent (points expiring at the end of 31 January count in January), or never"
            ),
        ),
    ]
    points: int


class PeriodFlowsOut(Output, kw_only=True):
    from_: date = msgspec.field(name="from")
    to: date
    closed: Annotated[bool, Meta(description="the period has ended (to <= today)")]
    earned: int
    redeemed: int
    expired: int
    reversed: int
    restored: int
    adjusted: int
    spent_on_rewards: Annotated[
        int,
        Meta(
            description="of redeemed and restored: points spent on catalogue rewards in the "
            "period, net of the redemptions cancelled in it (not added to net again)"
        ),
    ]
    net: Annotated[int, Meta(description="the sum of every entry posted in the period")]
    breakage_rate: (
        Annotated[
            str,
            Meta(
                pattern=r"^[0-9]+\.[0-9]{4}$",
                description=(
                    "-expired / earned as a decimal, floored to 4 places; null while the "
                    "period is open or when nothing was earned in it"
                ),
            ),
        ]
        | None
    )


class PointsLiabilityOut(Output, kw_only=True):
    currency: str
    point_value: Annotated[Decimal, Meta(description="minor units one point is worth")]
    time_zone: str
    as_of: datetime
    outstanding: OutstandingPointsOut
    outstanding_value: OutstandingValueOut
    available_by_expiry_month: list[ExpiryMonthOut]
    period: PeriodFlowsOut

    @classmethod
    def of(
        cls,
        report: PointsLiability,
        program: ProgramSettings,
        *,
        start: date,
        end: date,
        today: date,
        as_of: datetime,
    ) -> PointsLiabilityOut:
        owed = report.outstanding
        flows = report.flows
        closed = end <= today
        rate = breakage_rate(flows) if closed else None
        return cls(
            currency=program.currency,
            point_value=program.point_value,
            time_zone=program.time_zone,
            as_of=as_of,
            outstanding=OutstandingPointsOut(
                available=owed.available, pending=owed.pending, debt=owed.debt
            ),
            outstanding_value=OutstandingValueOut(
                available=program.value_of(owed.available),
                pending=program.value_of(owed.pending),
                debt=program.value_of(owed.debt),
            ),
            available_by_expiry_month=[
                ExpiryMonthOut(month=m.month, points=m.points) for m in report.by_expiry_month
            ],
            period=PeriodFlowsOut(
                from_=start,
                to=end,
                closed=closed,
                earned=flows.earned,
                redeemed=flows.redeemed,
                expired=flows.expired,
                reversed=flows.reversed,
                restored=flows.restored,
                adjusted=flows.adjusted,
                spent_on_rewards=flows.spent_on_rewards,
                net=flows.net,
                breakage_rate=None if rate is None else str(rate),
            ),
        )
