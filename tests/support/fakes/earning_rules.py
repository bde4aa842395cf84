"""The earning-rule repository: rules and their versions, budgets, awards, forecasts.

The forecast here is the reference: it runs the domain's ``evaluate`` sale by sale, in time
order, with the draft rule alone (the member's facts as a sale recorded in that order reads
them, the tier its breakdown kept), and nets each sale's refunds out by the domain's
reversal; the contract test holds the set-based SQL to it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from domain.crm import CrmSettings
from domain.earning_rules import (
    PERIODS,
    Award,
    EarnContext,
    EarningRule,
    EffectKind,
    Forecast,
    LimitCut,
    Line,
    MemberFacts,
    RuleStatus,
    evaluate,
    period_end,
    period_start,
    refunds_reversed,
)
from domain.money import floor_int
from tests.support.fakes.common import Linked, require


class FakeEarningRuleRepository(Linked):
    def __init__(self) -> None:
        self.rules: dict[UUID, EarningRule] = {}
        self.history: list[tuple[EarningRule, str, datetime]] = []
        self.spent: dict[UUID, int] = {}
        self.awards: list[Award] = []
        # member id -> RFM segment (the fake's member_rfm_scores)
        self.rfm_segments: dict[UUID, str] = {}

    async def live(self) -> tuple[EarningRule, ...]:
        return tuple(r for _, r in sorted(self.rules.items()) if r.status.value != "ended")

    async def get(self, rule_id: UUID) -> EarningRule | None:
        return self.rules.get(rule_id)

    async def get_for_update(self, rule_id: UUID) -> EarningRule | None:
        return self.rules.get(rule_id)

    async def page(self, *, after: UUID | None, limit: int) -> list[EarningRule]:
        ids = sorted(i for i in self.rules if after is None or i > after)
        return [self.rules[i] for i in ids[:limit]]

    async def versions(self, rule_id: UUID) -> list[EarningRule]:
        return sorted((r for r, _, _ in self.history if r.id == rule_id), key=lambda r: r.version)

    async def add(self, rule: EarningRule, actor: str, at: datetime) -> None:
        require(rule.id not in self.rules, "earning_rules_pkey")
        self.rules[rule.id] = rule
        self.history.append((rule, actor, at))
        self.spent[rule.id] = 0

    async def save(self, rule: EarningRule, actor: str, at: datetime) -> None:
        require(
            all((r.id, r.version) != (rule.id, rule.version) for r, _, _ in self.history),
            "earning_rule_versions_unique",
        )
        self.rules[rule.id] = rule
        self.history.append((rule, actor, at))

    async def member_facts(
        self, member_id: UUID, *, zone: str, today: date, crm: CrmSettings, need_crm: bool
    ) -> MemberFacts:
        tz = ZoneInfo(zone)
        days = sorted(
            s.occurred_at.astimezone(tz).date()
            for s in self.db.sales.sales.values()
            if s.member_id == member_id and s.occurred_at.astimezone(tz).date() <= today
        )
        first = not days
        if not need_crm:
            return MemberFacts(first_purchase=first)
        stage = crm.stage(days[0] if days else None, days[-1] if days else None, today)
        return MemberFacts(first, self.rfm_segments.get(member_id), stage.value)

    async def earned_in_periods(
        self, member_id: UUID, wanted: Sequence[tuple[UUID, LimitCut, datetime, datetime]]
    ) -> dict[tuple[UUID, LimitCut], int]:
        return {
            (rule_id, period): sum(
                a.points
                for a in self.awards
                if a.member_id == member_id
                and a.rule_id == rule_id
                and since <= a.occurred_at < until
            )
            for rule_id, period, since, until in wanted
        }

    async def budgets_spent(self, rule_ids: Sequence[UUID], *, lock: bool) -> dict[UUID, int]:
        return {i: self.spent[i] for i in rule_ids if i in self.spent}

    async def spend(self, spent: Mapping[UUID, int]) -> None:
        for rule_id, points in spent.items():
            require(rule_id in self.spent, "earning_rule_budgets_rule_id_fkey")
            require(self.spent[rule_id] + points >= 0, "earning_rule_budgets_spent")
            self.spent[rule_id] += points

    async def add_awards(self, awards: Sequence[Award]) -> None:
        for award in awards:
            require(award.rule_id in self.rules, "earning_rule_awards_rule_id_fkey")
            require(award.sale_id in self.db.sales.sales, "earning_rule_awards_sale_id_fkey")
        self.awards.extend(awards)

    async def forecast(
        self,
        rule: EarningRule,
        *,
        start: datetime,
        end: datetime,
        zone: str,
        currency_exponent: int,
        earn_rate: Decimal,
        point_value: Decimal,
        crm: CrmSettings,
    ) -> Forecast:
        tz = ZoneInfo(zone)
        ladder = await self.db.tiers.ladder()
        # The draft as live, whatever its status; its own window narrows the period.
        draft = rule if rule.status.value == "active" else _active(rule)
        sales = sorted(
            (
                s
                for s in self.db.sales.sales.values()
                if s.member_id is not None and start <= s.occurred_at < end
            ),
            key=lambda s: (s.occurred_at, s.id),
        )
        earned: list[tuple[UUID, datetime, int]] = []  # (member, occurred_at, points)
        spent = 0
        extra = 0
        members: set[UUID] = set()
        touched = 0
        reversed_points = 0
        for sale in sales:
            assert sale.member_id is not None
            member = self.db.members.members[sale.member_id]
            earlier = [
                s.occurred_at.astimezone(tz).date()
                for s in self.db.sales.sales.values()
                if s.member_id == sale.member_id
                and (s.occurred_at, s.id) < (sale.occurred_at, sale.id)
            ]
            today = sale.occurred_at.astimezone(tz).date()
            stage = crm.stage(min(earlier, default=None), max(earlier, default=None), today)
            # The tier the sale earned at, as its breakdown keeps it; else the current one.
            kept = sale.pricing.breakdown
            tier = ladder.get(member.tier_code) or ladder.entry_tier
            tier_code, multiplier = tier.code, tier.earn_multiplier
            if kept is not None:
                tier_code, multiplier = kept.tier_code or member.tier_code, kept.tier_multiplier
            ctx = EarnContext(
                lines=[Line(x.sku, x.quantity, x.amount, x.category) for x in sale.lines],
                payable=sale.payable,
                occurred_at=sale.occurred_at,
                zone=tz,
                currency_exponent=currency_exponent,
                earn_rate=earn_rate,
                tier_multiplier=multiplier,
                store_id=sale.store_id,
                channel=sale.channel,
                tier_code=tier_code,
                rfm_segment=self.rfm_segments.get(sale.member_id),
                lifecycle_stage=stage.value,
                first_purchase=not earlier,
                birthday=member.birthday,
                earned_in_period={
                    (draft.id, p): sum(
                        pts
                        for m, at, pts in earned
                        if m == sale.member_id
                        and period_start(p, sale.occurred_at, tz)
                        <= at
                        < period_end(p, sale.occurred_at, tz)
                    )
                    for p in PERIODS
                },
                budget_left={draft.id: (draft.limits.budget or 0) - spent},
            )
            with_rule = evaluate([draft], ctx)
            refunds: dict[str, Any] = {
                "quantities": [line.quantity for line in sale.lines],
                "refunded_quantities": sale.refunded_quantities,
                "refunded_amount": sale.refunded_amount,
                "refunded_by_amount": sale.refunded_by_amount,
                "payable": sale.payable,
            }
            if draft.effect.kind is EffectKind.EXCLUDE:
                without = evaluate([], ctx)
                points = with_rule.base - without.base
                touched_lines = with_rule.excluded_lines
                if not touched_lines:
                    continue
                reversed_points += refunds_reversed(with_rule, **refunds) - refunds_reversed(
                    without, **refunds
                )
            else:
                points = with_rule.rule_points
                if not with_rule.rules:
                    continue
                reversed_points += refunds_reversed(replace(with_rule, base=0), **refunds)
            earned.append((sale.member_id, sale.occurred_at, points))
            spent += points
            extra += points
            if points:
                members.add(sale.member_id)
                touched += 1
        return Forecast(
            extra,
            len(members),
            touched,
            floor_int(Decimal(extra) * point_value),
            reversed_points=reversed_points,
            net_cost_minor=floor_int(Decimal(extra - reversed_points) * point_value),
        )


def _active(rule: EarningRule) -> EarningRule:
    return replace(rule, status=RuleStatus.ACTIVE)
