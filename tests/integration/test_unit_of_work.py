"""PostgresUnitOfWork: one transaction, explicit commit, savepoints, no silent nesting, locks."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from uuid import uuid4

import asyncpg
import pytest
from piccolo.engine.exceptions import TransactionError

from adapters.persistence import session
from adapters.persistence.engine import LoyaltyEngine, clean_connection, start_engine, stop_engine
from adapters.persistence.tables import ALL_TABLES, StoreRow
from adapters.persistence.unit_of_work import PostgresUnitOfWork
from app.idempotency_store import IdempotencyClaim, StoredResponse
from domain.members import Member
from domain.points import Reference
from tests.bench.query_counts import counting
from tests.integration.factories import T0, a_member, a_store

pytestmark = pytest.mark.db

UowFactory = Callable[[], PostgresUnitOfWork]


class Boom(Exception):
    pass


async def store_codes(url: str) -> list[str]:
    """What is committed, seen from outside any unit of work."""
    connection = await asyncpg.connect(url)
    try:
        return [r["code"] for r in await connection.fetch("SELECT code FROM stores ORDER BY code")]
    finally:
        await connection.close()


async def test_writes_without_commit_are_rolled_back(uow_factory: UowFactory, db_url: str) -> None:
    store = a_store("A")
    async with uow_factory() as uow:
        assert await uow.stores.add_store(store) is True
        # Visible inside its own transaction...
        assert await uow.stores.get_store(store.id) == store

    # ...and gone once the unit of work ends without a commit.
    async with uow_factory() as uow:
        assert await uow.stores.get_store(store.id) is None
    assert await store_codes(db_url) == []


async def test_committed_writes_are_visible_in_a_new_unit_of_work(
    uow_factory: UowFactory, db_url: str
) -> None:
    store = a_store("A")
    async with uow_factory() as uow:
        await uow.stores.add_store(store)
        await uow.commit()

    async with uow_factory() as uow:
        assert await uow.stores.get_store(store.id) == store
    assert await store_codes(db_url) == ["A"]


async def test_uncommitted_writes_are_invisible_to_other_transactions(
    uow_factory: UowFactory, db_url: str
) -> None:
    async with uow_factory() as uow:
        await uow.stores.add_store(a_store("A"))
        assert await store_codes(db_url) == []
        await uow.commit()
        assert await store_codes(db_url) == ["A"]


async def add_stores_then_fail(
    uow: PostgresUnitOfWork, *codes: str, database_error: bool = False
) -> None:
    """Adds stores, then fails: with Boom, or with a CHECK violation raised by PostgreSQL."""
    for code in codes:
        await uow.stores.add_store(a_store(code))
    if database_error:
        await StoreRow.raw("INSERT INTO stores (code, name) VALUES ('', 'no code')")
    raise Boom


async def failing_unit_of_work(
    uow_factory: UowFactory, *codes: str, database_error: bool = False
) -> None:
    async with uow_factory() as uow:
        await add_stores_then_fail(uow, *codes, database_error=database_error)


async def failing_savepoint(
    uow: PostgresUnitOfWork, *codes: str, database_error: bool = False
) -> None:
    async with uow.savepoint():
        await add_stores_then_fail(uow, *codes, database_error=database_error)


async def test_an_exception_inside_the_unit_of_work_rolls_everything_back(
    uow_factory: UowFactory, db_url: str
) -> None:
    with pytest.raises(Boom):
        await failing_unit_of_work(uow_factory, "A", "B")

    assert await store_codes(db_url) == []


async def test_a_database_error_inside_the_unit_of_work_rolls_everything_back(
    uow_factory: UowFactory, db_url: str
) -> None:
    with pytest.raises(asyncpg.CheckViolationError, match="stores_code"):
        await failing_unit_of_work(uow_factory, "A", database_error=True)

    assert await store_codes(db_url) == []


async def test_a_savepoint_undoes_only_the_block_that_raised(
    uow_factory: UowFactory, db_url: str
) -> None:
    async with uow_factory() as uow:
        await uow.stores.add_store(a_store("A"))
        with pytest.raises(Boom):
            await failing_savepoint(uow, "B")
        async with uow.savepoint():
            await uow.stores.add_store(a_store("C"))
        await uow.stores.add_store(a_store("D"))
        await uow.commit()

    assert await store_codes(db_url) == ["A", "C", "D"]


async def test_a_savepoint_recovers_the_transaction_after_a_database_error(
    uow_factory: UowFactory, db_url: str
) -> None:
    async with uow_factory() as uow:
        await uow.stores.add_store(a_store("A"))
        with pytest.raises(asyncpg.CheckViolationError):
            await failing_savepoint(uow, "B", database_error=True)
        # Without the savepoint this would fail: "current transaction is aborted".
        await uow.stores.add_store(a_store("C"))
        await uow.commit()

    assert await store_codes(db_url) == ["A", "C"]


async def test_nested_savepoints_unwind_independently(uow_factory: UowFactory, db_url: str) -> None:
    async with uow_factory() as uow:
        async with uow.savepoint():
            await uow.stores.add_store(a_store("A"))
            with pytest.raises(Boom):
                await failing_savepoint(uow, "B")
            await uow.stores.add_store(a_store("C"))
        await uow.commit()

    assert await store_codes(db_url) == ["A", "C"]


async def test_nesting_a_unit_of_work_raises_instead_of_joining_the_outer_one(
    uow_factory: UowFactory, db_url: str
) -> None:
    async def commit_in(inner: PostgresUnitOfWork) -> None:
        async with inner:
            await inner.stores.add_store(a_store("B"))
            await inner.commit()

    async with uow_factory() as outer:
        await outer.stores.add_store(a_store("A"))
        with pytest.raises(TransactionError, match="nested transactions aren't allowed"):
            await commit_in(uow_factory())
        # The refused inner unit of work neither committed nor broke the outer one.
        assert await store_codes(db_url) == []
        await outer.stores.add_store(a_store("C"))
        await outer.commit()

    assert await store_codes(db_url) == ["A", "C"]


async def test_a_unit_of_work_can_be_used_again_after_it_ended(
    uow_factory: UowFactory, db_url: str
) -> None:
    uow = uow_factory()
    async with uow:
        await uow.stores.add_store(a_store("A"))
    async with uow:
        await uow.stores.add_store(a_store("B"))
        await uow.commit()

    assert await store_codes(db_url) == ["B"]


async def test_commit_and_savepoint_outside_the_block_are_refused(
    uow_factory: UowFactory,
) -> None:
    uow = uow_factory()

    with pytest.raises(RuntimeError, match="not active"):
        await uow.commit()
    with pytest.raises(RuntimeError, match="not active"):
        async with uow.savepoint():
            pass


async def test_a_write_after_commit_is_not_silently_autocommitted(
    uow_factory: UowFactory, db_url: str
) -> None:
    async def commit_then_write_then_fail() -> None:
        async with uow_factory() as uow:
            await uow.stores.add_store(a_store("A"))
            await uow.commit()
            await uow.stores.add_store(a_store("B"))
            raise Boom

    # A fix may refuse the late write instead of rolling it back: any exception will do.
    with pytest.raises(Exception):  # noqa: B017
        await commit_then_write_then_fail()

    assert await store_codes(db_url) == ["A"]


# Row locks -----------------------------------------------------------------------------------


async def enrolled_member(uow_factory: UowFactory) -> Member:
    member = a_member()
    async with uow_factory() as uow:
        assert await uow.members.add(member)
        await uow.points.open_account(member.id)
        await uow.commit()
    return member


async def test_get_for_update_blocks_a_second_transaction_until_the_first_commits(
    uow_factory: UowFactory,
) -> None:
    member = await enrolled_member(uow_factory)
    events: list[tuple[str, float]] = []
    first_holds_lock = asyncio.Event()
    seen_by_second: list[int] = []

    def log(what: str) -> None:
        events.append((what, time.monotonic()))

    async def first() -> None:
        async with uow_factory() as uow:
            account = await uow.points.get_for_update(member.id)
            log("first locked")
            first_holds_lock.set()
            await asyncio.sleep(0.3)
            account.earn(100, reference=Reference("sale", "s-1"), now=T0)
            await uow.points.save(account)
            log("first commits")
            await uow.commit()

    async def second() -> None:
        await first_holds_lock.wait()
        async with uow_factory() as uow:
            log("second asks")
            account = await uow.points.get_for_update(member.id)
            log("second locked")
            seen_by_second.append(account.available)
            account.earn(5, reference=Reference("sale", "s-2"), now=T0)
            await uow.points.save(account)
            await uow.commit()

    await asyncio.wait_for(asyncio.gather(first(), second()), timeout=5)

    assert [name for name, _ in events] == [
        "first locked",
        "second asks",
        "first commits",
        "second locked",
    ]
    at = dict(events)
    assert at["second locked"] - at["second asks"] >= 0.25
    # The second transaction read the balance the first one committed, not a stale one.
    assert seen_by_second == [100]
    async with uow_factory() as uow:
        assert (await uow.points.get(member.id)).available == 105


async def test_a_plain_read_does_not_wait_for_the_row_lock(uow_factory: UowFactory) -> None:
    member = await enrolled_member(uow_factory)
    first_holds_lock = asyncio.Event()
    release = asyncio.Event()

    async def first() -> None:
        async with uow_factory() as uow:
            account = await uow.points.get_for_update(member.id)
            account.earn(100, reference=Reference("sale", "s-1"), now=T0)
            await uow.points.save(account)
            first_holds_lock.set()
            await release.wait()
            await uow.commit()

    async def reader() -> int:
        await first_holds_lock.wait()
        try:
            async with uow_factory() as uow:
                return (await uow.points.get(member.id)).available
        finally:
            release.set()

    _, available = await asyncio.wait_for(asyncio.gather(first(), reader()), timeout=5)

    assert available == 0  # the uncommitted 100 is invisible, and reading did not block


# Returning connections to the pool ----------------------------------------------------------


@asynccontextmanager
async def a_pool_of(db_url: str, size: int) -> AsyncIterator[LoyaltyEngine]:
    """An engine of its own with exactly ``size`` connections; the tables go back to the
    test's engine afterwards."""
    tables = {table: table._meta._db for table in ALL_TABLES}
    pool = await start_engine(db_url, min_size=size, max_size=size)
    try:
        yield pool
    finally:
        await stop_engine(pool)
        for table, db in tables.items():
            table._meta._db = db


