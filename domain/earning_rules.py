"""Earning rules: the points a merchandiser adds on top of the programme's earn rate.

One function, ``evaluate``, decides what a basket earns; the quote and the sale both call it.
The order, fixed and documented (docs/rules.md#earning-rules):

1. The rules live at the sale's time: status ``active``, and ``starts_at <= occurred_at <
   ends_at`` where set. A rule whose order conditions (store, channel, tier, segment, stage,
   days, hours, minimum payable, first purchase, birthday month) do not hold is left out.
2. Exclusions first, whatever their priority: the lines an exclusion names earn nothing, in
   the base or in any rule.
3. The payable is spread over the lines by their value (the same pro rata share a refund by
   lines pays back), exactly: the shares add up to the payable.
4. Base points = floor(payable of the lines not excluded, in major units x earn rate x tier
   multiplier). With no rules this is exactly the programme's earning.
5. The other rules by priority, highest first (then by name, then id). Each rule's points are
   computed on its eligible lines (its SKUs / categories, or every line not excluded) and
   floored once, for the rule as a whole:
   - ``multiplier`` m: floor(eligible payable x earn rate x tier multiplier x (m - 1)): the
     extra over the base, so two cumulative rules of x2 give x3 (extras add, never compound);
   - ``earn_rate`` r: floor(eligible payable x (r - earn rate) x tier multiplier);
   - ``bonus_per_order`` n: n points (no tier multiplier);
   - ``bonus_per_unit`` n: n x units of the eligible lines (no tier multiplier).
   Then the rule's limits cut it, in this order: per order, per member per day / week / month
   (what the member has earned from the rule in that period in the programme's time zone,
   weeks from Monday, net of refunds), and the rule's remaining budget. An exclusive rule
   that earns at least one point stops the rules after it.
6. A rule's points are attributed to its eligible lines by their payable share (per-order
   bonus: to the order), so a refund of lines reverses the rule points of those lines.

Integers and Decimals only; the only roundings are the floors named above.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol
from uuid import UUID
from zoneinfo import ZoneInfo

from domain.crm import CrmSettings, LifecycleStage, RfmSegment
from domain.errors import InvalidInput
from domain.money import floor_int, floor_share

MAX_NAME = 120
MAX_LIST = 1000
MAX_POINTS = 10**12
MAX_MULTIPLIER = Decimal(100)
MAX_EARN_RATE = Decimal(1000)
CHANNELS = frozenset({"pos", "web"})
RFM_SEGMENTS = frozenset(s.value for s in RfmSegment)
LIFECYCLE_STAGES = frozenset(s.value for s in LifecycleStage)


class EffectKind(StrEnum):
    MULTIPLIER = "multiplier"
    EARN_RATE = "earn_rate"
    BONUS_PER_ORDER = "bonus_per_order"
    BONUS_PER_UNIT = "bonus_per_unit"
    EXCLUDE = "exclude"


class RuleStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    ENDED = "ended"


class LimitCut(StrEnum):
    PER_ORDER = "per_order"
    PER_MEMBER_DAY = "per_member_day"
    PER_MEMBER_WEEK = "per_member_week"
    PER_MEMBER_MONTH = "per_member_month"
    BUDGET = "budget"


PERIODS = (LimitCut.PER_MEMBER_DAY, LimitCut.PER_MEMBER_WEEK, LimitCut.PER_MEMBER_MONTH)


def _set(values: object, name: str) -> frozenset[str]:
    if isinstance(values, str) or not isinstance(values, (list, tuple, set, frozenset)):
        raise InvalidInput(f"{name} must be a list", field=name)
    if len(values) > MAX_LIST:
        raise InvalidInput(f"{name} has at most {MAX_LIST} entries", field=name)
    for v in values:
        if not isinstance(v, str) or not 1 <= len(v) <= 64:
            raise InvalidInput(f"{name} entries are texts of 1-64 characters", field=name)
    return frozenset(values)


@dataclass(frozen=True, slots=True)
class Conditions:
    """Every condition set must hold (empty means "any"); SKUs and categories pick lines."""

    skus: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()
    stores: frozenset[UUID] = frozenset()
    channels: frozenset[str] = frozenset()
    tiers: frozenset[str] = frozenset()
    rfm_segments: frozenset[str] = frozenset()
    lifecycle_stages: frozenset[str] = frozenset()
    days_of_week: frozenset[int] = frozenset()  # ISO: 1 Monday .. 7 Sunday
    hours: frozenset[int] = frozenset()  # local hours 0-23
    min_payable: int = 0  # minor units, on the whole order
    first_purchase: bool = False
    birthday_month: bool = False

    def __post_init__(self) -> None:
        if not self.channels <= CHANNELS:
            raise InvalidInput("channels are pos and/or web", field="conditions.channels")
        if not self.rfm_segments <= RFM_SEGMENTS:
            raise InvalidInput(
                f"rfm_segments are among {', '.join(sorted(RFM_SEGMENTS))}",
                field="conditions.rfm_segments",
            )
        if not self.lifecycle_stages <= LIFECYCLE_STAGES:
            raise InvalidInput(
                f"lifecycle_stages are among {', '.join(sorted(LIFECYCLE_STAGES))}",
                field="conditions.lifecycle_stages",
            )
        if not all(1 <= d <= 7 for d in self.days_of_week):
            raise InvalidInput(
                "days_of_week are 1 (Monday) to 7 (Sunday)", field="conditions.days_of_week"
            )
        if not all(0 <= h <= 23 for h in self.hours):
            raise InvalidInput("hours are 0 to 23", field="conditions.hours")
        if not 0 <= self.min_payable <= MAX_POINTS:
            raise InvalidInput("min_payable is 0 or more", field="conditions.min_payable")

    @property
    def picks_lines(self) -> bool:
        return bool(self.skus or self.categories)

    def line_matches(self, sku: str, category: str | None) -> bool:
        if not self.picks_lines:
            return True
        return sku in self.skus or (category is not None and category in self.categories)

    @property
    def needs_crm(self) -> bool:
        return bool(self.rfm_segments or self.lifecycle_stages)


@dataclass(frozen=True, slots=True)
class Effect:
    kind: EffectKind
    value: Decimal = Decimal(0)  # multiplier, earn rate, or bonus points (whole)

    def __post_init__(self) -> None:
        v = self.value
        if not isinstance(v, Decimal) or not v.is_finite():
            raise InvalidInput("effect.value must be a number", field="effect.value")
        if self.kind is EffectKind.MULTIPLIER and not Decimal(1) < v <= MAX_MULTIPLIER:
            raise InvalidInput(
                f"a multiplier is above 1 and at most {MAX_MULTIPLIER}", field="effect.value"
            )
        if self.kind is EffectKind.EARN_RATE and not Decimal(0) < v <= MAX_EARN_RATE:
            raise InvalidInput(
                f"an earn rate is above 0 and at most {MAX_EARN_RATE} (an exclusion earns nothing)",
                field="effect.value",
            )
        if self.kind in (EffectKind.BONUS_PER_ORDER, EffectKind.BONUS_PER_UNIT) and (
            v != v.to_integral_value() or not 1 <= v <= MAX_POINTS
        ):
            raise InvalidInput(
                "a bonus is a whole number of points, 1 or more", field="effect.value"
            )
        if v.as_tuple().exponent < -4:  # type: ignore[operator]
            raise InvalidInput("effect.value has at most 4 decimal places", field="effect.value")


@dataclass(frozen=True, slots=True)
class Limits:
    per_order: int | None = None
    per_member_day: int | None = None
    per_member_week: int | None = None
    per_member_month: int | None = None
    budget: int | None = None  # total points the rule may ever give

    def __post_init__(self) -> None:
        for name in (
            "per_order",
            "per_member_day",
            "per_member_week",
            "per_member_month",
            "budget",
        ):
            value = getattr(self, name)
            if value is not None and not 0 <= value <= MAX_POINTS:
                raise InvalidInput(f"{name} is 0 or more points", field=f"limits.{name}")

    def per_member(self, period: LimitCut) -> int | None:
        value: int | None = getattr(self, period.value)
        return value

    @property
    def per_member_any(self) -> bool:
        return any(self.per_member(p) is not None for p in PERIODS)


@dataclass(frozen=True, slots=True)
class EarningRule:
    id: UUID
    name: str
    effect: Effect
    conditions: Conditions = field(default_factory=Conditions)
    limits: Limits = field(default_factory=Limits)
    priority: int = 0
    exclusive: bool = False
    status: RuleStatus = RuleStatus.ACTIVE
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    version: int = 1

    def __post_init__(self) -> None:
        if not 1 <= len(self.name.strip()) <= MAX_NAME:
            raise InvalidInput(f"name has 1-{MAX_NAME} characters", field="name")
        if not -1_000_000 <= self.priority <= 1_000_000:
            raise InvalidInput("priority is between -1000000 and 1000000", field="priority")
        if (
            self.starts_at is not None
            and self.ends_at is not None
            and self.ends_at <= self.starts_at
        ):
            raise InvalidInput("ends_at must be after starts_at", field="ends_at")
        if self.effect.kind is EffectKind.EXCLUDE and not self.conditions.picks_lines:
            raise InvalidInput(
                "an exclusion names the SKUs or categories that earn nothing",
                field="conditions.skus",
            )
        if self.effect.kind is EffectKind.BONUS_PER_UNIT and not self.conditions.picks_lines:
            raise InvalidInput(
                "a bonus per unit names its SKUs or categories", field="conditions.skus"
            )

    def live_at(self, at: datetime) -> bool:
        return (
            self.status is RuleStatus.ACTIVE
            and (self.starts_at is None or self.starts_at <= at)
            and (self.ends_at is None or at < self.ends_at)
        )

    def revised(self, new: EarningRule) -> EarningRule:
        return replace(new, id=self.id, version=self.version + 1)


def sort_key(rule: EarningRule) -> tuple[int, str, str]:
    return (-rule.priority, rule.name, str(rule.id))


@dataclass(frozen=True, slots=True)
class Line:
    sku: str
    quantity: int
    amount: int  # minor units before discounts
    category: str | None = None


@dataclass(frozen=True, slots=True)
class EarnContext:
    """What the rules look at, beyond the lines. Member facts are None for a guest."""

    lines: Sequence[Line]
    payable: int
    occurred_at: datetime
    zone: ZoneInfo
    currency_exponent: int
    earn_rate: Decimal
    tier_multiplier: Decimal = Decimal(1)
    store_id: UUID | None = None
    channel: str = "pos"
    tier_code: str | None = None
    rfm_segment: str | None = None
    lifecycle_stage: str | None = None
    first_purchase: bool = False
    birthday: date | None = None
    # (rule id, period) -> points the member already has from the rule in the sale's period
    earned_in_period: Mapping[tuple[UUID, LimitCut], int] = field(default_factory=dict)
    # rule id -> points left in the rule's budget (rules without a budget are absent)
    budget_left: Mapping[UUID, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RulePoints:
    rule_id: UUID
    version: int
    name: str
    kind: EffectKind
    points: int  # after limits
    wanted: int  # before limits
    cut_by: LimitCut | None = None
    # (line number or None for the order, points): adds up to ``points``
    lines: tuple[tuple[int | None, int], ...] = ()

    @property
    def cut(self) -> int:
        return self.wanted - self.points


@dataclass(frozen=True, slots=True)
class Breakdown:
    base: int  # at the earn rate and tier multiplier, on lines not excluded
    tier_multiplier: Decimal
    rules: tuple[RulePoints, ...] = ()
    excluded_lines: tuple[int, ...] = ()
    # The member's tier when the sale earned: kept with the sale so a forecast judges tier
    # conditions as they stood (not part of what the breakdown means, so not compared).
    tier_code: str | None = field(default=None, compare=False)

    @property
    def total(self) -> int:
        return self.base + sum(r.points for r in self.rules)

    @property
    def rule_points(self) -> int:
        return sum(r.points for r in self.rules)

    def label(self) -> str | None:
        """Names the rules and versions that earned points, for the ledger entry."""
        named = [f"{r.name} v{r.version}" for r in self.rules if r.points]
        return ("rules: " + "; ".join(named))[:200] if named else None


def line_payables(amounts: Sequence[int], payable: int) -> list[int]:
    """The payable spread over lines by value, exact: cumulative floor shares."""
    subtotal = sum(amounts)
    shares = []
    before = 0
    running = 0
    for amount in amounts:
        running += amount
        share = floor_share(payable, running, subtotal) if subtotal else 0
        shares.append(share - before)
        before = share
    return shares


def period_start(period: LimitCut, at: datetime, zone: ZoneInfo) -> datetime:
    """Start of the local day, ISO week (Monday) or month holding ``at``, as an instant."""
    local = at.astimezone(zone).date()
    if period is LimitCut.PER_MEMBER_WEEK:
        local -= timedelta(days=local.weekday())
    elif period is LimitCut.PER_MEMBER_MONTH:
        local = local.replace(day=1)
    return datetime.combine(local, datetime.min.time(), tzinfo=zone)


def period_end(period: LimitCut, at: datetime, zone: ZoneInfo) -> datetime:
    """End (exclusive) of the local day, ISO week or month holding ``at``, as an instant."""
    start = period_start(period, at, zone).date()
    if period is LimitCut.PER_MEMBER_DAY:
        end = start + timedelta(days=1)
    elif period is LimitCut.PER_MEMBER_WEEK:
        end = start + timedelta(days=7)
    else:
        end = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return datetime.combine(end, datetime.min.time(), tzinfo=zone)


def order_matches(rule: EarningRule, ctx: EarnContext) -> bool:
    """The rule's conditions on the order as a whole (not its lines)."""
    c = rule.conditions
    if not rule.live_at(ctx.occurred_at):
        return False
    local = ctx.occurred_at.astimezone(ctx.zone)
    return (
        (not c.stores or ctx.store_id in c.stores)
        and (not c.channels or ctx.channel in c.channels)
        and (not c.tiers or ctx.tier_code in c.tiers)
        and (not c.rfm_segments or ctx.rfm_segment in c.rfm_segments)
        and (not c.lifecycle_stages or ctx.lifecycle_stage in c.lifecycle_stages)
        and (not c.days_of_week or local.isoweekday() in c.days_of_week)
        and (not c.hours or local.hour in c.hours)
        and ctx.payable >= c.min_payable
        and (not c.first_purchase or ctx.first_purchase)
        and (
            not c.birthday_month or (ctx.birthday is not None and ctx.birthday.month == local.month)
        )
    )


