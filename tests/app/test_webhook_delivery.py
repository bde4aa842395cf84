"""The webhook delivery job on fakes of its queue and sender: what it posts, signs, retries,
gives up, and never posts once its claim may have run out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from uuid import UUID

from app.outbound_webhooks import (
    AttemptOutcome,
    DisabledEndpoint,
    DueDelivery,
    PostResult,
    deliver_webhooks,
)
from domain.outbound_webhooks import RETRY_FOR, new_secret
from tests.support.fakes import FakeSecretBox, FixedClock

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
BOX = FakeSecretBox()
SECRET = new_secret(bytes(32))


def due(n: int, *, round_attempts: int = 1, queued_at: datetime = NOW) -> DueDelivery:
    return DueDelivery(
        id=n,
        endpoint_id=UUID(int=1),
        url="https://crm.example.com/h",
        event_id=UUID(int=n),
        event_type="points.earned",
        occurred_at=NOW,
        data={"member_id": "m", "points": n},
        personal={"phone": "+8613800138000"},
        personal_data=False,
        sealed_secrets=(BOX.seal(SECRET),),
        attempts=round_attempts,
        round_attempts=round_attempts,
        queued_at=queued_at,
    )


class Queue:
    def __init__(self, deliveries: Sequence[DueDelivery]) -> None:
        self.waiting = list(deliveries)
        self.outcomes: list[AttemptOutcome] = []
        self.put_back_ids: list[int] = []

    async def fan_out(self, now: datetime, *, limit: int) -> int:
        return 0

    async def claim_due(
        self, now: datetime, *, limit: int, lease: timedelta
    ) -> Sequence[DueDelivery]:
        batch, self.waiting = self.waiting[:limit], self.waiting[limit:]
        return batch

    async def put_back(self, delivery_id: int, now: datetime) -> None:
        self.put_back_ids.append(delivery_id)

    async def record(
        self, outcome: AttemptOutcome, *, disable_after: int
    ) -> DisabledEndpoint | None:
        self.outcomes.append(outcome)
        return None


class Sender:
    def __init__(self, clock: FixedClock, status: int = 200, takes: timedelta = timedelta(0)):
        self.clock, self.status, self.takes = clock, status, takes
        self.posted: list[tuple[bytes, Mapping[str, str]]] = []

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> PostResult:
        self.posted.append((body, headers))
        self.clock.advance(self.takes)
        return PostResult(self.status, 5, None if self.status < 300 else f"HTTP {self.status}")


async def test_a_delivery_is_posted_signed_with_ids_and_amounts_only() -> None:
    clock = FixedClock(NOW)
    queue, sender = Queue([due(1)]), Sender(clock)

    report = await deliver_webhooks(queue, sender, clock, secrets=BOX, disable_after=5)

    assert report.delivered == 1
    [(body, headers)] = sender.posted
    assert headers["webhook-id"] == f"msg_{UUID(int=1).hex}"
    assert headers["webhook-signature"].startswith("v1,")
    assert b"+8613800138000" not in body
    assert queue.outcomes[0].retry_at is None
    assert queue.outcomes[0].result.ok


async def test_a_failure_is_retried_after_the_schedule_and_given_up_after_three_days() -> None:
    clock = FixedClock(NOW + RETRY_FOR - timedelta(minutes=1))
    queue = Queue([due(1, round_attempts=1, queued_at=NOW + RETRY_FOR), due(2, round_attempts=14)])
    sender = Sender(clock, status=500)

    report = await deliver_webhooks(queue, sender, clock, secrets=BOX, disable_after=50)

    assert (report.retrying, report.dead) == (1, 1)
    assert queue.outcomes[0].retry_at == clock.now() + timedelta(seconds=30)
    assert queue.outcomes[1].retry_at is None


async def test_a_batch_stops_posting_once_half_its_lease_is_used() -> None:
    clock = FixedClock(NOW)
    queue = Queue([due(n) for n in range(1, 11)])
    sender = Sender(clock, takes=timedelta(seconds=15))

    report = await deliver_webhooks(
        queue, sender, clock, secrets=BOX, disable_after=50, lease=timedelta(seconds=60)
    )

    # 15 s each: after the third, half of the 60-second lease is gone; the rest wait.
    assert len(sender.posted) == 3
    assert report.delivered == 3
