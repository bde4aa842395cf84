"""Login under real concurrency on PostgreSQL: separate connections, interleaved transactions.

Each burst runs through `race` (tests/support/overlap.py), which proves that its calls
overlapped: they were in flight in the database at once, queued on one lock. The engine's pool
holds 10 connections, so at most 10 of a larger burst can queue at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import pytest
from piccolo.engine.postgres import PostgresEngine

from adapters.persistence.rate_limits import PostgresRateLimiter
from adapters.persistence.unit_of_work import PostgresUnitOfWork
from app.use_cases.login import (
    RequestLoginCode,
    Session,
    VerifyLoginCode,
    log_out,
    refresh_session,
    request_login_code,
    verify_login_code,
)
from domain.errors import InvalidLoginCode, InvalidRefreshToken
from domain.login import MAX_CODE_ATTEMPTS, RateLimit
from tests.integration.test_outbox import NOW, PHONE, login_ports, queued_code
from tests.support.fakes import FixedClock
from tests.support.overlap import race

pytestmark = pytest.mark.db
POOL = 10  # tests/integration/conftest.py: session_engine

UowFactory = Callable[[], PostgresUnitOfWork]
T = TypeVar("T")


async def outcome(call: Awaitable[T]) -> T | Exception:
    """The call's result or the exception it raised: a refusal is an outcome of the race."""
    try:
        return await call
    except Exception as error:
        return error


