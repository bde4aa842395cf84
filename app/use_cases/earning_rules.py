"""Earning rules: what an admin defines, versions, schedules, pauses, ends and forecasts.

Every change saves the rule's next version (earning_rule_versions keeps them all) and is
audited; the sales made under a version name it in their breakdown and ledger entry.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Protocol
from uuid import UUID

from app.unit_of_work import WithAudit, WithEarningRules, WithProgram
from domain.earning_rules import (
    Conditions,
    EarningRule,
    Effect,
    EffectKind,
    Forecast,
    Limits,
    RuleStatus,
    rule_document,
)
from domain.errors import (
    EarningRuleChanged,
    EarningRuleEnded,
    EarningRuleNotFound,
    InvalidInput,
)
from domain.ports import Clock, IdGenerator
from domain.repositories import AuditRecord
from domain.time_range import require_instant

MAX_SIMULATION_DAYS = 3660


class EarningRulesUnit(WithAudit, WithEarningRules, WithProgram, Protocol):
    """What these use cases use of the unit of work (any ``UnitOfWork`` has it)."""


@dataclass(frozen=True, slots=True)
class RuleDefinition:
    name: str
    effect: Effect
    conditions: Conditions = field(default_factory=Conditions)
    limits: Limits = field(default_factory=Limits)
    priority: int = 0
    exclusive: bool = False
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    status: RuleStatus = RuleStatus.ACTIVE

    def rule(self, rule_id: UUID, version: int) -> EarningRule:
        """The rule it defines: the domain validates the whole of it (422 naming the field)."""
        if self.status is RuleStatus.ENDED:
            raise InvalidInput("a rule is created active or paused", field="status")
        return EarningRule(
            id=rule_id,
            name=self.name.strip(),
            effect=self.effect,
            conditions=self.conditions,
            limits=self.limits,
            priority=self.priority,
            exclusive=self.exclusive,
            status=self.status,
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            version=version,
        )


async def _audit(uow: EarningRulesUnit, actor: str, action: str, rule: EarningRule) -> None:
    await uow.audit.record(
        AuditRecord(actor, action, f"earning_rule:{rule.id}", rule_document(rule))
    )


async def create_rule(
    definition: RuleDefinition,
    actor: str,
    uow: EarningRulesUnit,
    *,
    clock: Clock,
    ids: IdGenerator,
) -> EarningRule:
    rule = definition.rule(ids.new_id(), 1)
    await uow.earning_rules.add(rule, actor, clock.now())
    await _audit(uow, actor, "earning_rule.created", rule)
    return rule


async def get_rule(rule_id: UUID, uow: EarningRulesUnit) -> EarningRule:
    rule = await uow.earning_rules.get(rule_id)
    if rule is None:
        raise EarningRuleNotFound()
    return rule


async def list_rules(uow: EarningRulesUnit, *, after: UUID | None, limit: int) -> list[EarningRule]:
    return await uow.earning_rules.page(after=after, limit=limit)


async def rule_versions(
    rule_id: UUID, uow: EarningRulesUnit, *, after: int | None = None, limit: int = 50
) -> list[EarningRule]:
    """The rule's versions, oldest first, after version ``after`` (a rule has few)."""
    await get_rule(rule_id, uow)
    versions = await uow.earning_rules.versions(rule_id)
    return [v for v in versions if after is None or v.version > after][:limit]


async def _next(rule_id: UUID, uow: EarningRulesUnit, expected_version: int | None) -> EarningRule:
    current = await uow.earning_rules.get_for_update(rule_id)
    if current is None:
        raise EarningRuleNotFound()
    if current.status is RuleStatus.ENDED:
        raise EarningRuleEnded()
    if expected_version is not None and expected_version != current.version:
        raise EarningRuleChanged(
            f"the rule is at version {current.version}, the change is based on {expected_version}"
        )
    return current


async def revise_rule(
    rule_id: UUID,
    definition: RuleDefinition,
    actor: str,
    uow: EarningRulesUnit,
    *,
    clock: Clock,
    expected_version: int | None = None,
) -> EarningRule:
    """Saves the rule's next version: sales from now on earn by it; sales before keep the
    version they name. Its budget and what members have earned from it carry over."""
    current = await _next(rule_id, uow, expected_version)
    rule = definition.rule(rule_id, current.version + 1)
    await uow.earning_rules.save(rule, actor, clock.now())
    await _audit(uow, actor, "earning_rule.revised", rule)
    return rule


