"""Outbound webhook endpoints: registration, changes, secret rotation, the delivery log and
resending (docs/http-contract.md, "Webhooks for integrators")."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, Parameter
from msgspec import UNSET

from adapters.http.controllers.me import MAX_BIGINT, Cursor, Limit, decode_cursor, encode_cursor
from adapters.http.cursors import decode_after, next_cursor
from adapters.http.idempotency import IdempotencyKey, respond_idempotently
from adapters.http.schemas.outbound_webhooks import (
    ResendSinceIn,
    ResentOut,
    SecretRotationIn,
    WebhookAttemptOut,
    WebhookAttemptPageOut,
    WebhookDeliveryOut,
    WebhookDeliveryPageOut,
    WebhookEndpointIn,
    WebhookEndpointOut,
    WebhookEndpointPageOut,
    WebhookEndpointPatchIn,
)
from adapters.http.schemas.problem import problems
from app import transactions
from app.container import Container
from app.principal import Principal
from app.unit_of_work import UnitOfWork
from app.use_cases.webhook_endpoints import (
    ChangeEndpoint,
    RegisterEndpoint,
    ResendDelivery,
    ResendSince,
    RotateEndpointSecret,
    change_endpoint,
    get_endpoint,
    list_attempts,
    list_deliveries,
    list_endpoints,
    register_endpoint,
    resend_delivery,
    resend_since,
    rotate_endpoint_secret,
)

SHOWN_ONCE = (
    " The signing secret is in this answer only (the service keeps it sealed, to sign with); "
    "a retry with the same Idempotency-Key answers without it (`secret: null`, "
    "`secret_withheld: true`). A lost secret is replaced by rotating it."
)
DeliveryId = Annotated[int, Parameter(ge=1, le=MAX_BIGINT)]


def _withheld(answer: WebhookEndpointOut) -> WebhookEndpointOut:
    return answer.withheld()


def _given(value: Any) -> Any:
    return None if value is UNSET else value


class AdminWebhookEndpointsController(Controller):
    path = "/webhook-endpoints"
    tags = ["admin"]

    @post(
        operation_id="registerWebhookEndpoint",
        summary="Register an endpoint for outbound webhooks; its signing secret is shown once",
        description="Deliveries are signed per Standard Webhooks and carry ids and amounts, "
        "not personal data, unless `personal_data` is true. Audited." + SHOWN_ONCE,
        status_code=201,
        responses=problems(401, 403, 422),
    )
    async def register(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[WebhookEndpointIn],
        container: NamedDependency[Container],
        principal: NamedDependency[Principal],
        idempotency_key: IdempotencyKey,
    ) -> Response[WebhookEndpointOut]:
        command = RegisterEndpoint(
            url=data.url,
            event_types=tuple(t.value for t in data.event_types),
            description=data.description,
            personal_data=data.personal_data,
            actor=principal.actor,
        )

        async def action(uow: UnitOfWork) -> tuple[int, WebhookEndpointOut]:
            new = await register_endpoint(
                command,
                uow,
                clock=container.clock,
                ids=container.ids,
                random=container.random,
                secrets=container.webhook_secrets,
            )
            return 201, WebhookEndpointOut.of(new.endpoint, new.secret)

        return await respond_idempotently(
            request, container, principal, idempotency_key, action, remembered=_withheld
        )

    @get(
        operation_id="listWebhookEndpoints",
        summary="Webhook endpoints (never a secret)",
        responses=problems(401, 403, 422),
    )
    async def index(
        self, container: NamedDependency[Container], limit: Limit = 50, cursor: Cursor = None
    ) -> WebhookEndpointPageOut:
        after = decode_after(cursor)
        found = await transactions.read(
            container.uow, lambda uow: list_endpoints(uow, after=after, limit=limit)
        )
        return WebhookEndpointPageOut(
            items=[WebhookEndpointOut.of(e) for e in found],
            next_cursor=next_cursor([e.id for e in found], limit),
        )

    @get(
        "/{endpoint_id:uuid}",
        operation_id="getWebhookEndpoint",
        summary="One webhook endpoint: its state, run of failures, and why it was disabled",
        responses=problems(401, 403, 404),
    )
    async def show(
        self, endpoint_id: FromPath[UUID], container: NamedDependency[Container]
    ) -> WebhookEndpointOut:
        endpoint = await transactions.read(
            container.uow, lambda uow: get_endpoint(uow, endpoint_id)
        )
        return WebhookEndpointOut.of(endpoint)

    @patch(
        "/{endpoint_id:uuid}",
        operation_id="changeWebhookEndpoint",
        summary="Change an endpoint's URL, events, description or personal data; enable or "
        "disable it",
        description="Fields left out stay as they are. Enabling an endpoint the service "
        "disabled after its failures clears the run, and the deliveries that waited go out. "
        "Audited.",
        responses=problems(401, 403, 404, 422),
    )
    async def change(
        self,
        endpoint_id: FromPath[UUID],
        data: JSONBody[WebhookEndpointPatchIn],
        container: NamedDependency[Container],
        principal: NamedDependency[Principal],
    ) -> WebhookEndpointOut:
        event_types = _given(data.event_types)
        command = ChangeEndpoint(
            endpoint_id=endpoint_id,
            actor=principal.actor,
            url=_given(data.url),
            event_types=None if event_types is None else tuple(t.value for t in event_types),
            description=_given(data.description),
            personal_data=_given(data.personal_data),
            enabled=_given(data.enabled),
        )
        endpoint = await transactions.write(
            container.uow, lambda uow: change_endpoint(command, uow, clock=container.clock)
        )
        return WebhookEndpointOut.of(endpoint)

    @post(
        "/{endpoint_id:uuid}/secret",
        operation_id="rotateWebhookEndpointSecret",
        summary="Replace an endpoint's signing secret; the new one is shown once",
        description="During the overlap (24 hours unless told) every delivery carries two "
        "signatures, under the new secret and the replaced one, so the consumer can switch "
        "at its own pace. Audited." + SHOWN_ONCE,
        status_code=200,
        responses=problems(401, 403, 404, 422),
    )
    async def rotate(
        self,
        request: Request[Any, Any, Any],
        endpoint_id: FromPath[UUID],
        data: JSONBody[SecretRotationIn],
        container: NamedDependency[Container],
        principal: NamedDependency[Principal],
        idempotency_key: IdempotencyKey,
    ) -> Response[WebhookEndpointOut]:
        command = RotateEndpointSecret(
            endpoint_id=endpoint_id,
            actor=principal.actor,
            overlap=timedelta(seconds=data.overlap_seconds),
        )

        async def action(uow: UnitOfWork) -> tuple[int, WebhookEndpointOut]:
            new = await rotate_endpoint_secret(
                command,
                uow,
                clock=container.clock,
                random=container.random,
                secrets=container.webhook_secrets,
            )
            return 200, WebhookEndpointOut.of(new.endpoint, new.secret)

        return await respond_idempotently(
            request, container, principal, idempotency_key, action, remembered=_withheld
        )

    @get(
        "/{endpoint_id:uuid}/deliveries",
        operation_id="listWebhookDeliveries",
        summary="The endpoint's deliveries, newest first: state, attempts, last status",
        responses=problems(401, 403, 404, 422),
    )
    async def deliveries(
        self,
        endpoint_id: FromPath[UUID],
        container: NamedDependency[Container],
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> WebhookDeliveryPageOut:
        before = decode_cursor(cursor)
        found = await transactions.read(
            container.uow,
            lambda uow: list_deliveries(uow, endpoint_id, before=before, limit=limit),
        )
        return WebhookDeliveryPageOut(
            items=[WebhookDeliveryOut.of(d) for d in found],
            next_cursor=encode_cursor(found[-1].id) if len(found) == limit else None,
        )

    @get(
        "/{endpoint_id:uuid}/attempts",
        operation_id="listWebhookAttempts",
        summary="The endpoint's delivery log, newest first: attempt, status, latency, error",
        responses=problems(401, 403, 404, 422),
    )
    async def attempts(
        self,
        endpoint_id: FromPath[UUID],
        container: NamedDependency[Container],
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> WebhookAttemptPageOut:
        before = decode_cursor(cursor)
        found = await transactions.read(
            container.uow,
            lambda uow: list_attempts(uow, endpoint_id, before=before, limit=limit),
        )
        return WebhookAttemptPageOut(
            items=[WebhookAttemptOut.of(a) for a in found],
            next_cursor=encode_cursor(found[-1].id) if len(found) == limit else None,
        )

    @post(
        "/{endpoint_id:uuid}/deliveries/{delivery_id:int}/resend",
        operation_id="resendWebhookDelivery",
        summary="Send one delivery again (delivered, dead or waiting), due now",
        description="The consumer gets the same webhook-id as before. A dead delivery gets "
        "three more days of retries. Audited.",
        status_code=200,
        responses=problems(401, 403, 404, 422),
    )
    async def resend_one(
        self,
        request: Request[Any, Any, Any],
        endpoint_id: FromPath[UUID],
        delivery_id: DeliveryId,
        container: NamedDependency[Container],
        principal: NamedDependency[Principal],
        idempotency_key: IdempotencyKey,
    ) -> Response[ResentOut]:
        command = ResendDelivery(endpoint_id, delivery_id, principal.actor)

        async def action(uow: UnitOfWork) -> tuple[int, ResentOut]:
            await resend_delivery(command, uow, clock=container.clock)
            return 200, ResentOut(deliveries=1)

        return await respond_idempotently(request, container, principal, idempotency_key, action)

    @post(
        "/{endpoint_id:uuid}/resend",
        operation_id="resendWebhookDeliveriesSince",
        summary="Send again every delivery of events that occurred since a time",
        description="For a consumer that lost data or was down longer than the three days "
        "of retries. Audited.",
        status_code=200,
        responses=problems(401, 403, 404, 422),
    )
    async def resend_since(
        self,
        request: Request[Any, Any, Any],
        endpoint_id: FromPath[UUID],
        data: JSONBody[ResendSinceIn],
        container: NamedDependency[Container],
        principal: NamedDependency[Principal],
        idempotency_key: IdempotencyKey,
    ) -> Response[ResentOut]:
        command = ResendSince(endpoint_id, data.since, principal.actor)

        async def action(uow: UnitOfWork) -> tuple[int, ResentOut]:
            count = await resend_since(command, uow, clock=container.clock)
            return 200, ResentOut(deliveries=count)

        return await respond_idempotently(request, container, principal, idempotency_key, action)


__all__ = ["AdminWebhookEndpointsController"]