async def test_concurrent_guesses_each_count_and_only_five_are_ever_judged(
    engine: PostgresEngine, uow_factory: UowFactory, db_url: str
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

    results, waits = await race(
        db_url, [guess() for _ in range(12)], gate="login_challenges", queued=POOL
    )

    waits.assert_overlapped("12 guesses counted at once", at_least=POOL)
    assert sorted(r for r in results if r is not None) == list(range(1, MAX_CODE_ATTEMPTS + 1))
    assert results.count(None) == 12 - MAX_CODE_ATTEMPTS


async def test_twelve_concurrent_wrong_guesses_burn_the_code_for_good(
    engine: PostgresEngine, uow_factory: UowFactory, db_url: str
) -> None:
    clock = FixedClock(NOW)
    ports = login_ports(clock)
    async with uow_factory() as uow:
        await request_login_code(RequestLoginCode(PHONE, "10.0.0.1"), uow, ports)
        await uow.commit()
    code = await queued_code(engine)
    wrong = f"{(int(code) + 1) % 10**6:06d}"

    guess = VerifyLoginCode(PHONE, wrong, "10.0.0.1")
    outcomes, waits = await race(
        db_url,
        [outcome(verify_login_code(guess, uow_factory, ports)) for _ in range(12)],
        gate="login_challenges",
        queued=POOL,
    )

    waits.assert_overlapped("12 wrong guesses at once", at_least=POOL)
    assert all(isinstance(o, InvalidLoginCode) for o in outcomes)
    async with engine.pool.acquire() as connection:
        assert await connection.fetchval("SELECT attempts FROM login_challenges") == 5
    with pytest.raises(InvalidLoginCode):
        await verify_login_code(VerifyLoginCode(PHONE, code, "10.0.0.1"), uow_factory, ports)


async def test_the_right_code_sent_twice_at_once_logs_in_once(
    engine: PostgresEngine, uow_factory: UowFactory, db_url: str
) -> None:
    clock = FixedClock(NOW)
    ports = login_ports(clock)
    async with uow_factory() as uow:
        await request_login_code(RequestLoginCode(PHONE, "10.0.0.1"), uow, ports)
        await uow.commit()
    code = await queued_code(engine)

    right = VerifyLoginCode(PHONE, code, "10.0.0.1")
    outcomes, waits = await race(
        db_url,
        [outcome(verify_login_code(right, uow_factory, ports)) for _ in range(4)],
        gate="login_challenges",
    )

    waits.assert_overlapped("the right code 4 times at once", at_least=4)
    assert len([o for o in outcomes if isinstance(o, Session)]) == 1
    assert len([o for o in outcomes if isinstance(o, InvalidLoginCode)]) == 3
    async with engine.pool.acquire() as connection:
        assert await connection.fetchval("SELECT count(*) FROM members") == 1


async def test_two_concurrent_refreshes_of_one_token_let_exactly_one_through(
    engine: PostgresEngine, uow_factory: UowFactory, db_url: str
) -> None:
    clock = FixedClock(NOW)
    ports = login_ports(clock)
    async with uow_factory() as uow:
        await request_login_code(RequestLoginCode(PHONE, "10.0.0.1"), uow, ports)
        await uow.commit()
    code = await queued_code(engine)
    session = await verify_login_code(VerifyLoginCode(PHONE, code, "10.0.0.1"), uow_factory, ports)

    outcomes, waits = await race(
        db_url,
        [outcome(refresh_session(session.refresh_token, uow_factory, ports)) for _ in range(2)],
        gate="refresh_tokens",
    )

    waits.assert_overlapped("two refreshes of one token", at_least=2)
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


async def test_a_logout_racing_a_refresh_of_the_same_token_leaves_no_live_token(
    engine: PostgresEngine, uow_factory: UowFactory, db_url: str
) -> None:
    """Whichever takes the token's lock first, the family ends: a refresh that wins issues a
    successor the logout then revokes too (it locks the family, then revokes in a statement
    that sees the successor); a refresh that loses finds its token revoked."""
    clock = FixedClock(NOW)
    ports = login_ports(clock)
    refresh_won = 0
    for _ in range(6):
        async with engine.pool.acquire() as connection:
            await connection.execute("DELETE FROM outbox")
        async with uow_factory() as uow:
            await request_login_code(RequestLoginCode(PHONE, "10.0.0.1"), uow, ports)
            await uow.commit()
        code = await queued_code(engine)
        session = await verify_login_code(
            VerifyLoginCode(PHONE, code, "10.0.0.1"), uow_factory, ports
        )

        async def logout(token: str = session.refresh_token) -> None:
            async with uow_factory() as uow:
                await log_out(token, uow, ports)
                await uow.commit()

        (refreshed, logged_out), waits = await race(
            db_url,
            [outcome(refresh_session(session.refresh_token, uow_factory, ports)), logout()],
            gate="refresh_tokens",
        )

        waits.assert_overlapped("a refresh and a logout of one token", at_least=2)
        assert logged_out is None
        if isinstance(refreshed, Session):
            refresh_won += 1
            with pytest.raises(InvalidRefreshToken):
                await refresh_session(refreshed.refresh_token, uow_factory, ports)
        else:
            assert isinstance(refreshed, InvalidRefreshToken)
        async with engine.pool.acquire() as connection:
            live = await connection.fetchval(
                "SELECT count(*) FROM refresh_tokens WHERE revoked_at IS NULL"
            )
        assert live == 0, f"a token outlived the logout (refresh won {refresh_won} times)"
    print(f"refresh took the lock first in {refresh_won} of 6 rounds")


async def test_concurrent_hits_on_one_bucket_let_exactly_the_limit_through(
    engine: PostgresEngine, db_url: str
) -> None:
    limiter = PostgresRateLimiter(engine)
    rule = RateLimit(5, timedelta(minutes=10))
    now = datetime(2026, 6, 15, 12, 3, tzinfo=UTC)

    hits, waits = await race(
        db_url,
        [limiter.hit("login-code:phone:x", rule, now) for _ in range(20)],
        gate="rate_limit_counters",
        queued=POOL,
    )

    waits.assert_overlapped("20 hits on one bucket", at_least=POOL)
    assert hits.count(None) == 5
    assert {w for w in hits if w is not None} == {timedelta(minutes=7)}
    # The next window starts afresh.
    assert await limiter.hit("login-code:phone:x", rule, now + timedelta(minutes=7)) is None