def _major(minor: int, exponent: int) -> Decimal:
    return Decimal(minor).scaleb(-exponent)


def _attribute(
    points: int, weights: Sequence[tuple[int, int]]
) -> tuple[tuple[int | None, int], ...]:
    """``points`` over lines by weight (line, weight), exactly; to the order if no weight."""
    total = sum(w for _, w in weights)
    if points == 0:
        return ()
    if total == 0:
        return ((None, points),)
    out: list[tuple[int | None, int]] = []
    before = running = 0
    for number, weight in weights:
        running += weight
        share = floor_share(points, running, total)
        if share - before:
            out.append((number, share - before))
        before = share
    return tuple(out)


def candidates(rules: Sequence[EarningRule], ctx: EarnContext) -> list[EarningRule]:
    """Rules whose order conditions hold and that have a line to act on (exclusions aside)."""
    live = [r for r in rules if order_matches(r, ctx)]
    excluded = _excluded(live, ctx)
    return [
        r
        for r in live
        if r.effect.kind is EffectKind.EXCLUDE
        or any(
            n not in excluded and r.conditions.line_matches(line.sku, line.category)
            for n, line in enumerate(ctx.lines)
        )
    ]


def _excluded(live: Sequence[EarningRule], ctx: EarnContext) -> set[int]:
    return {
        n
        for r in live
        if r.effect.kind is EffectKind.EXCLUDE
        for n, line in enumerate(ctx.lines)
        if r.conditions.line_matches(line.sku, line.category)
    }


