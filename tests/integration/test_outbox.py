"""The outbox on PostgreSQL: written with its cause, delivered by the worker with retries."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import asyncpg
import pytest
from piccolo.engine.postgres import PostgresEngine

from adapters.persistence.outbox import (
    PostgresNotificationQueue,
    purge_login_state,
    remind_points_expiring,
)
from adapters.persistence.rate_limits import PostgresRateLimiter
from adapters.persistence.unit_of_work import PostgresUnitOfWork
from app.batch_jobs import PurgedLoginState
from app.notifications import deliver_notifications
from app.scheduling import REMINDER_HORIZON
from app.use_cases.login import (
    LoginLimits,
    LoginPorts,
    RequestLoginCode,
    VerifyLoginCode,
    request_login_code,
    verify_login_code,
)
from app.use_cases.member_privacy import EraseMember, erase_member
from domain.errors import InvalidLoginCode
from domain.login import REFRESH_TOKEN_TTL, LoginCodeHasher, RateLimit
from domain.notifications import MAX_DELIVERY_ATTEMPTS, Notification, NotificationKind
from tests.support.fakes import (
    FakeContacts,
    FakeRateLimiter,
    FakeSecretBox,
    FixedClock,
    RecordingMemberNotifier,
    RecordingSms,
    SequenceRandom,
    SequentialIds,
)

pytestmark = pytest.mark.db

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
PHONE = "+8613800138000"
UowFactory = Callable[[], PostgresUnitOfWork]
BOX = FakeSecretBox()


async def queued_code(engine: PostgresEngine) -> str:
    """The login code waiting in the outbox, opened as the worker would."""
    async with engine.pool.acquire() as connection:
        sealed = await connection.fetchval(
            "SELECT payload->>'sealed_code' FROM outbox WHERE kind = 'login_code'"
        )
    return BOX.open(sealed)


def login_ports(clock: FixedClock) -> LoginPorts:
    generous = RateLimit(1000, timedelta(hours=1))
    return LoginPorts(
        clock=clock,
        ids=SequentialIds(),
        random=SequenceRandom(),
        contacts=FakeContacts(),
        hasher=LoginCodeHasher(b"k" * 32),
        limiter=FakeRateLimiter(),
        limits=LoginLimits(generous, generous, generous),
        secrets=BOX,
    )


async def a_member(engine: PostgresEngine) -> UUID:
    member_id = uuid4()
    async with engine.pool.acquire() as connection:
        await connection.execute(
            "INSERT INTO members (id, phone, tier_code, enrolled_at) VALUES ($1, $2, 'member', $3)",
            member_id,
            f"+86139{member_id.int % 10**8:08d}",
            NOW - timedelta(days=30),
        )
        await connection.execute(
            "INSERT INTO points_accounts (member_id, updated_at) VALUES ($1, $2)", member_id, NOW
        )
    return member_id


async def outbox_rows(engine: PostgresEngine) -> list[asyncpg.Record]:
    async with engine.pool.acquire() as connection:
        return list(
            await connection.fetch(
                "SELECT id, kind, member_id, phone, payload::text AS payload, attempts, "
                "next_attempt_at, delivered_at, dead_at, last_error FROM outbox ORDER BY id"
            )
        )


async def deliver(
    engine: PostgresEngine,
    clock: FixedClock,
    sms: RecordingSms,
    notifier: RecordingMemberNotifier | None = None,
) -> tuple[int, int, int]:
    report = await deliver_notifications(
        PostgresNotificationQueue(engine),
        clock,
        sms,
        notifier or RecordingMemberNotifier(),
        secrets=BOX,
    )
    return report.delivered, report.retrying, report.dead


async def test_a_login_code_fails_to_send_stays_valid_and_is_retried_with_backoff(
    engine: PostgresEngine, uow_factory: UowFactory
) -> None:
    clock = FixedClock(NOW)
    ports = login_ports(clock)
    async with uow_factory() as uow:
        await request_login_code(RequestLoginCode(PHONE, "10.0.0.1"), uow, ports)
        await uow.commit()
    sms = RecordingSms()
    sms.failing = True

    assert await deliver(engine, clock, sms) == (0, 1, 0)

    [row] = await outbox_rows(engine)
    assert row["attempts"] == 1
    assert row["next_attempt_at"] == NOW + timedelta(seconds=30)
    assert row["last_error"] == "DeliveryFailed: the SMS gateway is down"
    assert row["delivered_at"] is None
    async with engine.pool.acquire() as connection:
        assert await connection.fetchval("SELECT count(*) FROM login_challenges") == 1

    sms.failing = False
    clock.advance(seconds=29)
    assert await deliver(engine, clock, sms) == (0, 0, 0)  # not due yet
    clock.advance(seconds=1)
    assert await deliver(engine, clock, sms) == (1, 0, 0)

    [row] = await outbox_rows(engine)
    assert row["attempts"] == 2
    assert row["delivered_at"] == clock.now()
    assert "sealed_code" not in row["payload"]
    session = await verify_login_code(
        VerifyLoginCode(PHONE, sms.last_code(PHONE), "10.0.0.1"), uow_factory, ports
    )
    assert session.enrolled


async def test_a_message_that_keeps_failing_is_dead_after_the_last_attempt(
    engine: PostgresEngine, uow_factory: UowFactory
) -> None:
    clock = FixedClock(NOW)
    member_id = await a_member(engine)
    async with uow_factory() as uow:
        await uow.outbox.add(
            Notification.to_member(NotificationKind.TIER_CHANGED, member_id, {"to": "gold"}, at=NOW)
        )
        await uow.commit()
    notifier = RecordingMemberNotifier()
    notifier.failing = True
    delays = []

    for _ in range(MAX_DELIVERY_ATTEMPTS):
        await deliver(engine, clock, RecordingSms(), notifier)
        [row] = await outbox_rows(engine)
        delays.append(row["next_attempt_at"] - clock.now())
        clock.set(row["next_attempt_at"])

    [row] = await outbox_rows(engine)
    assert row["dead_at"] is not None
    assert row["attempts"] == MAX_DELIVERY_ATTEMPTS
    assert [d.total_seconds() for d in delays[:4]] == [30, 60, 120, 240]
    notifier.failing = False
    clock.advance(days=1)
    assert await deliver(engine, clock, RecordingSms(), notifier) == (0, 0, 0)
    assert notifier.sent == []


async def test_an_undelivered_login_code_is_abandoned_once_it_has_expired(
    engine: PostgresEngine, uow_factory: UowFactory
) -> None:
    clock = FixedClock(NOW)
    async with uow_factory() as uow:
        await request_login_code(RequestLoginCode(PHONE, "10.0.0.1"), uow, login_ports(clock))
        await uow.commit()
    sms = RecordingSms()

    clock.advance(minutes=5)
    assert await deliver(engine, clock, sms) == (0, 0, 1)

    assert sms.sent == []
    [row] = await outbox_rows(engine)
    assert row["dead_at"] is not None
    assert "sealed_code" not in row["payload"]


async def test_a_rollback_takes_its_notification_with_it(
    engine: PostgresEngine, uow_factory: UowFactory
) -> None:
    member_id = await a_member(engine)
    async with uow_factory() as uow:
        await uow.outbox.add(
            Notification.to_member(NotificationKind.TIER_CHANGED, member_id, {}, at=NOW)
        )
        # no commit: the cause did not happen, so neither does its notification

    assert await outbox_rows(engine) == []


async def test_two_workers_never_claim_the_same_message(
    engine: PostgresEngine, uow_factory: UowFactory
) -> None:
    member_id = await a_member(engine)
    async with uow_factory() as uow:
        for n in range(40):
            await uow.outbox.add(
                Notification.to_member(NotificationKind.TIER_CHANGED, member_id, {"n": n}, at=NOW)
            )
        await uow.commit()
    queue = PostgresNotificationQueue(engine)

    batches = await asyncio.gather(
        *(queue.claim_due(NOW, limit=15, lease=timedelta(minutes=2)) for _ in range(4))
    )

    claimed = [message.id for batch in batches for message in batch]
    assert len(claimed) == len(set(claimed)) == 40
    # Claimed messages are leased: nobody gets them again before the lease ends.
    assert await queue.claim_due(NOW + timedelta(minutes=1), limit=50, lease=timedelta(1)) == []
    again = await queue.claim_due(NOW + timedelta(minutes=2), limit=50, lease=timedelta(1))
    assert len(again) == 40


async def test_each_kind_goes_through_its_notifier(
    engine: PostgresEngine, uow_factory: UowFactory
) -> None:
    clock = FixedClock(NOW)
    member_id = await a_member(engine)
    async with uow_factory() as uow:
        await uow.outbox.add(
            Notification.to_member(
                NotificationKind.COUPON_ISSUED, member_id, {"code": "C-1"}, at=NOW
            )
        )
        await uow.commit()
    notifier = RecordingMemberNotifier()
    sms = RecordingSms()

    assert await deliver(engine, clock, sms, notifier) == (1, 0, 0)

    assert notifier.sent == [(member_id, NotificationKind.COUPON_ISSUED, {"code": "C-1"})]
    assert sms.sent == []
    [row] = await outbox_rows(engine)
    assert '"C-1"' in row["payload"]  # only login codes are erased


async def a_lot(
    engine: PostgresEngine, member_id: UUID, points: int, expires_at: datetime | None
) -> None:
    async with engine.pool.acquire() as connection:
        await connection.execute(
            "INSERT INTO points_lots (member_id, reference, earned_at, expires_at, points, "
            "remaining) VALUES ($1, 'sale:x', $2, $3, $4, $4)",
            member_id,
            NOW - timedelta(days=300),
            expires_at,
            points,
        )


async def test_points_expiring_within_seven_days_are_announced_once_per_member_and_date(
    engine: PostgresEngine,
) -> None:
    soon = await a_member(engine)
    later = await a_member(engine)
    # Asia/Shanghai (the programme's zone): 15:59 UTC on the 17th is still the 17th there,
    # 16:00 UTC is the 18th.
    await a_lot(engine, soon, 100, datetime(2026, 6, 17, 15, 59, tzinfo=UTC))
    await a_lot(engine, soon, 50, datetime(2026, 6, 17, 10, 0, tzinfo=UTC))
    await a_lot(engine, soon, 7, datetime(2026, 6, 17, 16, 0, tzinfo=UTC))
    await a_lot(engine, later, 80, NOW + timedelta(days=7, hours=2))
    await a_lot(engine, later, 80, None)

    first = await remind_points_expiring(engine, NOW, REMINDER_HORIZON)
    second = await remind_points_expiring(engine, NOW + timedelta(hours=1), REMINDER_HORIZON)

    assert (first, second) == (2, 0)
    rows = await outbox_rows(engine)
    assert {(r["member_id"], r["kind"]) for r in rows} == {(soon, "points_expiring")}
    payloads = sorted(r["payload"] for r in rows)
    assert '"points": 150' in payloads[0]
    assert '"expires_on": "2026-06-17"' in payloads[0]
    assert '"points": 7' in payloads[1]
    assert '"expires_on": "2026-06-18"' in payloads[1]
    # A day later the lot seven days out is announced, and nothing twice.
    assert await remind_points_expiring(engine, NOW + timedelta(days=1), REMINDER_HORIZON) == 1


async def test_points_of_an_erased_member_are_never_announced(
    engine: PostgresEngine, uow_factory: UowFactory
) -> None:
    erased = await a_member(engine)
    await a_lot(engine, erased, 100, NOW + timedelta(days=2))
    async with engine.pool.acquire() as connection:
        await connection.execute(
            "INSERT INTO member_cards (card_number, member_id, status, issued_at) "
            "VALUES ('8800000000000019', $1, 'active', $2)",
            erased,
            NOW,
        )
    async with uow_factory() as uow:
        await erase_member(EraseMember(erased, "admin:test"), uow, clock=FixedClock(NOW))
        await uow.commit()

    assert await remind_points_expiring(engine, NOW, REMINDER_HORIZON) == 0
    assert await outbox_rows(engine) == []


async def test_a_wrong_guess_is_counted_even_though_the_answer_is_a_refusal(
    engine: PostgresEngine, uow_factory: UowFactory
) -> None:
    clock = FixedClock(NOW)
    ports = login_ports(clock)
    async with uow_factory() as uow:
        await request_login_code(RequestLoginCode(PHONE, "10.0.0.1"), uow, ports)
        await uow.commit()

    with pytest.raises(InvalidLoginCode):
        await verify_login_code(VerifyLoginCode(PHONE, "not-it", "10.0.0.1"), uow_factory, ports)

    async with engine.pool.acquire() as connection:
        assert await connection.fetchval("SELECT attempts FROM login_challenges") == 1


async def test_housekeeping_forgets_spent_login_state_and_keeps_live_state(
    engine: PostgresEngine, uow_factory: UowFactory
) -> None:
    clock = FixedClock(NOW)
    ports = login_ports(clock)
    limiter = PostgresRateLimiter(engine)
    hour = RateLimit(5, timedelta(hours=1))
    await limiter.hit("old", hour, NOW - timedelta(hours=2))
    await limiter.hit("current", hour, NOW)
    async with uow_factory() as uow:
        await request_login_code(RequestLoginCode(PHONE, "10.0.0.1"), uow, ports)
        await uow.commit()
    code = await queued_code(engine)
    await verify_login_code(VerifyLoginCode(PHONE, code, "10.0.0.1"), uow_factory, ports)

    assert await purge_login_state(engine, NOW) == PurgedLoginState(1, 0, 0)
    later = NOW + REFRESH_TOKEN_TTL + timedelta(days=1, seconds=1)
    assert await purge_login_state(engine, later) == PurgedLoginState(1, 1, 1)


async def test_many_notifications_are_written_at_once_with_their_cause(
    engine: PostgresEngine, uow_factory: UowFactory
) -> None:
    members = [await a_member(engine) for _ in range(3)]
    async with uow_factory() as uow:
        await uow.outbox.add_all(
            [
                Notification.to_member(
                    NotificationKind.COUPON_ISSUED, m, {"title": "5 off"}, at=NOW
                )
                for m in members
            ]
        )
        await uow.outbox.add_all([])
        await uow.commit()

    rows = await outbox_rows(engine)
    assert [r["member_id"] for r in rows] == members
    assert {r["next_attempt_at"] for r in rows} == {NOW}
