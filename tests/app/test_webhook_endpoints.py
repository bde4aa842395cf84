"""Webhook endpoints' use cases on the fakes: registration, rotation with an overlap, enabling
and disabling, audited."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from uuid import UUID

import pytest

from app.use_cases.webhook_endpoints import (
    ChangeEndpoint,
    RegisterEndpoint,
    RotateEndpointSecret,
    change_endpoint,
    register_endpoint,
    rotate_endpoint_secret,
)
from domain.outbound_webhooks import (
    EventType,
    InvalidWebhookEndpoint,
    WebhookEndpoint,
    WebhookEndpointNotFound,
)
from tests.support.fakes import (
    FakeSecretBox,
    FakeUnitOfWork,
    FixedClock,
    SequenceRandom,
    SequentialIds,
)

BOX = FakeSecretBox()


async def registered(uow: FakeUnitOfWork, clock: FixedClock) -> tuple[WebhookEndpoint, str]:
    new = await register_endpoint(
        RegisterEndpoint(
            url="https://crm.example.com/hooks",
            event_types=("points.earned", "member.enrolled", "points.earned"),
            description="CRM",
            personal_data=False,
            actor="admin:a",
        ),
        uow,
        clock=clock,
        ids=SequentialIds(),
        random=SequenceRandom(),
        secrets=BOX,
    )
    return new.endpoint, new.secret


async def test_a_registered_endpoint_keeps_its_secret_sealed_and_is_audited() -> None:
    uow, clock = FakeUnitOfWork(), FixedClock()
    endpoint, secret = await registered(uow, clock)

    assert secret.startswith("whsec_")
    assert len(secret) > 40
    assert endpoint.event_types == (EventType.MEMBER_ENROLLED, EventType.POINTS_EARNED)
    assert secret not in endpoint.sealed_secret
    assert BOX.open(endpoint.sealed_secret) == secret
    assert [r.action for r in uow.audit.records] == ["webhook_endpoint.registered"]
    assert secret not in str(uow.audit.records)


async def test_a_rotation_keeps_the_old_secret_signing_until_the_overlap_ends() -> None:
    uow, clock = FakeUnitOfWork(), FixedClock()
    endpoint, old = await registered(uow, clock)

    rotated = await rotate_endpoint_secret(
        RotateEndpointSecret(endpoint.id, "admin:a", timedelta(hours=2)),
        uow,
        clock=clock,
        random=SequenceRandom(seed=99),
        secrets=BOX,
    )

    assert rotated.secret != old
    assert BOX.open(rotated.endpoint.sealed_secret) == rotated.secret
    assert rotated.endpoint.sealed_previous_secret is not None
    assert BOX.open(rotated.endpoint.sealed_previous_secret) == old
    assert rotated.endpoint.previous_secret_until == clock.now() + timedelta(hours=2)

    at_once = await rotate_endpoint_secret(
        RotateEndpointSecret(endpoint.id, "admin:a", timedelta(0)),
        uow,
        clock=clock,
        random=SequenceRandom(seed=7),
        secrets=BOX,
    )
    assert at_once.endpoint.sealed_previous_secret is None
    assert at_once.endpoint.previous_secret_until is None


async def test_an_overlap_longer_than_a_week_is_refused() -> None:
    uow, clock = FakeUnitOfWork(), FixedClock()
    endpoint, _ = await registered(uow, clock)
    with pytest.raises(InvalidWebhookEndpoint):
        await rotate_endpoint_secret(
            RotateEndpointSecret(endpoint.id, "admin:a", timedelta(days=8)),
            uow,
            clock=clock,
            random=SequenceRandom(),
            secrets=BOX,
        )


async def test_enabling_a_disabled_endpoint_clears_its_run_of_failures() -> None:
    uow, clock = FakeUnitOfWork(), FixedClock()
    endpoint, _ = await registered(uow, clock)

    off = await change_endpoint(
        ChangeEndpoint(endpoint.id, "admin:a", enabled=False), uow, clock=clock
    )
    assert (off.enabled, off.disabled_reason) == (False, "by admin:a")
    await uow.webhook_endpoints.save(replace(off, consecutive_failures=9))
    on = await change_endpoint(
        ChangeEndpoint(endpoint.id, "admin:a", enabled=True), uow, clock=clock
    )

    assert (on.enabled, on.consecutive_failures, on.disabled_at) == (True, 0, None)
    unchanged = await change_endpoint(
        ChangeEndpoint(endpoint.id, "admin:a", enabled=True), uow, clock=clock
    )
    assert unchanged == on
    assert [r.action for r in uow.audit.records].count("webhook_endpoint.changed") == 2


async def test_changing_an_unknown_endpoint_is_not_found() -> None:
    uow, clock = FakeUnitOfWork(), FixedClock()
    _endpoint, _ = await registered(uow, clock)
    with pytest.raises(WebhookEndpointNotFound):
        await change_endpoint(
            ChangeEndpoint(UUID(int=999), "admin:a", enabled=False),
            uow,
            clock=clock,
        )