def evaluate(rules: Sequence[EarningRule], ctx: EarnContext) -> Breakdown:
    """What the basket earns under ``rules``: the one function a quote and a sale call."""
    exp = ctx.currency_exponent
    live = [r for r in rules if order_matches(r, ctx)]
    excluded = _excluded(live, ctx)
    shares = line_payables([line.amount for line in ctx.lines], ctx.payable)
    earning_payable = sum(s for n, s in enumerate(shares) if n not in excluded)
    base = 0
    if earning_payable > 0:
        base = floor_int(_major(earning_payable, exp) * ctx.earn_rate * ctx.tier_multiplier)
    results: list[RulePoints] = []
    for rule in sorted((r for r in live if r.effect.kind is not EffectKind.EXCLUDE), key=sort_key):
        eligible = [
            n
            for n, line in enumerate(ctx.lines)
            if n not in excluded and rule.conditions.line_matches(line.sku, line.category)
        ]
        if not eligible:
            continue
        eligible_payable = sum(shares[n] for n in eligible)
        value = rule.effect.value
        kind = rule.effect.kind
        weights = [(n, shares[n]) for n in eligible]
        if kind is EffectKind.MULTIPLIER:
            wanted = floor_int(
                _major(eligible_payable, exp) * ctx.earn_rate * ctx.tier_multiplier * (value - 1)
            )
        elif kind is EffectKind.EARN_RATE:
            wanted = floor_int(
                _major(eligible_payable, exp) * (value - ctx.earn_rate) * ctx.tier_multiplier
            )
        elif kind is EffectKind.BONUS_PER_ORDER:
            wanted = int(value)
            weights = []
        else:  # bonus per unit
            wanted = int(value) * sum(ctx.lines[n].quantity for n in eligible)
            weights = [(n, ctx.lines[n].quantity) for n in eligible]
        wanted = max(wanted, 0)
        points, cut_by = _limit(rule, wanted, ctx)
        results.append(
            RulePoints(
                rule_id=rule.id,
                version=rule.version,
                name=rule.name,
                kind=kind,
                points=points,
                wanted=wanted,
                cut_by=cut_by,
                lines=_attribute(points, weights),
            )
        )
        if rule.exclusive and points > 0:
            break
    return Breakdown(
        base=base,
        tier_multiplier=ctx.tier_multiplier,
        rules=tuple(results),
        excluded_lines=tuple(sorted(excluded)),
        tier_code=ctx.tier_code,
    )


