"""Earning rules in PostgreSQL: the rules (cached configuration), budgets, awards, forecasts."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from adapters.persistence.crm_reports import _SALE_DAYS_OF_MEMBER, stage_case
from adapters.persistence.session import configuration, configuration_changed, connection
from domain.crm import CrmSettings
from domain.earning_rules import (
    PERIODS,
    Award,
    EarningRule,
    EffectKind,
    Forecast,
    LimitCut,
    Limits,
    Line,
    MemberFacts,
    forecast_reversal,
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
# $19 per order, $20 per day, $21 per week, $22 per month, $23 budget, $24 lifecycle stages,
# $25 new_days, $26 dormant_days, $27 churned_days.
#
# The tier (condition and multiplier) is the one the sale earned at, as its breakdown keeps
# it, else the member's current one (sales from before earning rules); first purchase and
# lifecycle stage come from the member's earlier sales, as a sale reads them ({history}).
_FORECAST_TEMPLATE = """
WITH {history}s AS NOT MATERIALIZED (
    SELECT s.id, s.member_id, s.payable, s.subtotal, s.occurred_at, s.refunded_amount,
           (s.occurred_at AT TIME ZONE $3) AS local_at,
           {tier_mult} AS tier_mult
    FROM sales s
    JOIN members m ON m.id = s.member_id
    LEFT JOIN tiers t ON t.code = m.tier_code
    {history_join}
    WHERE s.member_id IS NOT NULL AND s.occurred_at >= $1 AND s.occurred_at < $2
      AND (cardinality($6::uuid[]) = 0 OR s.store_id = ANY($6))
      AND (cardinality($7::text[]) = 0 OR s.channel = ANY($7))
      AND (cardinality($8::text[]) = 0
           OR coalesce(s.points_breakdown->>'tier', m.tier_code) = ANY($8))
      AND (cardinality($9::text[]) = 0 OR EXISTS (
            SELECT 1 FROM member_rfm_scores r WHERE r.member_id = s.member_id
              AND r.segment = ANY($9)))
      AND (cardinality($10::int[]) = 0
           OR extract(isodow FROM s.occurred_at AT TIME ZONE $3)::int = ANY($10))
      AND (cardinality($11::int[]) = 0
           OR extract(hour FROM s.occurred_at AT TIME ZONE $3)::int = ANY($11))
      AND s.payable >= $12
      AND {first_purchase}
      AND {lifecycle}
      AND (NOT $14 OR extract(month FROM m.birthday)
                      = extract(month FROM s.occurred_at AT TIME ZONE $3))
),
{per_sale}wanted AS (
    SELECT id, member_id, occurred_at, local_at, refunded_amount,
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
    SELECT id, member_id, occurred_at, local_at, refunded_amount,
           CASE WHEN $15 = 'exclude' THEN want
                ELSE greatest(least(want, coalesce($19::numeric, want)), 0) END AS pts,
           -- the caps not applied below are still parameters of the statement
           coalesce($20::numeric, $21::numeric, $22::numeric, $23::numeric,
                    cardinality($24::text[]), $25::int, $26::int, $27::int) AS unused
    FROM wanted
),
{caps}
{final}
"""

# The rule's total, and the sales a refund has touched (their points are netted in Python,
# by the domain's reversal, from their lines).
_TOTALS = """SELECT coalesce(sum(pts), 0)::bigint AS extra,
       count(DISTINCT member_id) FILTER (WHERE pts <> 0) AS members,
       count(*) FILTER (WHERE pts <> 0) AS sales,
       coalesce(array_agg(id) FILTER (WHERE pts <> 0 AND refunded_amount > 0), '{{}}')
           AS refunded_ids,
       coalesce(array_agg(pts::bigint) FILTER (WHERE pts <> 0 AND refunded_amount > 0), '{{}}')
           AS refunded_points
FROM {last}"""

# Several cumulative caps: each sale's capped points depend on what the caps granted before
# (not on what each cap alone would grant), so the sales that want points come out in time
# order and the caps are applied one sale after another, as at the till.
_ROWS = """SELECT id, member_id, (local_at)::date AS day, refunded_amount > 0 AS refunded,
       pts::bigint AS pts