@pytest.fixture
async def one_connection_engine(engine: LoyaltyEngine, db_url: str) -> AsyncIterator[LoyaltyEngine]:
    """A pool of one connection: whoever acquires next gets the backend the last user left."""
    async with a_pool_of(db_url, 1) as single:
        yield single


async def session_state(engine: LoyaltyEngine) -> dict[str, object]:
    assert engine.pool is not None
    async with engine.pool.acquire() as connection:
        row = await connection.fetchrow(
            "SELECT pg_backend_pid() AS pid, "
            "(SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
            " AND pid = pg_backend_pid()) AS advisory_locks, "
            "current_setting('work_mem') AS work_mem, "
            "(SELECT count(*) FROM pg_class WHERE relpersistence = 't') AS temp_tables"
        )
        return {**dict(row), "in_transaction": connection.is_in_transaction()}


async def test_a_unit_of_work_returns_its_connection_without_the_reset_round_trip(
    one_connection_engine: LoyaltyEngine,
) -> None:
    before = await session_state(one_connection_engine)
    with counting() as sent:
        async with PostgresUnitOfWork(one_connection_engine) as uow:
            connection = session.connection()
            # The transaction-scoped kinds of state a unit of work may take.
            await connection.execute("SELECT pg_advisory_xact_lock(4242)")
            await connection.execute("SET LOCAL work_mem = '77MB'")
            await connection.execute("CREATE TEMP TABLE scratch (x int) ON COMMIT DROP")
            await uow.stores.add_store(a_store("A"))
            await uow.commit()

    assert not [statement for statement in sent if "RESET ALL" in statement]
    # The next user of the connection finds it as it was.
    assert await session_state(one_connection_engine) == before