def _limit(rule: EarningRule, wanted: int, ctx: EarnContext) -> tuple[int, LimitCut | None]:
    points = wanted
    cut_by = None
    caps: list[tuple[LimitCut, int]] = []
    if rule.limits.per_order is not None:
        caps.append((LimitCut.PER_ORDER, rule.limits.per_order))
    for period in PERIODS:
        cap = rule.limits.per_member(period)
        if cap is not None:
            used = ctx.earned_in_period.get((rule.id, period), 0)
            caps.append((period, max(cap - used, 0)))
    if rule.limits.budget is not None:
        caps.append((LimitCut.BUDGET, max(ctx.budget_left.get(rule.id, rule.limits.budget), 0)))
    for cut, cap in caps:
        if points > cap:
            points = cap
            cut_by = cut
    return points, cut_by


def reversed_after(
    award_lines: Sequence[tuple[int | None, int]],
    *,
    quantities: Sequence[int],
    refunded_quantities: Mapping[int, int],
    refunded_amount: int,
    refunded_by_amount: int,
    payable: int,
    fully_refunded: bool,
) -> int:
    """How much of a rule's points are reversed once the sale stands refunded this far.

    Points on a line follow the line (its share of units refunded) or, for refunds that name
    no lines, the share of the payable refunded by amount, whichever is more; points on the
    order follow the share of the payable refunded. All of it on a full refund.
    """
    total = 0
    for number, points in award_lines:
        if fully_refunded:
            total += points
        elif number is None:
            total += floor_share(points, refunded_amount, payable)
        else:
            by_units = floor_share(points, refunded_quantities.get(number, 0), quantities[number])
            by_amount = floor_share(points, refunded_by_amount, payable)
            total += max(by_units, by_amount)
    return total


