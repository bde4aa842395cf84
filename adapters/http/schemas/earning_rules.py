from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

from adapters.http.schemas.common import Input, Output, Page, Points, Timestamp
from app.use_cases.earning_rules import RuleDefinition, Simulation
from domain.earning_rules import (
    Breakdown,
    Conditions,
    EarningRule,
    Effect,
    EffectKind,
    Limits,
    RuleStatus,
)
from domain.errors import InvalidInput

Text = Annotated[str, Meta(min_length=1, max_length=64)]
TextList = Annotated[list[Text], Meta(max_length=1000)]
Limit = Annotated[int, Meta(ge=0, le=10**12)] | None


class EffectIo(Input, kw_only=True):
    kind: Literal["multiplier", "earn_rate", "bonus_per_order", "bonus_per_unit", "exclude"]
    value: Annotated[
        Decimal,
        Meta(
            description="multiplier (above 1, at most 100), earn rate (points per currency "
            "unit, above 0, at most 1000) or bonus points (whole, 1 or more); 0 or omitted "
            "for an exclusion. At most 4 decimal places"
        ),
    ] = Decimal(0)


class ConditionsIo(Input, kw_only=True):
    """Every condition given must hold; an empty list or false means any."""

    skus: TextList = []
    categories: TextList = []
    stores: Annotated[list[UUID], Meta(max_length=1000)] = []
    channels: Annotated[list[Literal["pos", "web"]], Meta(max_length=2)] = []
    tiers: TextList = []
    rfm_segments: TextList = []
    lifecycle_stages: TextList = []
    days_of_week: Annotated[
        list[Annotated[int, Meta(ge=1, le=7)]], Meta(max_length=7, description="1 Monday-7")
    ] = []
    hours: Annotated[
        list[Annotated[int, Meta(ge=0, le=23)]],
        Meta(max_length=24, description="local hours, programme time zone"),
    ] = []
    min_payable: Annotated[int, Meta(ge=0, le=10**12, description="minor units")] = 0
    first_purchase: bool = False
    birthday_month: bool = False

    def to_domain(self) -> Conditions:
        return Conditions(
            skus=frozenset(self.skus),
            categories=frozenset(self.categories),
            stores=frozenset(self.stores),
            channels=frozenset(self.channels),
            tiers=frozenset(self.tiers),
            rfm_segments=frozenset(self.rfm_segments),
            lifecycle_stages=frozenset(self.lifecycle_stages),
            days_of_week=frozenset(self.days_of_week),
            hours=frozenset(self.hours),
            min_payable=self.min_payable,
            first_purchase=self.first_purchase,
            birthday_month=self.birthday_month,
        )

    @classmethod
    def of(cls, c: Conditions) -> ConditionsIo:
        return cls(
            skus=sorted(c.skus),
            categories=sorted(c.categories),
            stores=sorted(c.stores),
            channels=sorted(c.channels),  # type: ignore[arg-type]
            tiers=sorted(c.tiers),
            rfm_segments=sorted(c.rfm_segments),
            lifecycle_stages=sorted(c.lifecycle_stages),
            days_of_week=sorted(c.days_of_week),
            hours=sorted(c.hours),
            min_payable=c.min_payable,
            first_purchase=c.first_purchase,
            birthday_month=c.birthday_month,
        )


class LimitsIo(Input, kw_only=True):
    """Points; null or omitted: no limit. Per member: in the programme's local day, ISO week
    (from Monday) and calendar month, net of refunds. The budget: the rule's points in all,
    net of refunds, held exactly under concurrency."""

    per_order: Limit = None
    per_member_day: Limit = None
    per_member_week: Limit = None
    per_member_month: Limit = None
    budget: Limit = None

    def to_domain(self) -> Limits:
        return Limits(
            self.per_order,
            self.per_member_day,
            self.per_member_week,
            self.per_member_month,
            self.budget,
        )


class EarningRuleIn(Input, kw_only=True):
    name: Annotated[str, Meta(min_length=1, max_length=120)]
    effect: EffectIo
    conditions: ConditionsIo = msgspec.field(default_factory=ConditionsIo)
    limits: LimitsIo = msgspec.field(default_factory=LimitsIo)
    priority: Annotated[int, Meta(ge=-1_000_000, le=1_000_000, description="highest first")] = 0
    exclusive: Annotated[
        bool, Meta(description="once it gives points, the rules after it give none")
    ] = False
    starts_at: Timestamp | None = None
    ends_at: Timestamp | None = None
    status: Literal["active", "paused"] = "active"
    version: (
        Annotated[
            int,
            Meta(
                ge=1,
                le=10**9,
                description="(PUT) the version this change is based on; 409 "
                "`earning_rule_changed` if another was saved since. Omitted: no check",
            ),
        ]
        | None
    ) = None

    def to_definition(self) -> RuleDefinition:
        try:
            effect = Effect(EffectKind(self.effect.kind), self.effect.value)
        except InvalidInput as error:
            raise InvalidInput(error.detail, field=error.field) from None
        definition = RuleDefinition(
            name=self.name,
            effect=effect,
            conditions=self.conditions.to_domain(),
            limits=self.limits.to_domain(),
            priority=self.priority,
            exclusive=self.exclusive,
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            status=RuleStatus(self.status),
        )
        # The whole rule is checked before anything is read or written.
        definition.rule(UUID(int=0), 1)
        return definition


