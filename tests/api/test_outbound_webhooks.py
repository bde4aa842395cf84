"""Outbound webhooks end to end: endpoints registered through the admin API, events written by
the service's own operations, delivered by the job to a real HTTP receiver on 127.0.0.1, and
verified there with the `standardwebhooks` package, as an integrator's consumer would."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from litestar import Litestar
from standardwebhooks.webhooks import Webhook

from adapters.persistence.outbound_webhooks import PostgresWebhookQueue
from adapters.webhook_sender import HttpxWebhookSender
from app import outbound_webhooks
from app.container import Container
from app.outbound_webhooks import WebhookReport, deliver_webhooks
from domain.outbound_webhooks import EventType
from domain.ports import Clock
from tests.api.client import Api, new_key
from tests.api.test_coupon_templates_api import create_template, issue_one
from tests.support.fakes import FixedClock
from tests.support.logs import Recorder
from tests.support.overlap import race
from tests.support.webhook_receiver import Receiver, webhook_receiver

pytestmark = pytest.mark.db

ENDPOINTS = "/v1/admin/webhook-endpoints"
LINES = [{"sku": "DUVET", "category": "bedding", "quantity": 1, "unit_price": 19999}]
ALL = [t.value for t in EventType]


class Later:
    """The real clock, moved forward by the test (retries come due without waiting)."""

    def __init__(self) -> None:
        self.ahead = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.ahead


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with webhook_receiver() as r:
        yield r


@pytest.fixture
async def db(clean_db: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(clean_db)
    try:
        yield connection
    finally:
        await connection.close()


def container_of(app: Litestar) -> Container:
    container: Container = app.state.container
    return container


async def deliver(
    app: Litestar,
    db: asyncpg.Connection,
    *,
    clock: Clock | None = None,
    allow_private: bool = True,
    disable_after: int = 50,
) -> WebhookReport:
    container = container_of(app)
    return await deliver_webhooks(
        PostgresWebhookQueue(db),
        HttpxWebhookSender(allow_private=allow_private, connect_timeout=2, read_timeout=5),
        clock or Later(),
        secrets=container.webhook_secrets,
        disable_after=disable_after,
    )


async def register(api: Api, url: str, **extra: Any) -> dict[str, Any]:
    response = await api.admin_post(ENDPOINTS, {"url": url, "event_types": ALL, **extra})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def get(api: Api, path: str, **params: Any) -> Any:
    response = await api.client.get(path, headers=api.admin_headers, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def verified(secret: str, receiver: Receiver) -> list[dict[str, Any]]:
    """Every request the receiver got, verified as a Standard Webhooks consumer does."""
    consumer = Webhook(secret)
    return [consumer.verify(r.body, r.headers) for r in receiver.received]


async def test_a_consumer_verifies_every_delivery_with_the_standard_webhooks_package(
    api: Api, app: Litestar, db: asyncpg.Connection, receiver: Receiver
) -> None:
    endpoint = await register(api, receiver.url, description="CRM")
    till = await api.open_till()
    member = await till.enrol()
    sale = await till.sell("R-1", LINES, member_id=member["member_id"])
    assert sale.status_code == 201, sale.text
    adjusted = await api.admin_post(
        f"/v1/admin/members/{member['member_id']}/adjustments", {"points": -5, "reason": "fix"}
    )
    assert adjusted.status_code in (200, 201), adjusted.text

    report = await deliver(app, db)

    payloads = verified(endpoint["secret"], receiver)
    types = [p["type"] for p in payloads]
    assert types.count("member.enrolled") == 1
    assert types.count("points.earned") == 1
    assert types.count("points.adjusted") == 1
    assert report.delivered == len(payloads)
    assert report.retrying == report.dead == 0
    earned = next(p for p in payloads if p["type"] == "points.earned")
    assert earned["data"]["member_id"] == member["member_id"]
    assert earned["data"]["points"] == sale.json()["points_earned"]
    assert earned["data"]["reference"].startswith("sale:")
    ids = [r.id for r in receiver.received]
    assert len(set(ids)) == len(ids)
    assert all(i.startswith("msg_") for i in ids)
    # Ids and amounts only: this endpoint may not receive personal data.
    assert all("+8613800138000" not in r.body.decode() for r in receiver.received)
    assert "phone" not in payloads[types.index("member.enrolled")]["data"]


async def test_personal_data_goes_only_to_an_endpoint_allowed_to_receive_it(
    api: Api, app: Litestar, db: asyncpg.Connection
) -> None:
    async with webhook_receiver() as plain, webhook_receiver() as trusted:
        await register(api, plain.url, event_types=["member.enrolled"])
        await register(api, trusted.url, event_types=["member.enrolled"], personal_data=True)
        till = await api.open_till()
        await till.enrol(name="Li Lei")

        await deliver(app, db)

    assert len(plain.received) == len(trusted.received) == 1
    assert "phone" not in plain.received[0].payload["data"]
    assert trusted.received[0].payload["data"]["phone"] == "+8613800138000"
    assert trusted.received[0].payload["data"]["name"] == "Li Lei"
    assert plain.received[0].id == trusted.received[0].id  # one event, one webhook-id


async def test_the_secret_is_shown_once_sealed_at_rest_and_withheld_from_a_replay(
    api: Api, db: asyncpg.Connection, receiver: Receiver
) -> None:
    key = new_key()
    body = {"url": receiver.url, "event_types": ["points.earned"]}
    first = await api.admin_post(ENDPOINTS, body, key=key)
    replay = await api.admin_post(ENDPOINTS, body, key=key)

    secret = first.json()["secret"]
    assert first.status_code == replay.status_code == 201
    assert secret.startswith("whsec_")
    assert replay.json()["secret"] is None
    assert replay.json()["secret_withheld"] is True
    assert replay.json()["endpoint_id"] == first.json()["endpoint_id"]
    stored = await db.fetchval("SELECT sealed_secret FROM webhook_endpoints")
    assert secret not in stored
    assert secret.removeprefix("whsec_") not in stored
    answers = await db.fetch("SELECT response_body FROM idempotency_keys")
    assert answers
    assert all(secret.encode() not in a["response_body"] for a in answers)
    listed = await get(api, ENDPOINTS)
    assert [e["secret"] for e in listed["items"]] == [None]


async def test_after_a_rotation_deliveries_verify_with_the_new_secret_and_the_old_one(
    api: Api, app: Litestar, db: asyncpg.Connection, receiver: Receiver
) -> None:
    endpoint = await register(api, receiver.url)
    old = endpoint["secret"]
    rotated = await api.admin_post(
        f"{ENDPOINTS}/{endpoint['endpoint_id']}/secret", {"overlap_seconds": 3600}
    )
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["secret"]
    assert new != old
    assert rotated.json()["previous_secret_until"] is not None
    till = await api.open_till()
    await till.enrol()

    await deliver(app, db)

    assert verified(new, receiver) == verified(old, receiver)
    assert len(receiver.received[0].headers["webhook-signature"].split(" ")) == 2

    # With no overlap the old secret stops signing at once.
    again = await api.admin_post(
        f"{ENDPOINTS}/{endpoint['endpoint_id']}/secret", {"overlap_seconds": 0}
    )
    newest = again.json()["secret"]
    await till.enrol(phone="+8613800138001")
    receiver.received.clear()
    await deliver(app, db)
    assert len(receiver.received) == 1
    assert receiver.received[0].headers["webhook-signature"].count("v1,") == 1
    Webhook(newest).verify(receiver.received[0].body, receiver.received[0].headers)


async def test_a_failed_delivery_is_retried_later_and_every_attempt_is_logged(
    api: Api, app: Litestar, db: asyncpg.Connection, receiver: Receiver
) -> None:
    endpoint = await register(api, receiver.url, event_types=["member.enrolled"])
    path = f"{ENDPOINTS}/{endpoint['endpoint_id']}"
    till = await api.open_till()
    await till.enrol()
    receiver.status = lambda _: 503
    clock = Later()

    first = await deliver(app, db, clock=clock)
    again = await deliver(app, db, clock=clock)  # not due yet: nothing is attempted

    assert (first.retrying, again.retrying, len(receiver.received)) == (1, 0, 1)
    [pending] = (await get(api, f"{path}/deliveries"))["items"]
    assert pending["state"] == "pending"
    assert pending["last_status"] == 503
    wait = datetime.fromisoformat(pending["next_attempt_at"]) - datetime.now(UTC)
    assert timedelta(seconds=20) < wait <= timedelta(seconds=31)

    receiver.status = lambda _: 200
    clock.ahead = timedelta(seconds=31)
    done = await deliver(app, db, clock=clock)

    assert done.delivered == 1
    assert len(receiver.received) == 2
    assert receiver.received[0].id == receiver.received[1].id  # the same webhook-id
    [delivered] = (await get(api, f"{path}/deliveries"))["items"]
    assert delivered["state"] == "delivered"
    assert delivered["attempts"] == 2
    log = (await get(api, f"{path}/attempts"))["items"]
    assert [(a["attempt"], a["status"]) for a in log] == [(2, 200), (1, 503)]
    assert log[1]["error"].startswith("HTTP 503")
    assert len(log[1]["error"]) <= 500
    assert all(a["latency_ms"] >= 0 for a in log)
    page = await get(api, f"{path}/attempts", limit=1)
    assert len(page["items"]) == 1
    assert page["next_cursor"]
    rest = await get(api, f"{path}/attempts", limit=1, cursor=page["next_cursor"])
    assert rest["items"][0]["attempt"] == 1


async def test_an_endpoint_is_disabled_after_a_run_of_failures_and_the_admins_are_told(
    api: Api,
    app: Litestar,
    db: asyncpg.Connection,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    log = Recorder()
    monkeypatch.setattr(outbound_webhooks, "log", log)
    endpoint = await register(api, receiver.url, event_types=["member.enrolled"])
    path = f"{ENDPOINTS}/{endpoint['endpoint_id']}"
    receiver.status = lambda _: 500
    till = await api.open_till()
    for n in range(3):
        await till.enrol(phone=f"+861380013800{n}")

    report = await deliver(app, db, disable_after=2)

    assert report.endpoints_disabled == 1
    assert len(receiver.received) == 2  # the third waits: its endpoint is disabled
    shown = await get(api, path)
    assert shown["enabled"] is False
    assert shown["consecutive_failures"] == 2
    assert shown["disabled_reason"] == "2 failed deliveries in a row"
    assert log.events() == ["webhook_endpoint_disabled"]
    audit = await db.fetchrow(
        "SELECT actor, subject, details FROM audit_log WHERE action = 'webhook_endpoint.disabled'"
    )
    assert audit["subject"] == f"webhook_endpoint:{endpoint['endpoint_id']}"

    # Enabled again, the deliveries that waited go out.
    receiver.status = lambda _: 204
    enabled = await api.client.patch(path, json={"enabled": True}, headers=api.admin_headers)
    assert enabled.status_code == 200, enabled.text
    assert enabled.json()["consecutive_failures"] == 0
    clock = Later()
    clock.ahead = timedelta(minutes=5)
    await deliver(app, db, clock=clock)
    assert len({r.id for r in receiver.received}) == 3


async def test_one_delivery_or_everything_since_a_time_can_be_sent_again(
    api: Api, app: Litestar, db: asyncpg.Connection, receiver: Receiver
) -> None:
    endpoint = await register(api, receiver.url, event_types=["member.enrolled"])
    path = f"{ENDPOINTS}/{endpoint['endpoint_id']}"
    till = await api.open_till()
    await till.enrol(phone="+8613800138001")
    await till.enrol(phone="+8613800138002")
    await deliver(app, db)
    deliveries = (await get(api, f"{path}/deliveries"))["items"]
    assert [d["state"] for d in deliveries] == ["delivered", "delivered"]

    one = await api.admin_post(f"{path}/deliveries/{deliveries[0]['delivery_id']}/resend", {})
    assert one.status_code == 200, one.text
    await deliver(app, db)
    assert [r.id for r in receiver.received[2:]] == [deliveries[0]["event_id"]]

    since = await api.admin_post(
        f"{path}/resend", {"since": (datetime.now(UTC) - timedelta(hours=1)).isoformat()}
    )
    assert since.status_code == 200
    assert since.json() == {"deliveries": 2}
    await deliver(app, db)
    assert sorted(r.id for r in receiver.received[3:]) == sorted(d["event_id"] for d in deliveries)
    missing = await api.admin_post(f"{path}/deliveries/999999/resend", {})
    assert missing.status_code == 404
    assert missing.json()["code"] == "webhook_delivery_not_found"


async def test_an_endpoint_on_127_0_0_1_is_refused_unless_the_setting_allows_it(
    api: Api, app: Litestar, db: asyncpg.Connection, receiver: Receiver
) -> None:
    endpoint = await register(api, receiver.url, event_types=["member.enrolled"])
    till = await api.open_till()
    await till.enrol()

    refused = await deliver(app, db, allow_private=False)

    assert refused.retrying == 1
    assert receiver.received == []
    [attempt] = (await get(api, f"{ENDPOINTS}/{endpoint['endpoint_id']}/attempts"))["items"]
    assert attempt["status"] is None
    assert "refused: 127.0.0.1 resolves to 127.0.0.1, a loopback address" in attempt["error"]


async def test_registration_refuses_what_cannot_be_delivered(api: Api) -> None:
    for body in (
        {"url": "ftp://example.com/x", "event_types": ["member.enrolled"]},
        {"url": "https://example.com/x", "event_types": []},
        {"url": "https://example.com/x", "event_types": ["points.stolen"]},
        {"url": "https://u:p@example.com/x", "event_types": ["member.enrolled"]},
    ):
        response = await api.admin_post(ENDPOINTS, body)
        assert response.status_code == 422, body


async def test_two_workers_never_post_one_delivery_at_the_same_time(
    api: Api, app: Litestar, clean_db: str, receiver: Receiver
) -> None:
    await register(api, receiver.url, event_types=["member.enrolled"])
    till = await api.open_till()
    for n in range(12):
        await till.enrol(phone=f"+86138001380{n:02d}")
    receiver.delay = 0.01  # a slow consumer: the second worker claims while the first posts
    first, second = await asyncpg.connect(clean_db), await asyncpg.connect(clean_db)
    try:
        await PostgresWebhookQueue(first).fan_out(datetime.now(UTC), limit=100)
        reports, waits = await race(
            clean_db,
            [deliver(app, first), deliver(app, second)],
            gate="webhook_deliveries",
        )
    finally:
        await first.close()
        await second.close()

    waits.assert_overlapped("two delivery workers at once", at_least=2)
    ids = [r.id for r in receiver.received]
    assert len(ids) == 12
    assert len(set(ids)) == 12
    assert sum(r.delivered for r in reports) == 12


async def test_a_receiver_that_fails_for_a_while_gets_every_event(
    api: Api, app: Litestar, db: asyncpg.Connection, receiver: Receiver
) -> None:
    """Chaos in small: the consumer refuses or times out on every other request for a
    while, then recovers; with retries every event arrives, at least once."""
    await register(api, receiver.url)
    till = await api.open_till()
    members = [await till.enrol(phone=f"+86138001381{n:02d}") for n in range(8)]
    for n, member in enumerate(members):
        sale = await till.sell(f"R-{n}", LINES, member_id=member["member_id"])
        assert sale.status_code == 201
    expected = await db.fetchval("SELECT count(*) FROM integration_events")
    calls = iter(range(10_000))
    receiver.status = lambda _: 500 if next(calls) % 2 == 0 else 200
    clock = FixedClock(datetime.now(UTC))
    for _ in range(6):
        await deliver(app, db, clock=clock)
        clock.advance(minutes=10)
    receiver.status = lambda _: 200
    await deliver(app, db, clock=clock)

    assert len({r.id for r in receiver.received}) == expected
    left = await db.fetchval("SELECT count(*) FROM webhook_deliveries WHERE delivered_at IS NULL")
    assert left == 0


async def test_each_kind_of_change_is_an_event_and_a_refused_one_is_none(
    api: Api, db: asyncpg.Connection
) -> None:
    till = await api.open_till()
    member = await till.enrol(name="Han Meimei")
    member_id = member["member_id"]
    template = await create_template(api, value=3000)
    code = await issue_one(api, template["id"], member_id)
    sale = await till.sell("R-1", LINES, member_id=member_id, coupon_codes=[code])
    assert sale.status_code == 201, sale.text
    refused = await till.sell("R-2", LINES, member_id=member_id, coupon_codes=[code])
    assert refused.status_code == 422  # the coupon is spent: the sale and its events roll back
    feedback = await api.client.post(
        "/v1/me/feedback",
        json={"kind": "praise", "text": "lovely duvet"},
        headers=api.member_headers(member_id),
    )
    assert feedback.status_code == 201, feedback.text
    profile = await api.client.patch(
        "/v1/me", json={"email": "han@example.com"}, headers=api.member_headers(member_id)
    )
    assert profile.status_code == 200, profile.text

    rows = await db.fetch("SELECT event_type, data::text AS data FROM integration_events")
    kinds = sorted(r["event_type"] for r in rows)
    assert kinds == sorted(
        [
            "member.enrolled",
            "coupon.issued",
            "coupon.redeemed",
            "points.earned",
            "feedback.created",
            "member.updated",
        ]
    )
    data = {r["event_type"]: json.loads(r["data"]) for r in rows}
    assert data["coupon.redeemed"]["sale_id"] == sale.json()["sale_id"]
    assert code not in json.dumps(data)  # never a coupon's code
    assert "lovely" not in json.dumps(data)  # never the member's words
    assert data["member.updated"]["changed"] == ["email"]

    erased = await api.client.post(
        f"/v1/admin/members/{member_id}/erase",
        headers={**api.admin_headers, "Idempotency-Key": new_key()},
    )
    assert erased.status_code == 200, erased.text
    assert (
        await db.fetchval(
            "SELECT count(*) FROM integration_events WHERE event_type = 'member.erased'"
        )
        == 1
    )
    assert (
        await db.fetchval("SELECT count(*) FROM integration_events WHERE personal IS NOT NULL") == 0
    )