def reversed_as_of(
    breakdown: Breakdown,
    *,
    quantities: Sequence[int],
    refunded_quantities: Mapping[int, int],
    refunded_amount: int,
    refunded_by_amount: int,
    payable: int,
) -> tuple[int, dict[tuple[UUID, int], int]]:
    """Points reversed in all once a sale stands refunded this far, and of each rule (by id
    and version): the base follows the payable refunded, each rule's points the lines they
    came from, everything on a full refund. A pure function of the refund state, so each
    refund reverses the difference and no rounding drifts; a forecast nets refunds out by it.
    """
    full = refunded_amount >= payable
    base = breakdown.base
    total = base if full else floor_share(base, refunded_amount, payable)
    rules: dict[tuple[UUID, int], int] = {}
    for rule in breakdown.rules:
        if not rule.points:
            continue
        done = reversed_after(
            rule.lines,
            quantities=quantities,
            refunded_quantities=refunded_quantities,
            refunded_amount=refunded_amount,
            refunded_by_amount=refunded_by_amount,
            payable=payable,
            fully_refunded=full,
        )
        key = (rule.rule_id, rule.version)
        rules[key] = rules.get(key, 0) + done
        total += done
    return total, rules


def refunds_reversed(
    breakdown: Breakdown,
    *,
    quantities: Sequence[int],
    refunded_quantities: Mapping[int, int],
    refunded_amount: int,
    refunded_by_amount: int,
    payable: int,
) -> int:
    """What the refunds recorded so far against a sale have reversed of ``breakdown``: the
    sum of what each refund reversed (``reversed_as_of`` now, less before any refund)."""
    now, _ = reversed_as_of(
        breakdown,
        quantities=quantities,
        refunded_quantities=refunded_quantities,
        refunded_amount=refunded_amount,
        refunded_by_amount=refunded_by_amount,
        payable=payable,
    )
    before, _ = reversed_as_of(
        breakdown,
        quantities=quantities,
        refunded_quantities={},
        refunded_amount=0,
        refunded_by_amount=0,
        payable=payable,
    )
    return now - before


