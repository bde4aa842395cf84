"""Notifications queued with their cause: tier changes from every path, and the delivery loop."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from uuid import UUID

import pytest

from app.notifications import PendingNotification, deliver_notifications
from app.transactions import write
from app.unit_of_work import UnitOfWork
from app.use_cases.tiers import SetTier, set_member_tier
from domain.notifications import NotificationKind
from domain.tiers import Tier
from tests.app.test_tiers import ADMIN, SILVER, adopt, buy, enrol
from tests.support.fakes import FakeSecretBox, FakeWorld, RecordingMemberNotifier, RecordingSms

GOLD = Tier("gold", "Gold", rank=2, threshold=50_000, earn_multiplier=Decimal(2))


def tier_notices(world: FakeWorld) -> list[tuple[UUID | None, Mapping[str, object]]]:
    notices = world.db.outbox.of_kind(NotificationKind.TIER_CHANGED)
    return [(n.member_id, n.payload) for n in notices]


async def test_an_upgrade_at_the_till_is_announced_in_the_sales_transaction(
    world: FakeWorld,
) -> None:
    await adopt(world, SILVER)
    member_id = await enrol(world)

    await buy(world, member_id, "R1", amount=9_999)
    nothing_yet = tier_notices(world)
    await buy(world, member_id, "R2", amount=1)

    assert nothing_yet == []
    assert tier_notices(world) == [
        (member_id, {"from": "member", "to": "silver", "reason": "qualified"})
    ]


async def test_a_tier_set_by_hand_is_announced_but_setting_the_same_tier_is_not(
    world: FakeWorld,
) -> None:
    await adopt(world, SILVER, GOLD)
    member_id = await enrol(world)

    async def set_tier(code: str) -> None:
        cmd = SetTier(member_id, code, "goodwill", ADMIN)
        await write(world.uow_factory, lambda uow: set_member_tier(cmd, uow, clock=world.clock))

    await set_tier("gold")
    await set_tier("gold")

    assert tier_notices(world) == [
        (member_id, {"from": "member", "to": "gold", "reason": "manual"})
    ]


async def test_a_policy_change_announces_every_member_it_moves(world: FakeWorld) -> None:
    member_id = await enrol(world)
    await buy(world, member_id, "R1", amount=20_000)

    await adopt(world, SILVER)

    assert tier_notices(world) == [
        (member_id, {"from": "member", "to": "silver", "reason": "policy_change"})
    ]


async def test_a_change_that_rolls_back_takes_its_notification_with_it(world: FakeWorld) -> None:
    await adopt(world, SILVER)
    member_id = await enrol(world)

    async def fail_after_the_change(uow: UnitOfWork) -> None:
        await set_member_tier(SetTier(member_id, "silver", "x", ADMIN), uow, clock=world.clock)
        raise RuntimeError("the rest of the transaction failed")

    with pytest.raises(RuntimeError):
        await write(world.uow_factory, fail_after_the_change)

    assert tier_notices(world) == []


# The delivery loop -----------------------------------------------------------------------------


@dataclass
class Queue:
    """A NotificationQueue over a list, recording what the loop decided."""

    pending: list[PendingNotification]
    done: list[int] = field(default_factory=list)
    retries: list[tuple[int, datetime, str]] = field(default_factory=list)
    dead: list[tuple[int, str]] = field(default_factory=list)

    async def claim_due(
        self, now: datetime, *, limit: int, lease: timedelta
    ) -> Sequence[PendingNotification]:
        batch, self.pending = self.pending[:limit], self.pending[limit:]
        return batch

    async def delivered(self, notification_id: int, at: datetime) -> None:
        self.done.append(notification_id)

    async def retry_at(self, notification_id: int, when: datetime, error: str) -> None:
        self.retries.append((notification_id, when, error))

    async def give_up(self, notification_id: int, at: datetime, error: str) -> None:
        self.dead.append((notification_id, error))


async def test_a_kind_this_worker_does_not_know_is_retried_not_lost(world: FakeWorld) -> None:
    queue = Queue(
        [PendingNotification(1, "birthday_greeting", {}, attempts=1, member_id=UUID(int=7))]
    )

    report = await deliver_notifications(
        queue,
        world.clock,
        RecordingSms(),
        RecordingMemberNotifier(),
        secrets=FakeSecretBox(),
        batch_size=10,
    )

    assert (report.delivered, report.retrying, report.dead) == (0, 1, 0)
    assert queue.retries[0][1] == world.clock.now() + timedelta(seconds=30)
    assert "birthday_greeting" in queue.retries[0][2]


async def test_the_loop_works_through_every_batch(world: FakeWorld) -> None:
    member = UUID(int=7)
    queue = Queue(
        [
            PendingNotification(n, "tier_changed", {"n": n}, attempts=1, member_id=member)
            for n in range(1, 8)
        ]
    )
    notifier = RecordingMemberNotifier()

    report = await deliver_notifications(
        queue, world.clock, RecordingSms(), notifier, secrets=FakeSecretBox(), batch_size=3
    )

    assert report.delivered == 7
    assert queue.done == list(range(1, 8))
    assert [p["n"] for _, _, p in notifier.sent] == list(range(1, 8))
