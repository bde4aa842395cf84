"""Outbound webhooks through faults (issue #20): a served process delivering to a receiver
that fails for a while, SIGKILLed while posts are in flight, loses no event.

The service runs its jobs in process with short timeouts and a short claim lease, so that a
kill's claims come back within seconds; the receiver answers 503 for its first seconds, then
200, slowly enough that a kill lands while it is answering. Every event written must reach the
receiver with a 2xx at least once (consumers deduplicate on webhook-id). CHAOS_WEBHOOK_EVENTS
raises the number of members enrolled (two events each).
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Callable

import asyncpg
import httpx
import pytest

from tests.e2e.conftest import cli
from tests.e2e.test_chaos import Served, count, open_till
from tests.support.webhook_receiver import Received, webhook_receiver

MEMBERS = int(os.environ.get("CHAOS_WEBHOOK_EVENTS", "24"))
DOWN_SECONDS = 4.0
LINES = [{"sku": "SHEET", "quantity": 1, "unit_price": 25000}]

pytestmark = pytest.mark.chaos


@pytest.fixture
def served_with_jobs(clean_db: str) -> Served:
    return Served(
        {
            **os.environ,
            "DATABASE_URL": clean_db,
            "LOYALTY_LOG_LEVEL": "WARNING",
            "LOYALTY_JOBS_IN_PROCESS": "1",
            "LOYALTY_OUTBOX_INTERVAL": "1",
            "LOYALTY_WEBHOOKS_ALLOW_PRIVATE_TARGETS": "true",
            "LOYALTY_WEBHOOKS_CONNECT_TIMEOUT": "1",
            "LOYALTY_WEBHOOKS_READ_TIMEOUT": "1",
            "LOYALTY_WEBHOOKS_CLAIM_LEASE": "8",
        }
    )


async def test_a_receiver_down_for_a_while_gets_every_event_through_sigkills(
    served_with_jobs: Served, clean_db: str
) -> None:
    served = served_with_jobs
    accepted: set[str] = set()
    started = time.monotonic()

    def answer(request: Received) -> int:
        if time.monotonic() - started < DOWN_SECONDS:
            return 503
        accepted.add(request.id)
        return 200

    async with webhook_receiver(status=answer, delay=0.05) as receiver:
        served.start()
        try:
            admin = {
                "Authorization": "Bearer "
                + cli("token", "admin", "--subject", "chaos", env=served.env)
            }
            async with httpx.AsyncClient(base_url=served.base, timeout=10) as http:
                registered = await http.post(
                    "/v1/admin/webhook-endpoints",
                    json={"url": receiver.url, "event_types": ["member.enrolled", "points.earned"]},
                    headers={**admin, "Idempotency-Key": uuid.uuid4().hex},
                )
                assert registered.status_code == 201, registered.text
                pos = await open_till(http, served.env)
                kills = 0
                for n in range(MEMBERS):
                    await enrol_and_buy(http, pos, n)
                    if n in (MEMBERS // 3, 2 * MEMBERS // 3):
                        # Killed while the receiver holds a post open: its claim is cut.
                        await until(lambda: receiver.answering > 0, 20)
                        hit = receiver.answering > 0
                        served.kill()
                        kills += int(hit)
                        served.start()
            expected = await ids(clean_db)
            assert len(expected) == 2 * MEMBERS
            await until(lambda: expected <= accepted, 90)
        finally:
            served.stop()

    assert kills == 2, "a SIGKILL hit no post in flight"
    assert expected <= accepted, f"{len(expected - accepted)} events never accepted"
    assert any(r.id in expected for r in receiver.received[:3])  # the outage was hit
    assert (
        await count(clean_db, "SELECT count(*) FROM webhook_deliveries WHERE delivered_at IS NULL")
        == 0
    )


async def enrol_and_buy(http: httpx.AsyncClient, pos: dict[str, str], n: int) -> None:
    deadline = time.monotonic() + 60
    key = f"chaos-member-{n}"
    while True:
        try:
            member = await http.post(
                "/v1/pos/members",
                json={"phone": f"+861380014{n:04d}"},
                headers={**pos, "Idempotency-Key": key},
            )
            if member.status_code == 201:
                break
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"member {n} never enrolled"
        await asyncio.sleep(0.1)
    sale = await http.post(
        "/v1/pos/sales",
        json={"receipt_id": f"R-{n}", "member_id": member.json()["member_id"], "lines": LINES},
        headers={**pos, "Idempotency-Key": f"chaos-sale-{n}"},
    )
    assert sale.status_code == 201, sale.text


async def ids(db_url: str) -> set[str]:
    """The webhook-id of every event written."""
    connection = await asyncpg.connect(db_url)
    try:
        rows = await connection.fetch("SELECT id FROM integration_events")
    finally:
        await connection.close()
    return {f"msg_{r['id'].hex}" for r in rows}


async def until(condition: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return
        await asyncio.sleep(0.1)