_ANY_TIME = datetime(2000, 1, 3, tzinfo=ZoneInfo("UTC"))


def forecast_reversal(
    rule: EarningRule,
    points: int,
    *,
    lines: Sequence[Line],
    payable: int,
    refunded_quantities: Mapping[int, int],
    refunded_amount: int,
    refunded_by_amount: int,
    tier_multiplier: Decimal,
    currency_exponent: int,
    earn_rate: Decimal,
    zone: ZoneInfo,
) -> int:
    """Of the ``points`` a forecast gives a rule on a sale (after its limits), what the
    refunds recorded against the sale would have reversed, had the rule been live: the points
    attributed by ``evaluate`` (the rule alone, its order conditions taken as held, its limits
    as ``points``) and reversed as a refund reverses them. For an exclusion, ``points`` is
    what it takes from the base, and the reversal is what the refunds take back of the base
    with the exclusion less without it."""
    bare = replace(
        rule,
        conditions=Conditions(skus=rule.conditions.skus, categories=rule.conditions.categories),
        status=RuleStatus.ACTIVE,
        starts_at=None,
        ends_at=None,
        exclusive=False,
        limits=Limits() if rule.effect.kind is EffectKind.EXCLUDE else Limits(per_order=points),
    )
    ctx = EarnContext(
        lines=lines,
        payable=payable,
        occurred_at=_ANY_TIME,
        zone=zone,
        currency_exponent=currency_exponent,
        earn_rate=earn_rate,
        tier_multiplier=tier_multiplier,
    )
    state: dict[str, Any] = {
        "quantities": [line.quantity for line in lines],
        "refunded_quantities": refunded_quantities,
        "refunded_amount": refunded_amount,
        "refunded_by_amount": refunded_by_amount,
        "payable": payable,
    }
    with_rule = evaluate([bare], ctx)
    if rule.effect.kind is EffectKind.EXCLUDE:
        return refunds_reversed(with_rule, **state) - refunds_reversed(evaluate([], ctx), **state)
    return refunds_reversed(replace(with_rule, base=0), **state)


