"""Console pages of outbound webhook endpoints (issue #18): registered (the signing secret
shown on that answer only), listed with the state of their deliveries, their events, address
and description changed, disabled and enabled again, their secret rotated (the replaced one
still signs for the overlap chosen, as the API does), their delivery log read and a delivery
sent again. Through app/use_cases/webhook_endpoints.py, as /v1/admin/webhook-endpoints."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from adapters.http.console.controller import Form, _formats, _page, _program
from adapters.http.console.forms import DELIVERY_STATES, FieldError, fault_of, integer, shown, text
from app import transactions
from app.container import Container
from app.use_cases.staff import actor_of
from app.use_cases.webhook_endpoints import (
    ChangeEndpoint,
    RegisterEndpoint,
    ResendDelivery,
    RotateEndpointSecret,
    change_endpoint,
    get_endpoint,
    list_deliveries,
    list_endpoints,
    register_endpoint,
    resend_delivery,
    rotate_endpoint_secret,
)
from domain.errors import DomainError, InvalidInput
from domain.outbound_webhooks import (
    MAX_OVERLAP,
    EventType,
    check_description,
    check_event_types,
    check_url,
)
from domain.staff import StaffMember

LISTED = 200
DELIVERIES = 50  # the newest deliveries shown; older ones through the API's cursor
EVENTS = tuple(t.value for t in EventType)


def _checked(field: str, check: Any, value: Any) -> Any:
    """Runs the domain's check of one field, so that a refusal names it."""
    try:
        return check(value)
    except InvalidInput:
        raise FieldError(field) from None


def _fields(data: dict[str, str]) -> tuple[str, tuple[str, ...], str, bool]:
    url = _checked("url", check_url, text(data, "url", 3000))
    events = tuple(e for e in EVENTS if data.get(f"event_{e}"))
    _checked("event_types", check_event_types, events)
    description = _checked("description", check_description, text(data, "description", 1000))
    return url, events, description, bool(data.get("personal_data"))


def _typed(data: dict[str, str]) -> dict[str, Any]:
    return {
        "url": shown(data, "url", 3000),
        "description": shown(data, "description", 1000),
        "events": [e for e in EVENTS if data.get(f"event_{e}")],
        "personal_data": bool(data.get("personal_data")),
    }


