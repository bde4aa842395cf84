"""Earning rules in PostgreSQL: the rules (cached configuration), budgets, awards, forecasts."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from adapters.persistence.crm_reports import _SALE_DAYS_OF_MEMBER
from adapters.persistence.session import configuration, configuration_changed, connection
from domain.crm import CrmSettings
from domain.earning_rules import (
    Award,
    EarningRule,
    EffectKind,
    Forecast,
    LimitCut,
    Limits,
    MemberFacts,
    rule_document,
    rule_from_document,
)
from domain.money import floor_int

_UPSERT = """
INSERT INTO earning_rules (id, version, name, status, priority, document, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $7)
ON CONFLICT (id) DO UPDATE SET version = excluded.version, name = excluded.name,
    status = excluded.status, priority = excluded.priority, document = excluded.document,
    updated_at = excluded.updated_at
"""

_VERSION = """
INSERT INTO earning_rule_versions (rule_id, version, document, actor, created_at)
VALUES ($1, $2, $3::jsonb, $4, $5)
"""

_BUDGETS = (
    "SELECT rule_id, spent FROM earning_rule_budgets WHERE rule_id = ANY($1::uuid[]) "
    "ORDER BY rule_id"
)
# In key order, so two sales locking the same budgets never deadlock.
_BUDGETS_LOCKED = _BUDGETS + " FOR UPDATE"

_EARNED = """
SELECT w.rule_id, w.period, coalesce(sum(a.points), 0)::bigint AS points
FROM unnest($2::uuid[], $3::text[], $4::timestamptz[], $5::timestamptz[])
    AS w(rule_id, period, since, until)
LEFT JOIN earning_rule_awards a
    ON a.member_id = $1 AND a.rule_id = w.rule_id AND a.occurred_at >= w.since
   AND a.occurred_at < w.until
GROUP BY w.rule_id, w.period
"""

# One draft rule over the recorded sales of a period, set-based (docs/rules.md#earning-rules,
# "Forecast"): the same shares, floors and caps as domain/earning_rules.evaluate, for the rule
# alone. $1 start, $2 end, $3 zone, $4 skus, $5 categories, $6 stores, $7 channels, $8 tiers,
# $9 rfm segments, $10 days of week, $11 hours, $12 min payable, $13 first purchase,
# $14 birthday month, $15 kind, $16 value, $17 earn rate, $18 minor units per major unit,
# $19 per order, $20 per day, $21 per week, $22 per month, $23 budget.
_FORECAST_TEMPLATE = """
WITH s AS (
    SELECT s.id, s.member_id, s.payable, s.subtotal, s.occurred_at,
           (s.occurred_at AT TIME ZONE $3) AS local_at,
           coalesce(t.earn_multiplier, 1) AS tier_mult
    FROM sales s
    JOIN members m ON m.id = s.member_id
    LEFT JOIN tiers t ON t.code = m.tier_code
    WHERE s.member_id IS NOT NULL AND s.occurred_at >= $1 AND s.occurred_at < $2
      AND (cardinality($6::uuid[]) = 0 OR s.store_id = ANY($6))
      AND (cardinality($7::text[]) = 0 OR s.channel = ANY($7))
      AND (cardinality($8::text[]) = 0 OR m.tier_code = ANY($8))
      AND (cardinality($9::text[]) = 0 OR EXISTS (
            SELECT 1 FROM member_rfm_scores r WHERE r.member_id = s.member_id
              AND r.segment = ANY($9)))
      AND (cardinality($10::int[]) = 0
           OR extract(isodow FROM s.occurred_at AT TIME ZONE $3)::int = ANY($10))
      AND (cardinality($11::int[]) = 0
           OR extract(hour FROM s.occurred_at AT TIME ZONE $3)::int = ANY($11))
      AND s.payable >= $12
      AND (NOT $13 OR NOT EXISTS (
            SELECT 1 FROM sales p WHERE p.member_id = s.member_id
              AND (p.occurred_at, p.id) < (s.occurred_at, s.id)))
      AND (NOT $14 OR extract(month FROM m.birthday)
                      = extract(month FROM s.occurred_at AT TIME ZONE $3))
),
{per_sale}wanted AS (
    SELECT id, member_id, occurred_at, local_at,
           CASE $15::text
             WHEN 'multiplier' THEN floor(ep / $18::numeric * $17::numeric * tier_mult
                                          * ($16::numeric - 1))
             WHEN 'earn_rate' THEN floor(ep / $18::numeric * ($16::numeric - $17::numeric)
                                         * tier_mult)
             WHEN 'bonus_per_order' THEN $16::numeric
             WHEN 'bonus_per_unit' THEN $16::numeric * units
             ELSE floor((p_all - ep) / $18::numeric * $17::numeric * tier_mult)
                  - floor(p_all / $18::numeric * $17::numeric * tier_mult)
           END AS want
    FROM per_sale
),
per_order AS (
    SELECT id, member_id, occurred_at, local_at,
           CASE WHEN $15 = 'exclude' THEN want
                ELSE greatest(least(want, coalesce($19::numeric, want)), 0) END AS pts,
           -- the caps not applied below are still parameters of the statement
           coalesce($20::numeric, $21::numeric, $22::numeric, $23::numeric) AS caps
    FROM wanted
),
{caps}
SELECT coalesce(sum(pts), 0)::bigint AS extra,
       count(DISTINCT member_id) FILTER (WHERE pts <> 0) AS members,
       count(*) FILTER (WHERE pts <> 0) AS sales