def rule_document(rule: EarningRule) -> dict[str, object]:
    """The rule as stored and answered: plain JSON values, Decimals as strings."""
    c = rule.conditions
    return {
        "id": str(rule.id),
        "version": rule.version,
        "name": rule.name,
        "priority": rule.priority,
        "exclusive": rule.exclusive,
        "status": rule.status.value,
        "starts_at": rule.starts_at.isoformat() if rule.starts_at else None,
        "ends_at": rule.ends_at.isoformat() if rule.ends_at else None,
        "effect": {"kind": rule.effect.kind.value, "value": str(rule.effect.value)},
        "conditions": {
            "skus": sorted(c.skus),
            "categories": sorted(c.categories),
            "stores": sorted(str(s) for s in c.stores),
            "channels": sorted(c.channels),
            "tiers": sorted(c.tiers),
            "rfm_segments": sorted(c.rfm_segments),
            "lifecycle_stages": sorted(c.lifecycle_stages),
            "days_of_week": sorted(c.days_of_week),
            "hours": sorted(c.hours),
            "min_payable": c.min_payable,
            "first_purchase": c.first_purchase,
            "birthday_month": c.birthday_month,
        },
        "limits": {
            "per_order": rule.limits.per_order,
            "per_member_day": rule.limits.per_member_day,
            "per_member_week": rule.limits.per_member_week,
            "per_member_month": rule.limits.per_member_month,
            "budget": rule.limits.budget,
        },
    }


def rule_from_document(doc: Mapping[str, Any]) -> EarningRule:
    """The inverse of ``rule_document`` (stored rows only: the API validates its own input)."""
    c: Mapping[str, Any] = doc["conditions"]
    e: Mapping[str, Any] = doc["effect"]
    lim: Mapping[str, Any] = doc["limits"]

    def instant(value: object) -> datetime | None:
        return datetime.fromisoformat(str(value)) if value else None

    return EarningRule(
        id=UUID(str(doc["id"])),
        version=int(doc["version"]),
        name=str(doc["name"]),
        priority=int(doc["priority"]),
        exclusive=bool(doc["exclusive"]),
        status=RuleStatus(doc["status"]),
        starts_at=instant(doc.get("starts_at")),
        ends_at=instant(doc.get("ends_at")),
        effect=Effect(EffectKind(e["kind"]), Decimal(str(e["value"]))),
        conditions=Conditions(
            skus=frozenset(c["skus"]),
            categories=frozenset(c["categories"]),
            stores=frozenset(UUID(s) for s in c["stores"]),
            channels=frozenset(c["channels"]),
            tiers=frozenset(c["tiers"]),
            rfm_segments=frozenset(c["rfm_segments"]),
            lifecycle_stages=frozenset(c["lifecycle_stages"]),
            days_of_week=frozenset(c["days_of_week"]),
            hours=frozenset(c["hours"]),
            min_payable=int(c["min_payable"]),
            first_purchase=bool(c["first_purchase"]),
            birthday_month=bool(c["birthday_month"]),
        ),
        limits=Limits(**{k: (int(v) if v is not None else None) for k, v in lim.items()}),
    )


@dataclass(frozen=True, slots=True)
class MemberFacts:
    """What rules may ask of a member beyond the sale: read only when a live rule asks."""

    first_purchase: bool = False
    rfm_segment: str | None = None
    lifecycle_stage: str | None = None


@dataclass(frozen=True, slots=True)
class Award:
    """Points a rule gave a sale (positive) or a refund took back (negative)."""

    rule_id: UUID
    rule_version: int
    sale_id: UUID
    member_id: UUID
    points: int
    occurred_at: datetime
    refund_id: UUID | None = None