async def test_a_unit_of_work_that_fails_rolls_back_before_giving_its_connection_back(
    one_connection_engine: LoyaltyEngine, db_url: str
) -> None:
    before = await session_state(one_connection_engine)
    with pytest.raises(Boom):
        await failing_unit_of_work(lambda: PostgresUnitOfWork(one_connection_engine), "A")

    assert await session_state(one_connection_engine) == before
    assert await store_codes(db_url) == []


async def test_a_connection_given_back_inside_a_transaction_is_rolled_back(
    one_connection_engine: LoyaltyEngine, db_url: str
) -> None:
    before = await session_state(one_connection_engine)
    async with clean_connection(one_connection_engine) as connection:
        await connection.transaction().start()
        await connection.execute(
            "INSERT INTO stores (id, code, name) VALUES ($1, 'A', 'A')", uuid4()
        )

    assert await session_state(one_connection_engine) == before
    assert await store_codes(db_url) == []


async def test_clean_connections_skip_the_reset_even_when_handed_straight_to_the_next_user(
    engine: LoyaltyEngine, db_url: str
) -> None:
    # Users queue for two connections; each takes one as soon as the previous user let go,
    # while that user's release is still finishing.
    async def read(pair: LoyaltyEngine, n: int) -> None:
        async with clean_connection(pair) as connection:
            if n % 2:
                await connection.fetchval("SELECT 1")

    async with a_pool_of(db_url, 2) as pair:
        with counting() as sent:
            await asyncio.gather(*(read(pair, n) for n in range(400)))

    assert not [statement for statement in sent if "RESET ALL" in statement]


