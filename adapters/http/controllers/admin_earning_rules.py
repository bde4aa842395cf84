from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Request, Response, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from adapters.http.controllers.me import Cursor, Limit
from adapters.http.cursors import decode_after, next_cursor
from adapters.http.idempotency import IdempotencyKey, SimulationKey, respond_idempotently
from adapters.http.schemas.earning_rules import (
    EarningRuleIn,
    EarningRuleOut,
    EarningRulePageOut,
    EarningRuleVersionsOut,
    ScheduleIn,
    SimulateIn,
    SimulationOut,
    StatusChangeIn,
)
from adapters.http.schemas.problem import problems
from app import transactions
from app.container import Container
from app.principal import Principal
from app.unit_of_work import UnitOfWork
from app.use_cases.earning_rules import (
    ScheduleRule,
    SetRuleStatus,
    SimulateRule,
    create_rule,
    get_rule,
    list_rules,
    revise_rule,
    rule_versions,
    schedule_rule,
    set_rule_status,
    simulate_rule,
)
from domain.earning_rules import RuleStatus

_ORDER = (
    "Rules apply in a fixed order (docs/rules.md#earning-rules): exclusions first, then by "
    "priority, highest first; an exclusive rule that gives points stops the rules after it. "
)


class AdminEarningRulesController(Controller):
    path = "/earning-rules"
    tags = ["admin", "earning rules"]

    @post(
        operation_id="createEarningRule",
        summary="Define an earning rule (audited)",
        description=_ORDER + "An invalid rule is 422 naming the field. A rule created "
        "`paused` gives nothing until resumed.",
        status_code=201,
        responses=problems(401, 403, 409, 422),
    )
    async def create(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[EarningRuleIn],
        container: NamedDependency[Container],
        principal: NamedDependency[Principal],
        idempotency_key: IdempotencyKey,
    ) -> Response[EarningRuleOut]:
        definition = data.to_definition()

        async def action(uow: UnitOfWork) -> tuple[int, EarningRuleOut]:
            rule = await create_rule(
                definition, principal.actor, uow, clock=container.clock, ids=container.ids
            )
            return 201, EarningRuleOut.of(rule)

        return await respond_idempotently(request, container, principal, idempotency_key, action)

    @get(
        operation_id="listEarningRules",
        summary="Earning rules, current versions, by id",
        responses=problems(401, 403, 422),
    )
    async def index(
        self, container: NamedDependency[Container], limit: Limit = 50, cursor: Cursor = None
    ) -> EarningRulePageOut:
        after = decode_after(cursor)
        rules = await transactions.read(
            container.uow, lambda uow: list_rules(uow, after=after, limit=limit)
        )
        return EarningRulePageOut(
            items=[EarningRuleOut.of(r) for r in rules],
            next_cursor=next_cursor([r.id for r in rules], limit),
        )

    @get(
        "/{rule_id:uuid}",
        operation_id="getEarningRule",
        summary="One earning rule, current version",
        responses=problems(401, 403, 404),
    )
    async def show(
        self, rule_id: FromPath[UUID], container: NamedDependency[Container]
    ) -> EarningRuleOut:
        rule = await transactions.read(container.uow, lambda uow: get_rule(rule_id, uow))
        return EarningRuleOut.of(rule)

    @get(
        "/{rule_id:uuid}/versions",
        operation_id="listEarningRuleVersions",
        summary="Every version of an earning rule, oldest first",
        responses=problems(401, 403, 404, 422),
    )
    async def versions(
        self,
        rule_id: FromPath[UUID],
        container: NamedDependency[Container],
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> EarningRuleVersionsOut:
        # The cursor names a version number, carried as the UUID whose integer it is.
        after = decode_after(cursor)
        rules = await transactions.read(
            container.uow,
            lambda uow: rule_versions(
                rule_id, uow, after=after.int if after else None, limit=limit
            ),
        )
        return EarningRuleVersionsOut(
            items=[EarningRuleOut.of(r) for r in rules],
            next_cursor=next_cursor([UUID(int=r.version) for r in rules], limit),
        )

    @put(
        "/{rule_id:uuid}",
        operation_id="reviseEarningRule",
        summary="Save the rule's next version (audited)",
        description="Sales from now on earn by the new version; sales before keep naming the "
        "version they earned by. Its budget spent and what members earned from it carry over. "
        "409 `earning_rule_ended` for an ended rule; 409 `earning_rule_changed` if `version` is "
        "given and another version was saved since.",
        responses=problems(401, 403, 404, 409, 422),
    )
    async def revise(
        self,
        rule_id: FromPath[UUID],
        data: JSONBody[EarningRuleIn],
        container: NamedDependency[Container],
        principal: NamedDependency[Principal],
    ) -> EarningRuleOut:
        definition = data.to_definition()
        rule = await transactions.write(
            container.uow,
            lambda uow: revise_rule(
                rule_id,
                definition,
                principal.actor,
                uow,
                clock=container.clock,
                expected_version=data.version,
            ),
        )
        return EarningRuleOut.of(rule)

    @post(
        "/{rule_id:uuid}/schedule",
        operation_id="scheduleEarningRule",
        summary="Set when the rule runs: starts_at (inclusive) and ends_at (exclusive) (audited)",
        description="Either may be null (from now / without end). Saves a new version.",
        status_code=200,
        responses=problems(401, 403, 404, 409, 422),
    )
    async def schedule(
        self,
        request: Request[Any, Any, Any],
        rule_id: FromPath[UUID],
        data: JSONBody[ScheduleIn],
        container: NamedDependency[Container],
        principal: NamedDependency[Principal],
        idempotency_key: IdempotencyKey,
    ) -> Response[EarningRuleOut]:
        command = ScheduleRule(rule_id, data.starts_at, data.ends_at, principal.actor, data.version)

        async def action(uow: UnitOfWork) -> tuple[int, EarningRuleOut]:
            return 200, EarningRuleOut.of(await schedule_rule(command, uow, clock=container.clock))

        return await respond_idempotently(request, container, principal, idempotency_key, action)

    async def _status(
        self,
        request: Request[Any, Any, Any],
        rule_id: UUID,
        status: RuleStatus,
        data: StatusChangeIn,
        container: Container,
        principal: Principal,
        idempotency_key: str,
    ) -> Response[EarningRuleOut]:
        command = SetRuleStatus(rule_id, status, principal.actor, data.version)

        async def action(uow: UnitOfWork) -> tuple[int, EarningRuleOut]:
            rule = await set_rule_status(command, uow, clock=container.clock)
            return 200, EarningRuleOut.of(rule)

        return await respond_idempotently(request, container, principal, idempotency_key, action)

    @post(
        "/{rule_id:uuid}/pause",
        operation_id="pauseEarningRule",
        summary="Pause the rule: it gives nothing until resumed (audited)",
        status_code=200,
        responses=problems(401, 403, 404, 409, 422),
    )
    async def pause(
        self,
        request: Request[Any, Any, Any],
        rule_id: FromPath[UUID],
        data: JSONBody[StatusChangeIn],
        container: NamedDependency[Container],
        principal: NamedDependency[Principal],
        idempotency_key: IdempotencyKey,
    ) -> Response[EarningRuleOut]:
        return await self._status(
            request, rule_id, RuleStatus.PAUSED, data, container, principal, idempotency_key
        )

    @post(
        "/{rule_id:uuid}/resume",
        operation_id="resumeEarningRule",
        summary="Resume a paused rule (audited)",
        status_code=200,
        responses=problems(401, 403, 404, 409, 422),
    )
    async def resume(
        self,
        request: Request[Any, Any, Any],
        rule_id: FromPath[UUID],
        data: JSONBody[StatusChangeIn],
        container: NamedDependency[Container],
        principal: NamedDependency[Principal],
        idempotency_key: IdempotencyKey,
    ) -> Response[EarningRuleOut]:
        return await self._status(
            request, rule_id, RuleStatus.ACTIVE, data, container, principal, idempotency_key
        )

    @post(
        "/{rule_id:uuid}/end",
        operation_id="endEarningRule",
        summary="End the rule for good (audited)",
        description="An ended rule gives nothing and cannot be changed again (409 "
        "`earning_rule_ended`); refunds of sales it gave points to still reverse them.",
        status_code=200,
        responses=problems(401, 403, 404, 409, 422),
    )
    async def end(
        self,
        request: Request[Any, Any, Any],
        rule_id: FromPath[UUID],
        data: JSONBody[StatusChangeIn],
        container: NamedDependency[Container],
        principal: NamedDependency[Principal],
        idempotency_key: IdempotencyKey,
    ) -> Response[EarningRuleOut]:
        return await self._status(
            request, rule_id, RuleStatus.ENDED, data, container, principal, idempotency_key
        )

    @post(
        "/simulate",
        operation_id="simulateEarningRule",
        summary="What a draft rule would have given over a past period (nothing is saved)",
        description="Runs the draft alone over the recorded sales of members in [from, to) "
        "(its own starts_at/ends_at narrow the period), set-based in SQL: the extra points "
        "(negative for an exclusion), the members and sales it touches, and the cost, "
        "floor(extra points x point_value) minor units; and the same net of the refunds "
        "recorded against those sales. Tier conditions and multipliers are the tier each "
        "sale earned at (kept with its breakdown); first purchase and lifecycle stage are "
        "judged from the member's earlier sales; the RFM segment is the current snapshot. "
        "No Idempotency-Key is needed: nothing is saved.",
        status_code=200,
        responses=problems(400, 401, 403, 422),
    )
    async def simulate(
        self,
        data: JSONBody[SimulateIn],
        container: NamedDependency[Container],
        idempotency_key: SimulationKey = None,
    ) -> SimulationOut:
        command = SimulateRule(data.rule.to_definition(), data.from_, data.to)
        result = await transactions.read(
            container.uow, lambda uow: simulate_rule(command, uow, ids=container.ids)
        )
        return SimulationOut.of(result)