@dataclass(frozen=True, slots=True)
class Forecast:
    """What a draft rule would have given over a past period: gross (as the sales earned),
    and what the refunds recorded so far against those sales would have taken back of it."""

    extra_points: int
    members: int
    sales: int
    cost_minor: int  # floor(extra points x point value)
    reversed_points: int = 0  # of the extra points, by the refunds (docs/rules.md)
    net_cost_minor: int = 0  # floor(net extra points x point value)

    @property
    def net_extra_points(self) -> int:
        return self.extra_points - self.reversed_points


class EarningRuleRepository(Protocol):
    async def live(self) -> tuple[EarningRule, ...]:
        """Every rule not ended, current versions (cached configuration)."""
        ...

    async def get(self, rule_id: UUID) -> EarningRule | None: ...

    async def get_for_update(self, rule_id: UUID) -> EarningRule | None: ...

    async def page(self, *, after: UUID | None, limit: int) -> list[EarningRule]: ...

    async def versions(self, rule_id: UUID) -> list[EarningRule]: ...

    async def add(self, rule: EarningRule, actor: str, at: datetime) -> None:
        """Stores a new rule (version 1) and its budget row."""
        ...

    async def save(self, rule: EarningRule, actor: str, at: datetime) -> None:
        """Stores the rule's next version as current."""
        ...

    async def member_facts(
        self, member_id: UUID, *, zone: str, today: date, crm: CrmSettings, need_crm: bool
    ) -> MemberFacts: ...

    async def earned_in_periods(
        self, member_id: UUID, wanted: Sequence[tuple[UUID, LimitCut, datetime, datetime]]
    ) -> dict[tuple[UUID, LimitCut], int]:
        """Net points the member has from each rule in each period [start, end), by the
        time of the sales (a till that syncs late counts in the period of its sale)."""
        ...

    async def budgets_spent(self, rule_ids: Sequence[UUID], *, lock: bool) -> dict[UUID, int]:
        """The points spent of each rule's budget; ``lock``: the rows are locked in key order
        until the transaction ends (a sale takes the last points of a budget alone)."""
        ...

    async def spend(self, spent: Mapping[UUID, int]) -> None:
        """Adds to (or, negative, gives back to) the budgets spent; rows locked by the caller."""
        ...

    async def add_awards(self, awards: Sequence[Award]) -> None: ...

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
    ) -> Forecast: ...


def breakdown_document(b: Breakdown) -> dict[str, Any]:
    """The breakdown as the sale keeps it (sales.points_breakdown)."""
    return {
        "base": b.base,
        "tier_multiplier": str(b.tier_multiplier),
        "tier": b.tier_code,
        "excluded_lines": list(b.excluded_lines),
        "rules": [
            {
                "rule_id": str(r.rule_id),
                "version": r.version,
                "name": r.name,
                "kind": r.kind.value,
                "points": r.points,
                "wanted": r.wanted,
                "cut_by": r.cut_by.value if r.cut_by else None,
                "lines": [[n, p] for n, p in r.lines],
            }
            for r in b.rules
        ],
    }


def breakdown_from_document(doc: Mapping[str, Any]) -> Breakdown:
    return Breakdown(
        base=int(doc["base"]),
        tier_multiplier=Decimal(str(doc["tier_multiplier"])),
        excluded_lines=tuple(int(n) for n in doc.get("excluded_lines", ())),
        tier_code=doc.get("tier"),
        rules=tuple(
            RulePoints(
                rule_id=UUID(r["rule_id"]),
                version=int(r["version"]),
                name=str(r["name"]),
                kind=EffectKind(r["kind"]),
                points=int(r["points"]),
                wanted=int(r["wanted"]),
                cut_by=LimitCut(r["cut_by"]) if r.get("cut_by") else None,
                lines=tuple((None if n is None else int(n), int(p)) for n, p in r["lines"]),
            )
            for r in doc["rules"]
        ),
    )