FROM per_order WHERE pts > 0
ORDER BY occurred_at, id"""

# Earlier sales of each member (all of them, not only the period's): the local days of the
# previous one and of the first, as a sale reads them when it is recorded in time order.
_HISTORY = """h AS (
    SELECT id, lag(d) OVER w AS last_on, first_value(d) OVER w AS first_on
    FROM (SELECT id, member_id, occurred_at, (occurred_at AT TIME ZONE $3)::date AS d
          FROM sales WHERE member_id IS NOT NULL AND occurred_at < $2) x
    WINDOW w AS (PARTITION BY member_id ORDER BY occurred_at, id)
),
"""

_TIER_MULT = "coalesce((s.points_breakdown->>'tier_multiplier')::numeric, t.earn_multiplier, 1)"

# The rule picks lines. A sale paid in full (payable = subtotal, most sales) has each line's
# share equal to its amount: one aggregate of its eligible lines, no sort. Otherwise the
# payable's share of each line (cumulative floor shares, as domain.earning_rules.
# line_payables) by window functions over the sale's lines, summed over the eligible ones.
# ``s`` is not materialised: each branch scans the sales with its own filter, and can be
# parallel.
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
    WHERE s.payable <> s.subtotal
),
per_sale AS (
    SELECT s.id, s.member_id, s.occurred_at, s.local_at, s.tier_mult, s.refunded_amount,
           sum(sl.quantity::numeric * sl.unit_price) AS ep, s.payable::numeric AS p_all,
           sum(sl.quantity) AS units
    FROM s JOIN sale_lines sl ON sl.sale_id = s.id
    WHERE s.payable = s.subtotal
      AND ((cardinality($4::text[]) = 0 AND cardinality($5::text[]) = 0)
           OR sl.sku = ANY($4) OR sl.category = ANY($5))
    GROUP BY s.id, s.member_id, s.occurred_at, s.local_at, s.tier_mult, s.refunded_amount,
             s.payable
    UNION ALL
    SELECT s.id, s.member_id, s.occurred_at, s.local_at, s.tier_mult, s.refunded_amount,
           coalesce(sum(l.share) FILTER (WHERE l.eligible), 0) AS ep,
           coalesce(sum(l.share), 0) AS p_all,
           coalesce(sum(l.quantity) FILTER (WHERE l.eligible), 0) AS units
    FROM s JOIN l ON l.id = s.id
    WHERE s.payable <> s.subtotal
    GROUP BY s.id, s.member_id, s.occurred_at, s.local_at, s.tier_mult, s.refunded_amount
    HAVING bool_or(l.eligible)
),
"""

# The rule picks no lines: every line is eligible and the shares add up to the payable, so
# sale_lines is not read at all ($4, $5 are empty; bonus_per_unit always picks lines).
_PER_SALE_WHOLE = """
per_sale AS (
    SELECT s.id, s.member_id, s.occurred_at, s.local_at, s.tier_mult, s.refunded_amount,
           s.payable::numeric AS ep, s.payable::numeric AS p_all, 0::numeric AS units
    FROM s
    WHERE cardinality($4::text[]) = 0 AND cardinality($5::text[]) = 0
),
"""

# A single cumulative cap, as a running sum in time order: the points it grants are
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


