"""Login under real concurrency on PostgreSQL: separate connections, interleaved transactions."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from piccolo.engine.postgres import PostgresEngine

from adapters.persistence.rate_limits import PostgresRateLimiter
from adapters.persistence.unit_of_work import PostgresUnitOfWork
from app.use_cases.login import (
    RequestLoginCode,
    Session,
    VerifyLoginCode,
    refresh_session,
    request_login_code,
    verify_login_code,
)
from domain.errors import InvalidLoginCode, InvalidRefreshToken
from domain.login import MAX_CODE_ATTEMPTS, RateLimit
from tests.integration.test_outbox import NOW, PHONE, login_ports, queued_code
from tests.support.fakes import FixedClock

pytestmark = pytest.mark.db

UowFactory = Callable[[], PostgresUnitOfWork]


async def test_concurrent_guesses_each_count_and_only_five_are_ever_judged(
    engine: PostgresEngine, uow_factory: UowFactory
) -> None:
    clock = FixedClock(NOW)
    ports = login_ports(clock)
    async with uow_factory() as uow:
        await request_login_code(RequestLoginCode(PHONE, "10.0.0.1"), uow, ports)
        await uow.commit()

    async def guess() -> int | None:
        async with uow_factory() as uow:
            counted = await uow.login_challenges.count_attempt(PHONE, NOW)
            await asyncio.sleep(0.01)  # hold the row lock while the others queue behind it
            await uow.commit()
            return counted.attempts if counted else None

    results = await asyncio.gather(*(guess() for _ in range(12)))

    assert sorted(r for r in results if r is not None) == list(range(1, MAX_CODE_ATTEMPTS + 1))
    assert results.count(None) == 12 - MAX_CODE_ATTEMPTS


async def test_twelve_concurrent_wrong_guesses_burn_the_code_for_good(
    engine: PostgresEngine, uow_factory: UowFactory
) -> None:
    clock = FixedClock(NOW)
    ports = login_ports(clock)
    async with uow_factory() as uow:
        await request_login_code(RequestLoginCode(PHONE, "10.0.0.1"), uow, ports)
        await uow.commit()
    code = await queued_code(engine)
    wrong = f"{(int(code) + 1) % 10**6:06d}"

    outcomes = await asyncio.gather(
        *(
            verify_login_code(VerifyLoginCode(PHONE, wrong, "10.0.0.1"), uow_factory, ports)
            for _ in range(12)
        ),
        return_exceptions=True,
    )

    assert all(isinstance(o, InvalidLoginCode) for o in outcomes)
    async with engine.pool.acquire() as connection:
        assert await connection.fetchval("SELECT attempts FROM login_challenges") == 5
    with pytest.raises(InvalidLoginCode):
        await verify_login_code(VerifyLoginCode(PHONE, code, "10.0.0.1"), uow_factory, ports)


async def test_the_right_code_sent_twice_at_once_logs_in_once(
    engine: PostgresEngine, uow_factory: UowFactory
) -> None:
    clock = FixedClock(NOW)
    ports = login_ports(clock)
    async with uow_factory() as uow:
        await request_login_code(RequestLoginCode(PHONE, "10.0.0.1"), uow, ports)
        await uow.commit()
    code = await queued_code(engine)

    outcomes = await asyncio.gather(
        *(
            verify_login_code(VerifyLoginCode(PHONE, code, "10.0.0.1"), uow_factory, ports)
            for _ in range(4)
        ),
        return_exceptions=True,
    )

    assert len([o for o in outcomes if isinstance(o, Session)]) == 1
    assert len([o for o in outcomes if isinstance(o, InvalidLoginCode)]) == 3
    async with engine.pool.acquire() as connection:
        assert await connection.fetchval("SELECT count(*) FROM members") == 1


async def test_two_concurrent_refreshes_of_one_token_let_exactly_one_through(
    engine: PostgresEngine, uow_factory: UowFactory
) -> None:
    clock = FixedClock(NOW)
    ports = login_ports(clock)
    async with uow_factory() as uow:
        await request_login_code(RequestLoginCode(PHONE, "10.0.0.1"), uow, ports)
        await uow.commit()
    code = await queued_code(engine)
    session = await verify_login_code(VerifyLoginCode(PHONE, code, "10.0.0.1"), uow_factory, ports)

    outcomes = await asyncio.gather(
        *(refresh_session(session.refresh_token, uow_factory, ports) for _ in range(2)),
        return_exceptions=True,
    )

    winners = [o for o in outcomes if isinstance(o, Session)]
    assert len(winners) == 1
    assert len([o for o in outcomes if isinstance(o, InvalidRefreshToken)]) == 1
    # The loser presented a used token: the family, the winner's new token included, is gone.
    with pytest.raises(InvalidRefreshToken):
        await refresh_session(winners[0].refresh_token, uow_factory, ports)
    async with engine.pool.acquire() as connection:
        assert (
            await connection.fetchval(
                "SELECT count(*) FROM refresh_tokens WHERE revoked_at IS NULL"
            )
            == 0
        )


async def test_concurrent_hits_on_one_bucket_let_exactly_the_limit_through(
    engine: PostgresEngine,
) -> None:
    limiter = PostgresRateLimiter(engine)
    rule = RateLimit(5, timedelta(minutes=10))
    now = datetime(2026, 6, 15, 12, 3, tzinfo=UTC)

    waits = await asyncio.gather(*(limiter.hit("login-code:phone:x", rule, now) for _ in range(20)))

    assert waits.count(None) == 5
    assert {w for w in waits if w is not None} == {timedelta(minutes=7)}
    # The next window starts afresh.
    assert await limiter.hit("login-code:phone:x", rule, now + timedelta(minutes=7)) is None