class EarningRuleOut(Output, kw_only=True):
    id: UUID
    version: int
    name: str
    status: str
    effect: EffectIo
    conditions: ConditionsIo
    limits: LimitsIo
    priority: int
    exclusive: bool
    starts_at: datetime | None
    ends_at: datetime | None

    @classmethod
    def of(cls, rule: EarningRule) -> EarningRuleOut:
        lim = rule.limits
        return cls(
            id=rule.id,
            version=rule.version,
            name=rule.name,
            status=rule.status.value,
            effect=EffectIo(kind=rule.effect.kind.value, value=rule.effect.value),
            conditions=ConditionsIo.of(rule.conditions),
            limits=LimitsIo(
                per_order=lim.per_order,
                per_member_day=lim.per_member_day,
                per_member_week=lim.per_member_week,
                per_member_month=lim.per_member_month,
                budget=lim.budget,
            ),
            priority=rule.priority,
            exclusive=rule.exclusive,
            starts_at=rule.starts_at,
            ends_at=rule.ends_at,
        )


class EarningRulePageOut(Page, kw_only=True):
    items: list[EarningRuleOut]


class EarningRuleVersionsOut(Page, kw_only=True):
    items: list[EarningRuleOut]


class ScheduleIn(Input, kw_only=True):
    starts_at: Timestamp | None = None
    ends_at: Timestamp | None = None
    version: Annotated[int, Meta(ge=1, le=10**9)] | None = None


class StatusChangeIn(Input, kw_only=True):
    version: Annotated[int, Meta(ge=1, le=10**9)] | None = None


class SimulateIn(Input, kw_only=True):
    rule: EarningRuleIn
    from_: Annotated[Timestamp, Meta(description="start of the period, inclusive")] = msgspec.field(
        name="from"
    )
    to: Annotated[Timestamp, Meta(description="end of the period, exclusive")]


class SimulationOut(Output, kw_only=True):
    extra_points: Annotated[int, Meta(description="negative for an exclusion")]
    members: int
    sales: int
    cost: Annotated[int, Meta(description="minor units: floor(extra points x point value)")]
    reversed_points: Annotated[
        int,
        Meta(
            description="of extra_points, what the refunds recorded so far against those sales "
            "would have reversed (lines' points with the lines, as a refund reverses them)"
        ),
    ]
    net_extra_points: Annotated[int, Meta(description="extra_points - reversed_points")]
    net_cost: Annotated[int, Meta(description="minor units: floor(net extra points x point value)")]
    currency: str
    point_value: str
    rule: EarningRuleOut

    @classmethod
    def of(cls, s: Simulation) -> SimulationOut:
        f = s.forecast
        return cls(
            extra_points=f.extra_points,
            members=f.members,
            sales=f.sales,
            cost=f.cost_minor,
            reversed_points=f.reversed_points,
            net_extra_points=f.net_extra_points,
            net_cost=f.net_cost_minor,
            currency=s.currency,
            point_value=s.point_value,
            rule=EarningRuleOut.of(s.rule),
        )


class RulePointsOut(Output, kw_only=True):
    rule_id: UUID
    version: int
    name: str
    kind: str
    points: Points
    wanted: Annotated[int, Meta(description="before limits")]
    cut: Annotated[int, Meta(description="what a limit took (wanted - points)")]
    cut_by: (
        Literal["per_order", "per_member_day", "per_member_week", "per_member_month", "budget"]
        | None
    )


class PointsBreakdownOut(Output, kw_only=True):
    """What a till prints: base points (earn rate x tier multiplier on the lines that earn),
    then each rule with its name and points, and what a limit cut. total = base + rules."""

    base: int
    tier_multiplier: str
    rules: list[RulePointsOut]
    excluded_lines: Annotated[list[int], Meta(description="0-based line numbers earning nothing")]
    total: int

    @classmethod
    def of(cls, b: Breakdown) -> PointsBreakdownOut:
        return cls(
            base=b.base,
            tier_multiplier=str(b.tier_multiplier),
            rules=[
                RulePointsOut(
                    rule_id=r.rule_id,
                    version=r.version,
                    name=r.name,
                    kind=r.kind.value,
                    points=r.points,
                    wanted=r.wanted,
                    cut=r.cut,
                    cut_by=r.cut_by.value if r.cut_by else None,
                )
                for r in b.rules
            ],
            excluded_lines=list(b.excluded_lines),
            total=b.total,
        )