def _forecast_sql(
    *, by_lines: bool, caps: tuple[bool, bool, bool, bool], history: bool, lifecycle: bool
) -> str:
    """The statement for this shape of rule: lines read only when it picks lines, the
    members' earlier sales only for first purchase or lifecycle, a window (a sort) for a
    single cap; with several caps, the rows that want points, in time order."""
    text = _FORECAST_TEMPLATE.replace(
        "{per_sale}", _PER_SALE_BY_LINES if by_lines else _PER_SALE_WHOLE
    )
    text = text.replace("{history}", _HISTORY if history else "")
    text = text.replace("{history_join}", "JOIN h ON h.id = s.id" if history else "")
    text = text.replace("{tier_mult}", _TIER_MULT)
    text = text.replace(
        "{first_purchase}", "(NOT $13 OR h.last_on IS NULL)" if history else "NOT $13"
    )
    stage = stage_case(
        "h.last_on", "h.first_on", "(s.occurred_at AT TIME ZONE $3)::date", params=_THRESHOLDS
    )
    text = text.replace(
        "{lifecycle}",
        f"(cardinality($24::text[]) = 0 OR {stage} = ANY($24))"
        if lifecycle
        else "cardinality($24::text[]) = 0",
    )
    if sum(caps) > 1:
        return text.replace("),\n{caps}", ")\n").replace("{final}", _ROWS)
    stages = []
    previous = "per_order"
    for (name, parameter, window), wanted in zip(_CAPS, caps, strict=True):
        if not wanted:
            continue
        stages.append(
            f"{name} AS (\n"  # noqa: S608 (constant fragments, no input)
            f"    SELECT id, member_id, refunded_amount,\n"
            f"           least({parameter}::numeric, c) - least({parameter}::numeric, c - pts)"
            f" AS pts\n"
            f"    FROM (SELECT *, sum(pts) OVER ({window}) AS c FROM {previous}) x\n"
            f")"
        )
        previous = name
    if not stages:
        text = text.replace("),\n{caps}", ")\n")
    else:
        text = text.replace("),\n{caps}", "),\n" + "".join(stages))
    return text.replace("{final}", _TOTALS.replace("{last}", previous).replace("{{}}", "{}"))


ANALYTIC = "SET LOCAL work_mem = '128MB'; SET LOCAL enable_nestloop = off"
_TRANSACTIONAL = "SET LOCAL work_mem TO DEFAULT; SET LOCAL enable_nestloop TO DEFAULT"

_THRESHOLDS = {"new_days": "$25", "dormant_days": "$26", "churned_days": "$27"}

# What the forecast needs of a refunded sale to net its refunds out: the lines and refund
# state, and the tier multiplier it earned at (as the statement above takes it).
_REFUNDED_SALES = """
SELECT s.id, s.payable, s.refunded_amount, s.refunded_by_amount, {tier_mult} AS tier_mult,
       array_agg(sl.sku ORDER BY sl.line_no) AS skus,
       array_agg(sl.category ORDER BY sl.line_no) AS categories,
       array_agg(sl.quantity ORDER BY sl.line_no) AS quantities,
       array_agg(sl.unit_price ORDER BY sl.line_no) AS unit_prices,
       array_agg(sl.refunded_quantity ORDER BY sl.line_no) AS refunded_quantities
FROM sales s
JOIN members m ON m.id = s.member_id
LEFT JOIN tiers t ON t.code = m.tier_code
JOIN sale_lines sl ON sl.sale_id = s.id
WHERE s.id = ANY($1::uuid[])
GROUP BY s.id, t.earn_multiplier
""".replace("{tier_mult}", _TIER_MULT)


def _period_key(period: LimitCut, day: date) -> date:
    if period is LimitCut.PER_MEMBER_DAY:
        return day
    if period is LimitCut.PER_MEMBER_WEEK:
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def _capped_in_order(limits: Limits, rows: Sequence[Mapping[str, Any]]) -> list[int]:
    """Each sale's points under several cumulative caps, in time order: the least of what it
    wants and what each cap has left of what was granted before (as evaluate's ``_limit``)."""
    used: dict[tuple[LimitCut, UUID, date], int] = {}
    spent = 0
    granted = []
    for row in rows:
        points = int(row["pts"])
        keys = []
        for period in PERIODS:
            cap = limits.per_member(period)
            if cap is None:
                continue
            key = (period, row["member_id"], _period_key(period, row["day"]))
            keys.append(key)
            points = min(points, max(cap - used.get(key, 0), 0))
        if limits.budget is not None:
            points = min(points, max(limits.budget - spent, 0))
        for key in keys:
            used[key] = used.get(key, 0) + points
        spent += points
        granted.append(points)
    return granted


def _rule(row: Mapping[str, Any]) -> EarningRule:
    document = row["document"]
    if isinstance(document, str):
        document = json.loads(document)
    return rule_from_document(document)