FROM {last}
"""

# The rule picks lines: the payable's share of each line (cumulative floor shares, as
# domain.earning_rules.line_payables), summed over the eligible ones.
_PER_SALE_BY_LINES = """l AS (
    SELECT s.id, sl.quantity,
           (cardinality($4::text[]) = 0 AND cardinality($5::text[]) = 0)
               OR sl.sku = ANY($4) OR sl.category = ANY($5) AS eligible,
           div(s.payable::numeric * sum(sl.quantity::numeric * sl.unit_price)
                   OVER (PARTITION BY sl.sale_id ORDER BY sl.line_no), nullif(s.subtotal, 0))
           - div(s.payable::numeric * (sum(sl.quantity::numeric * sl.unit_price)
                   OVER (PARTITION BY sl.sale_id ORDER BY sl.line_no)
                   - sl.quantity::numeric * sl.unit_price), nullif(s.subtotal, 0)) AS share
    FROM s JOIN sale_lines sl ON sl.sale_id = s.id
),
per_sale AS (
    SELECT s.id, s.member_id, s.occurred_at, s.local_at, s.tier_mult,
           coalesce(sum(l.share) FILTER (WHERE l.eligible), 0) AS ep,
           coalesce(sum(l.share), 0) AS p_all,
           coalesce(sum(l.quantity) FILTER (WHERE l.eligible), 0) AS units
    FROM s JOIN l ON l.id = s.id
    GROUP BY s.id, s.member_id, s.occurred_at, s.local_at, s.tier_mult
    HAVING bool_or(l.eligible)
),
"""

# The rule picks no lines: every line is eligible and the shares add up to the payable, so
# sale_lines is not read at all ($4, $5 are empty; bonus_per_unit always picks lines).
_PER_SALE_WHOLE = """
per_sale AS (
    SELECT s.id, s.member_id, s.occurred_at, s.local_at, s.tier_mult,
           s.payable::numeric AS ep, s.payable::numeric AS p_all, 0::numeric AS units
    FROM s
    WHERE cardinality($4::text[]) = 0 AND cardinality($5::text[]) = 0
),
"""

# Each cumulative cap, when set, as a running sum in time order: the points it grants are
# min(cap, sum so far) - min(cap, sum before), i.e. what is left of the cap, in order.
_CAPS = (
    (
        "per_day",
        "$20",
        "PARTITION BY member_id, date_trunc('day', local_at) ORDER BY occurred_at, id",
    ),
    (
        "per_week",
        "$21",
        "PARTITION BY member_id, date_trunc('week', local_at) ORDER BY occurred_at, id",
    ),
    (
        "per_month",
        "$22",
        "PARTITION BY member_id, date_trunc('month', local_at) ORDER BY occurred_at, id",
    ),
    ("budgeted", "$23", "ORDER BY occurred_at, id"),
)


def _forecast_sql(*, by_lines: bool, caps: tuple[bool, bool, bool, bool]) -> str:
    """The statement for this shape of rule: lines read only when it picks lines, a window
    (a sort) only for each cap it has."""
    stages = []
    previous = "per_order"
    for (name, parameter, window), wanted in zip(_CAPS, caps, strict=True):
        if not wanted:
            continue
        stages.append(
            f"{name} AS (\n"  # noqa: S608 (constant fragments, no input)
            f"    SELECT id, member_id, occurred_at, local_at,\n"
            f"           least({parameter}::numeric, c) - least({parameter}::numeric, c - pts)"
            f" AS pts\n"
            f"    FROM (SELECT *, sum(pts) OVER ({window}) AS c FROM {previous}) x\n"
            f"),"
        )
        previous = name
    text = _FORECAST_TEMPLATE.replace(
        "{per_sale}", _PER_SALE_BY_LINES if by_lines else _PER_SALE_WHOLE
    )
    caps_text = "\n".join(stages)
    if not stages:
        text = text.replace("),\n{caps}", ")\n")
    else:
        text = text.replace("),\n{caps}", "),\n" + caps_text.rstrip(","))
    return text.replace("{last}", previous)


def _rule(row: Mapping[str, Any]) -> EarningRule:
    document = row["document"]
    if isinstance(document, str):
        document = json.loads(document)
    return rule_from_document(document)


class PostgresEarningRuleRepository:
    async def live(self) -> tuple[EarningRule, ...]:
        return (await configuration()).earning_rules

    async def get(self, rule_id: UUID) -> EarningRule | None:
        row = await connection().fetchrow(
            "SELECT document FROM earning_rules WHERE id = $1", rule_id
        )
        return _rule(row) if row else None

    async def get_for_update(self, rule_id: UUID) -> EarningRule | None:
        row = await connection().fetchrow(
            "SELECT document FROM earning_rules WHERE id = $1 FOR UPDATE", rule_id
        )
        return _rule(row) if row else None

    async def page(self, *, after: UUID | None, limit: int) -> list[EarningRule]:
        rows = await connection().fetch(
            "SELECT document FROM earning_rules WHERE $1::uuid IS NULL OR id > $1 "
            "ORDER BY id LIMIT $2",
            after,
            limit,
        )
        return [_rule(r) for r in rows]

    async def versions(self, rule_id: UUID) -> list[EarningRule]:
        rows = await connection().fetch(
            "SELECT document FROM earning_rule_versions WHERE rule_id = $1 ORDER BY version",
            rule_id,
        )
        return [_rule(r) for r in rows]

    async def _write(self, rule: EarningRule, actor: str, at: datetime) -> None:
        db = connection()
        document = json.dumps(rule_document(rule))
        await db.execute(
            _UPSERT,
            rule.id,
            rule.version,
            rule.name,
            rule.status.value,
            rule.priority,
            document,
            at,
        )
        await db.execute(_VERSION, rule.id, rule.version, document, actor, at)
        configuration_changed()

    async def add(self, rule: EarningRule, actor: str, at: datetime) -> None:
        await self._write(rule, actor, at)
        await connection().execute(
            "INSERT INTO earning_rule_budgets (rule_id, spent) VALUES ($1, 0)", rule.id
        )

    async def save(self, rule: EarningRule, actor: str, at: datetime) -> None:
        await self._write(rule, actor, at)

    async def member_facts(
        self, member_id: UUID, *, zone: str, today: date, crm: CrmSettings, need_crm: bool
    ) -> MemberFacts:
        db = connection()
        days = await db.fetchrow(_SALE_DAYS_OF_MEMBER, zone, member_id, today)
        first = days["first_on"] is None
        if not need_crm:
            return MemberFacts(first_purchase=first)
        segment = await db.fetchval(
            "SELECT segment FROM member_rfm_scores WHERE member_id = $1", member_id
        )
        stage = crm.stage(days["first_on"], days["last_on"], today)
        return MemberFacts(first_purchase=first, rfm_segment=segment, lifecycle_stage=stage.value)

    async def earned_in_periods(
        self, member_id: UUID, wanted: Sequence[tuple[UUID, LimitCut, datetime, datetime]]
    ) -> dict[tuple[UUID, LimitCut], int]:
        if not wanted:
            return {}
        rows = await connection().fetch(
            _EARNED,
            member_id,
            [w[0] for w in wanted],
            [w[1].value for w in wanted],
            [w[2] for w in wanted],
            [w[3] for w in wanted],
        )
        return {(r["rule_id"], LimitCut(r["period"])): r["points"] for r in rows}

    async def budgets_spent(self, rule_ids: Sequence[UUID], *, lock: bool) -> dict[UUID, int]:
        if not rule_ids:
            return {}
        rows = await connection().fetch(
            _BUDGETS_LOCKED if lock else _BUDGETS,
            sorted(set(rule_ids)),
        )
        return {r["rule_id"]: r["spent"] for r in rows}

    async def spend(self, spent: Mapping[UUID, int]) -> None:
        changes = {k: v for k, v in spent.items() if v}
        if not changes:
            return
        await connection().execute(
            "UPDATE earning_rule_budgets b SET spent = b.spent + v.points "
            "FROM unnest($1::uuid[], $2::bigint[]) AS v(rule_id, points) "
            "WHERE b.rule_id = v.rule_id",
            list(changes),
            list(changes.values()),
        )

    async def add_awards(self, awards: Sequence[Award]) -> None:
        if not awards:
            return
        await connection().execute(
            "INSERT INTO earning_rule_awards (rule_id, rule_version, sale_id, member_id, "
            "refund_id, points, occurred_at) SELECT * FROM unnest($1::uuid[], $2::int[], "
            "$3::uuid[], $4::uuid[], $5::uuid[], $6::bigint[], $7::timestamptz[])",
            [a.rule_id for a in awards],
            [a.rule_version for a in awards],
            [a.sale_id for a in awards],
            [a.member_id for a in awards],
            [a.refund_id for a in awards],
            [a.points for a in awards],
            [a.occurred_at for a in awards],
        )

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
    ) -> Forecast:
        c = rule.conditions
        # An exclusion has no limits: what it takes from the base is never capped.
        lim = Limits() if rule.effect.kind is EffectKind.EXCLUDE else rule.limits
        if rule.starts_at is not None:
            start = max(start, rule.starts_at)
        if rule.ends_at is not None:
            end = min(end, rule.ends_at)
        row = await connection().fetchrow(
            _forecast_sql(
                by_lines=c.picks_lines,
                caps=(
                    lim.per_member_day is not None,
                    lim.per_member_week is not None,
                    lim.per_member_month is not None,
                    lim.budget is not None,
                ),
            ),
            start,
            end,
            zone,
            sorted(c.skus),
            sorted(c.categories),
            sorted(c.stores),
            sorted(c.channels),
            sorted(c.tiers),
            sorted(c.rfm_segments),
            sorted(c.days_of_week),
            sorted(c.hours),
            c.min_payable,
            c.first_purchase,
            c.birthday_month,
            rule.effect.kind.value,
            rule.effect.value,
            earn_rate,
            Decimal(10) ** currency_exponent,
            lim.per_order,
            lim.per_member_day,
            lim.per_member_week,
            lim.per_member_month,
            lim.budget,
        )
        extra = int(row["extra"])
        return Forecast(
            extra_points=extra,
            members=int(row["members"]),
            sales=int(row["sales"]),
            cost_minor=floor_int(Decimal(extra) * point_value),
        )