@dataclass(frozen=True, slots=True)
class ScheduleRule:
    rule_id: UUID
    starts_at: datetime | None
    ends_at: datetime | None
    actor: str
    expected_version: int | None = None


async def schedule_rule(cmd: ScheduleRule, uow: EarningRulesUnit, *, clock: Clock) -> EarningRule:
    current = await _next(cmd.rule_id, uow, cmd.expected_version)
    rule = _checked(
        replace(current, starts_at=cmd.starts_at, ends_at=cmd.ends_at, version=current.version + 1)
    )
    await uow.earning_rules.save(rule, cmd.actor, clock.now())
    await _audit(uow, cmd.actor, "earning_rule.scheduled", rule)
    return rule


@dataclass(frozen=True, slots=True)
class SetRuleStatus:
    rule_id: UUID
    status: RuleStatus  # paused, active (resume) or ended (for good)
    actor: str
    expected_version: int | None = None


_ACTIONS = {
    RuleStatus.PAUSED: "earning_rule.paused",
    RuleStatus.ACTIVE: "earning_rule.resumed",
    RuleStatus.ENDED: "earning_rule.ended",
}


async def set_rule_status(
    cmd: SetRuleStatus, uow: EarningRulesUnit, *, clock: Clock
) -> EarningRule:
    """Pauses, resumes or ends a rule; asking for the status it has answers it as it is."""
    current = await uow.earning_rules.get_for_update(cmd.rule_id)
    if current is None:
        raise EarningRuleNotFound()
    if current.status is cmd.status:
        return current
    current = await _next(cmd.rule_id, uow, cmd.expected_version)
    rule = replace(current, status=cmd.status, version=current.version + 1)
    await uow.earning_rules.save(rule, cmd.actor, clock.now())
    await _audit(uow, cmd.actor, _ACTIONS[cmd.status], rule)
    return rule


def _checked(rule: EarningRule) -> EarningRule:
    # Rebuilt through the constructor, so a schedule is validated as a whole rule is.
    return EarningRule(
        id=rule.id,
        name=rule.name,
        effect=rule.effect,
        conditions=rule.conditions,
        limits=rule.limits,
        priority=rule.priority,
        exclusive=rule.exclusive,
        status=rule.status,
        starts_at=rule.starts_at,
        ends_at=rule.ends_at,
        version=rule.version,
    )


@dataclass(frozen=True, slots=True)
class SimulateRule:
    definition: RuleDefinition
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class Simulation:
    rule: EarningRule
    forecast: Forecast
    point_value: str
    currency: str


async def simulate_rule(
    cmd: SimulateRule, uow: EarningRulesUnit, *, ids: IdGenerator
) -> Simulation:
    """What a draft rule would have given over recorded sales, read-only: extra points,
    members and sales touched, and their cost at the point value, gross and net of the
    refunds recorded against those sales (docs/rules.md#earning-rules, "Forecast")."""
    start = require_instant(cmd.start, "from")
    end = require_instant(cmd.end, "to")
    if end <= start:
        raise InvalidInput("to must be after from", field="to")
    if (end - start).days > MAX_SIMULATION_DAYS:
        raise InvalidInput(f"a simulation covers at most {MAX_SIMULATION_DAYS} days", field="to")
    rule = cmd.definition.rule(ids.new_id(), 1)
    program = await uow.program.get()
    forecast = await uow.earning_rules.forecast(
        replace(rule, status=RuleStatus.ACTIVE),
        start=start,
        end=end,
        zone=program.time_zone,
        currency_exponent=program.currency_exponent,
        earn_rate=program.earn_rate,
        point_value=program.point_value,
        crm=program.crm,
    )
    return Simulation(rule, forecast, str(program.point_value), program.currency)


__all__ = [
    "EffectKind",
    "RuleDefinition",
    "ScheduleRule",
    "SetRuleStatus",
    "SimulateRule",
    "Simulation",
    "create_rule",
    "get_rule",
    "list_rules",
    "revise_rule",
    "rule_versions",
    "schedule_rule",
    "set_rule_status",
    "simulate_rule",
]