def forecast_statement(
    rule: EarningRule,
    *,
    start: datetime,
    end: datetime,
    zone: str,
    currency_exponent: int,
    earn_rate: Decimal,
    crm: CrmSettings,
) -> tuple[str, tuple[Any, ...], Limits]:
    """The forecast's statement for ``rule``, its arguments, and the limits it applies
    (none for an exclusion); public for the benchmark's EXPLAIN."""
    c = rule.conditions
    # An exclusion has no limits: what it takes from the base is never capped.
    lim = Limits() if rule.effect.kind is EffectKind.EXCLUDE else rule.limits
    if rule.starts_at is not None:
        start = max(start, rule.starts_at)
    if rule.ends_at is not None:
        end = min(end, rule.ends_at)
    caps = (
        lim.per_member_day is not None,
        lim.per_member_week is not None,
        lim.per_member_month is not None,
        lim.budget is not None,
    )
    statement = _forecast_sql(
        by_lines=c.picks_lines,
        caps=caps,
        history=c.first_purchase or bool(c.lifecycle_stages),
        lifecycle=bool(c.lifecycle_stages),
    )
    args = (
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
        sorted(c.lifecycle_stages),
        crm.new_days,
        crm.dormant_days,
        crm.churned_days,
    )
    return statement, args, lim


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
        crm: CrmSettings,
    ) -> Forecast:
        statement, args, lim = forecast_statement(
            rule,
            start=start,
            end=end,
            zone=zone,
            currency_exponent=currency_exponent,
            earn_rate=earn_rate,
            crm=crm,
        )
        caps = (
            lim.per_member_day is not None,
            lim.per_member_week is not None,
            lim.per_member_month is not None,
            lim.budget is not None,
        )
        db = connection()
        # An analytic read over the whole period: room to sort and hash in memory, and hash
        # joins, not an index probe per sale (the planner cannot estimate the day and hour
        # filters and would take the probes for cheap). For this transaction only, until
        # the statement is done: the refunded sales below are found by their ids.
        await db.execute(ANALYTIC)
        if sum(caps) > 1:
            rows = await db.fetch(statement, *args)
            granted = _capped_in_order(lim, rows)
            extra = sum(granted)
            members = len({r["member_id"] for r, p in zip(rows, granted, strict=True) if p})
            touched = sum(1 for p in granted if p)
            refunded = {
                r["id"]: p for r, p in zip(rows, granted, strict=True) if p and r["refunded"]
            }
        else:
            row = await db.fetchrow(statement, *args)
            extra, members, touched = int(row["extra"]), int(row["members"]), int(row["sales"])
            refunded = dict(zip(row["refunded_ids"], row["refunded_points"], strict=True))
        await db.execute(_TRANSACTIONAL)
        reversed_points = await self._reversed(
            rule, refunded, currency_exponent=currency_exponent, earn_rate=earn_rate, zone=zone
        )
        return Forecast(
            extra_points=extra,
            members=members,
            sales=touched,
            cost_minor=floor_int(Decimal(extra) * point_value),
            reversed_points=reversed_points,
            net_cost_minor=floor_int(Decimal(extra - reversed_points) * point_value),
        )

    async def _reversed(
        self,
        rule: EarningRule,
        points: Mapping[UUID, int],
        *,
        currency_exponent: int,
        earn_rate: Decimal,
        zone: str,
    ) -> int:
        """What the refunds recorded against these sales would have reversed of the rule's
        points on each (``points``: sale id -> the rule's points there), by the domain's own
        reversal: the points attributed to the eligible lines by ``evaluate`` and reversed as
        a refund reverses them. Only refunded sales come here: a small share of the period."""
        if not points:
            return 0
        rows = await connection().fetch(_REFUNDED_SALES, list(points))
        total = 0
        for row in rows:
            total += forecast_reversal(
                rule,
                points[row["id"]],
                lines=[
                    Line(sku, quantity, quantity * price, category)
                    for sku, category, quantity, price in zip(
                        row["skus"],
                        row["categories"],
                        row["quantities"],
                        row["unit_prices"],
                        strict=True,
                    )
                ],
                refunded_quantities=dict(enumerate(row["refunded_quantities"])),
                payable=row["payable"],
                refunded_amount=row["refunded_amount"],
                refunded_by_amount=row["refunded_by_amount"],
                tier_multiplier=Decimal(row["tier_mult"]),
                currency_exponent=currency_exponent,
                earn_rate=earn_rate,
                zone=ZoneInfo(zone),
            )
        return total