class WebhookPages(Controller):
    path = "/console"
    include_in_schema = False

    @get("/webhooks", operation_id="console.webhooks.list")
    async def index(
        self, request: Request[Any, Any, Any], container: NamedDependency[Container]
    ) -> Template:
        return await _list_page(request, container)

    @post("/webhooks", operation_id="console.webhooks.register")
    async def register(
        self, request: Request[Any, Any, Any], data: Form, container: NamedDependency[Container]
    ) -> Template:
        """The new endpoint's signing secret is on this answer only."""
        staff: StaffMember = request.state.staff
        try:
            url, events, description, personal = _fields(data)
            command = RegisterEndpoint(url, events, description, personal, actor_of(staff))
            registered = await transactions.write(
                container.uow,
                lambda uow: register_endpoint(
                    command,
                    uow,
                    clock=container.clock,
                    ids=container.ids,
                    random=container.random,
                    secrets=container.webhook_secrets,
                ),
            )
        except (FieldError, DomainError) as refused:
            return await _list_page(
                request, container, 422, fault=fault_of(refused), values=_typed(data)
            )
        return await _list_page(request, container, 201, registered=registered)

    @get("/webhooks/{endpoint_id:uuid}", operation_id="console.webhooks.view")
    async def view(
        self,
        request: Request[Any, Any, Any],
        endpoint_id: FromPath[UUID],
        container: NamedDependency[Container],
    ) -> Template:
        saved = request.query_params.get("saved", "")
        return await _endpoint_page(request, container, endpoint_id, saved=saved[:20])

    @post("/webhooks/{endpoint_id:uuid}", operation_id="console.webhooks.change")
    async def change(
        self,
        request: Request[Any, Any, Any],
        endpoint_id: FromPath[UUID],
        data: Form,
        container: NamedDependency[Container],
    ) -> Any:
        staff: StaffMember = request.state.staff
        try:
            url, events, description, personal = _fields(data)
            command = ChangeEndpoint(
                endpoint_id,
                actor_of(staff),
                url=url,
                event_types=events,
                description=description,
                personal_data=personal,
            )
            await transactions.write(
                container.uow, lambda uow: change_endpoint(command, uow, clock=container.clock)
            )
        except (FieldError, DomainError) as refused:
            return await _endpoint_page(
                request, container, endpoint_id, 422, fault=fault_of(refused), values=_typed(data)
            )
        return _back(endpoint_id, "changed")

    @post("/webhooks/{endpoint_id:uuid}/state", operation_id="console.webhooks.state")
    async def state(
        self,
        request: Request[Any, Any, Any],
        endpoint_id: FromPath[UUID],
        data: Form,
        container: NamedDependency[Container],
    ) -> Any:
        """Disables the endpoint, or enables it again (its waiting deliveries go out)."""
        staff: StaffMember = request.state.staff
        enabled = str(data.get("enabled", "")) == "true"
        command = ChangeEndpoint(endpoint_id, actor_of(staff), enabled=enabled)
        try:
            await transactions.write(
                container.uow, lambda uow: change_endpoint(command, uow, clock=container.clock)
            )
        except DomainError:
            return await _endpoint_page(request, container, endpoint_id, 404)
        return _back(endpoint_id, "enabled" if enabled else "disabled")

    @post("/webhooks/{endpoint_id:uuid}/rotate", operation_id="console.webhooks.rotate")
    async def rotate(
        self,
        request: Request[Any, Any, Any],
        endpoint_id: FromPath[UUID],
        data: Form,
        container: NamedDependency[Container],
    ) -> Template:
        """A new secret, shown on this answer only; the old one signs too for the overlap."""
        staff: StaffMember = request.state.staff
        try:
            hours = integer(data, "overlap_hours")
            if not timedelta(0) <= timedelta(hours=hours) <= MAX_OVERLAP:
                raise FieldError("overlap_hours")
            command = RotateEndpointSecret(endpoint_id, actor_of(staff), timedelta(hours=hours))
            rotated = await transactions.write(
                container.uow,
                lambda uow: rotate_endpoint_secret(
                    command,
                    uow,
                    clock=container.clock,
                    random=container.random,
                    secrets=container.webhook_secrets,
                ),
            )
        except (FieldError, DomainError) as refused:
            return await _endpoint_page(
                request, container, endpoint_id, 422, fault=fault_of(refused)
            )
        return await _endpoint_page(request, container, endpoint_id, rotated=rotated)

    @post(
        "/webhooks/{endpoint_id:uuid}/deliveries/{delivery_id:int}/resend",
        operation_id="console.webhooks.resend",
    )
    async def resend(
        self,
        request: Request[Any, Any, Any],
        endpoint_id: FromPath[UUID],
        delivery_id: FromPath[int],
        container: NamedDependency[Container],
    ) -> Any:
        """Queues the delivery again, due now; the consumer sees the same webhook-id."""
        staff: StaffMember = request.state.staff
        command = ResendDelivery(endpoint_id, delivery_id, actor_of(staff))
        try:
            await transactions.write(
                container.uow, lambda uow: resend_delivery(command, uow, clock=container.clock)
            )
        except DomainError:
            return await _endpoint_page(request, container, endpoint_id, 404, refused=True)
        return _back(endpoint_id, "resent")


def _back(endpoint_id: UUID, what: str) -> Redirect:
    return Redirect(
        f"/console/webhooks/{endpoint_id}", query_params={"saved": what}, status_code=303
    )


async def _list_page(
    request: Request[Any, Any, Any],
    container: Container,
    status_code: int = 200,
    **context: Any,
) -> Template:
    endpoints = await container.read(lambda uow: list_endpoints(uow, after=None, limit=LISTED))
    program = await _program(container)
    context.setdefault("values", {"events": [], "url": "", "description": ""})
    return _page(
        request,
        "webhooks.html",
        _formats(request, program),
        status_code,
        endpoints=endpoints,
        events=EVENTS,
        **context,
    )


async def _endpoint_page(
    request: Request[Any, Any, Any],
    container: Container,
    endpoint_id: UUID,
    status_code: int = 200,
    **context: Any,
) -> Template:
    program = await _program(container)
    formats = _formats(request, program)
    try:
        endpoint = await container.read(lambda uow: get_endpoint(uow, endpoint_id))
        deliveries = await container.read(
            lambda uow: list_deliveries(uow, endpoint_id, before=None, limit=DELIVERIES),
        )
    except DomainError:
        return _page(request, "webhook.html", formats, 404, endpoint=None)
    context.setdefault(
        "values",
        {
            "url": endpoint.url,
            "description": endpoint.description,
            "events": [t.value for t in endpoint.event_types],
            "personal_data": endpoint.personal_data,
        },
    )
    return _page(
        request,
        "webhook.html",
        formats,
        status_code,
        endpoint=endpoint,
        deliveries=deliveries,
        states=DELIVERY_STATES,
        events=EVENTS,
        max_overlap_hours=int(MAX_OVERLAP.total_seconds() // 3600),
        **context,
    )