async def test_other_users_of_the_pool_still_get_the_full_reset(
    one_connection_engine: LoyaltyEngine,
) -> None:
    # Whoever takes session-level state on a pooled connection (an advisory lock, a SET) and
    # fails to undo it must not leave it on a connection the pool hands out again.
    before = await session_state(one_connection_engine)
    assert one_connection_engine.pool is not None
    with counting() as sent:
        async with one_connection_engine.pool.acquire() as connection:
            assert await connection.fetchval("SELECT pg_try_advisory_lock(4243)")
            await connection.execute("SET work_mem = '77MB'")

    assert [statement for statement in sent if "RESET ALL" in statement]
    assert await session_state(one_connection_engine) == before


# Writes that ride with the COMMIT -------------------------------------------------------------


async def test_an_answer_remembered_with_the_commit_keeps_every_character_of_its_key(
    uow_factory: UowFactory,
) -> None:
    caller = "pos:t'1\\"
    key = "k'; DROP TABLE stores; --\\x00ü😀"
    answer = StoredResponse(201, bytes(range(256)), "application/json; q='1'")
    async with uow_factory() as uow:
        await uow.idempotency.claim(caller, key, "h", T0)
        await uow.idempotency.remember(caller, key, answer)
        await uow.commit()

    async with uow_factory() as uow:
        claim = await uow.idempotency.claim(caller, key, "h2", T0)
        await uow.stores.add_store(a_store("still-here"))

    assert claim == IdempotencyClaim(request_hash="h", replay=answer)


async def test_the_answer_written_with_the_commit_finds_its_key_by_index_not_by_a_scan(
    uow_factory: UowFactory,
) -> None:
    # The table keeps every key for days: a scan per sale grows with it (and past
    # jit_above_cost, compiles one). With sequential scans priced out, the plan must need none.
    async with uow_factory() as uow:
        await uow.idempotency.claim("pos:t1", "k-1", "h", T0)
        await uow.idempotency.remember("pos:t1", "k-1", StoredResponse(201, b"{}", "a/b"))
        (statement,) = session.active().at_commit
        db = session.connection()
        await db.execute("SET LOCAL enable_seqscan = off")
        plan = "\n".join(row[0] for row in await db.fetch("EXPLAIN " + statement))

    assert "Seq Scan" not in plan, plan


async def test_an_answer_for_a_key_not_claimed_in_the_transaction_is_refused(
    uow_factory: UowFactory,
) -> None:
    async with uow_factory() as uow:
        with pytest.raises(RuntimeError, match="claimed in this transaction"):
            await uow.idempotency.remember("pos:t1", "k-1", StoredResponse(201, b"{}", "a/b"))


async def test_a_write_deferred_to_the_commit_is_dropped_without_a_commit(
    uow_factory: UowFactory, db_url: str
) -> None:
    async with uow_factory():
        session.at_commit(
            "INSERT INTO stores (id, code, name) VALUES (gen_random_uuid(), 'A', 'A')"
        )

    assert await store_codes(db_url) == []


async def commit_with_a_failing_deferred_write(uow_factory: UowFactory) -> None:
    async with uow_factory() as uow:
        await uow.stores.add_store(a_store("A"))
        session.at_commit("INSERT INTO stores (id, code, name) VALUES (gen_random_uuid(), '', 'x')")
        await uow.commit()


async def test_a_deferred_write_that_fails_stops_the_commit(
    uow_factory: UowFactory, db_url: str
) -> None:
    with pytest.raises(asyncpg.CheckViolationError):
        await commit_with_a_failing_deferred_write(uow_factory)

    assert await store_codes(db_url) == []
