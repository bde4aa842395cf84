"""Reads on a streaming replica, writes on the primary, a member reads their own writes.

A real primary and hot standby are started from the machine's PostgreSQL binaries
(tests/support/replica_cluster.py: initdb, pg_basebackup -R) and the service is started on
both (DATABASE_URL and DATABASE_REPLICA_URL). The standby's replay is paused with
``pg_wal_replay_pause()`` to make it lag on purpose, and stopped to make it disappear.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from adapters.http.application import build_http_app
from adapters.persistence.replica import ReadRouter, WritePositions
from adapters.persistence.tables import ALL_TABLES
from app.container import Container
from app.settings import Settings, SettingsError
from app.wiring.composition import Service, start_service, stop_service
from domain.staff import StaffRole
from tests.api.client import Api, Till
from tests.support.console import console_login, make_staff
from tests.support.database import reset
from tests.support.replica_cluster import ReplicaCluster, start_cluster

pytestmark = pytest.mark.db

OWNER = "owner.replica@example.com"
LINE = {"sku": "A", "quantity": 1, "unit_price": 10000}  # 100 points at the default rate


@pytest.fixture(scope="module")
def cluster() -> Iterator[ReplicaCluster]:
    cluster = start_cluster()
    try:
        yield cluster
    finally:
        cluster.stop()


@dataclass
class Stack:
    cluster: ReplicaCluster
    api: Api
    reads: ReadRouter


@pytest.fixture(scope="module")
async def served(cluster: ReplicaCluster) -> AsyncIterator[tuple[Api, Service]]:
    from adapters.persistence.migrate import migrate

    admin = await asyncpg.connect(cluster.url(6001, "postgres"))
    try:
        await admin.execute(f'CREATE DATABASE "{cluster.database}"')
    finally:
        await admin.close()
    await migrate(cluster.primary_url)
    await cluster.wait_for_standby()
    settings = Settings(
        database_url=cluster.primary_url,
        replica_url=cluster.standby_url,
        replica_wait_ms=200,
        db_pool_min=1,
        db_pool_max=10,
    )
    # The service binds the tables to its engine; give the other modules theirs back after.
    previous = {table: table._meta._db for table in ALL_TABLES}
    services: list[Service] = []

    async def start() -> Container:
        services.append(await start_service(settings, cluster.primary_url))
        return services[-1].container

    async def stop(_: Container) -> None:
        while services:
            await stop_service(services.pop())

    app = build_http_app(start, stop, max_body_bytes=settings.max_request_body_bytes)
    try:
        async with AsyncTestClient(app=app, raise_server_exceptions=False) as client:
            yield Api(client, app.state.container.tokens), services[0]
    finally:
        for table, db in previous.items():
            table._meta._db = db


@pytest.fixture
async def stack(cluster: ReplicaCluster, served: tuple[Api, Service]) -> Stack:
    api, service = served
    await reset(cluster.primary_url)
    await cluster.wait_for_standby()
    reads = service.reads
    reads.counts.__init__()  # type: ignore[misc]
    return Stack(cluster, api, reads)


async def me(api: Api, member_id: str) -> dict[str, Any]:
    response = await api.client.get("/v1/me", headers=api.member_headers(member_id))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def lookup(api: Api, till: Till, **by: str) -> dict[str, Any]:
    response = await api.client.get("/v1/pos/members/lookup", params=by, headers=till.headers())
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def replica_balance(cluster: ReplicaCluster, member_id: str) -> object:
    return await cluster.on_standby(
        f"SELECT available FROM points_accounts WHERE member_id = '{UUID(member_id)}'"
    )


async def sell(till: Till, member_id: str, receipt: str) -> None:
    response = await till.sell(receipt, [LINE], member_id=member_id)
    assert response.status_code == 201, response.text


async def test_a_member_without_recent_writes_is_read_on_the_replica(stack: Stack) -> None:
    till = await stack.api.open_till()
    member = await till.enrol()
    await sell(till, member["member_id"], "R-1")
    await stack.cluster.wait_for_standby()
    await stack.cluster.on_standby("SELECT pg_wal_replay_pause()")
    try:
        # Written behind the service's back: only a read on the paused replica misses it.
        primary = await asyncpg.connect(stack.cluster.primary_url)
        try:
            await primary.execute(
                "UPDATE members SET name = 'Changed On Primary' WHERE id = $1",
                UUID(member["member_id"]),
            )
        finally:
            await primary.close()
        before = stack.reads.counts.replica

        mine = await me(stack.api, member["member_id"])
        at_till = await lookup(stack.api, till, card_number=member["card_number"])

        assert mine["name"] is None  # the replica's, paused before the change
        assert mine["points"]["available"] == 100
        assert at_till["points"]["available"] == 100
        assert stack.reads.counts.replica == before + 2
    finally:
        await stack.cluster.on_standby("SELECT pg_wal_replay_resume()")


async def test_after_a_sale_me_never_shows_the_balance_from_before_it_while_replay_is_paused(
    stack: Stack,
) -> None:
    till = await stack.api.open_till()
    member = await till.enrol()
    member_id = member["member_id"]
    await sell(till, member_id, "R-1")
    await stack.cluster.wait_for_standby()
    assert (await me(stack.api, member_id))["points"]["available"] == 100
    await stack.cluster.on_standby("SELECT pg_wal_replay_pause()")
    try:
        await sell(till, member_id, "R-2")
        lagging = stack.reads.counts.lagging

        mine = await me(stack.api, member_id)
        by_card = await lookup(stack.api, till, card_number=member["card_number"])
        by_phone = await lookup(stack.api, till, phone="+8613800138000")

        # The replica still holds the balance from before the sale; nobody was shown it.
        assert await replica_balance(stack.cluster, member_id) == 100
        assert mine["points"]["available"] == 200
        assert by_card["points"]["available"] == 200
        assert by_phone["points"]["available"] == 200
        assert stack.reads.counts.lagging > lagging  # waited, then read the primary
    finally:
        await stack.cluster.on_standby("SELECT pg_wal_replay_resume()")

    # Once the replica has replayed the sale, the member is read there again.
    replica = stack.reads.counts.replica
    assert (await me(stack.api, member_id))["points"]["available"] == 200
    assert stack.reads.counts.replica == replica + 1
    assert UUID(member_id) not in stack.reads.positions._at


async def test_sale_after_sale_the_member_reads_each_new_balance(stack: Stack) -> None:
    till = await stack.api.open_till()
    member = await till.enrol()
    for n in range(1, 16):
        await sell(till, member["member_id"], f"R-{n}")
        assert (await me(stack.api, member["member_id"]))["points"]["available"] == 100 * n
    # Streaming replication keeps up: most reads are answered by the replica, some after a
    # short wait; none showed an older balance.
    assert stack.reads.counts.replica > 0


async def test_the_console_reads_the_replica_and_staff_see_their_own_changes(
    stack: Stack, served: tuple[Api, Service]
) -> None:
    client = stack.api.client
    client.cookies.clear()
    client.follow_redirects = False
    try:
        make_staff(served[1].container, OWNER, StaffRole.OWNER, client=client)
        assert (await console_login(client, OWNER)).status_code == 303
        await stack.api.create_store("made-here")
        await stack.cluster.wait_for_standby()
        await stack.cluster.on_standby("SELECT pg_wal_replay_pause()")
        try:
            # Renamed behind the service's back: only a read on the paused replica misses it.
            primary = await asyncpg.connect(stack.cluster.primary_url)
            try:
                await primary.execute("UPDATE stores SET name = 'Renamed Elsewhere'")
            finally:
                await primary.close()
            replica = stack.reads.counts.replica

            page = await client.get("/console/stores")

            assert page.status_code == 200, page.text
            assert "Store made-here" in page.text
            assert "Renamed Elsewhere" not in page.text
            assert stack.reads.counts.replica > replica

            # A change this process commits is waited for, then read on the primary.
            await stack.api.create_store("made-now")
            page = await client.get("/console/stores")

            assert "Store made-now" in page.text
            assert "Renamed Elsewhere" in page.text
            assert await stack.cluster.on_standby("SELECT count(*) FROM stores") == 1
        finally:
            await stack.cluster.on_standby("SELECT pg_wal_replay_resume()")
    finally:
        client.follow_redirects = True
        client.cookies.clear()


async def test_a_stopped_replica_falls_back_to_the_primary_without_errors(
    stack: Stack, served: tuple[Api, Service], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stack.reads, "_cooldown", 0.5)
    till = await stack.api.open_till()
    member = await till.enrol(name="Li Wei")
    await sell(till, member["member_id"], "R-1")
    await stack.cluster.wait_for_standby()
    assert (await me(stack.api, member["member_id"]))["points"]["available"] == 100

    stack.cluster.stop_standby()
    try:
        await sell(till, member["member_id"], "R-2")
        mine = await me(stack.api, member["member_id"])
        at_till = await lookup(stack.api, till, phone="+8613800138000")
        found = await stack.api.client.get(
            "/v1/admin/members", params={"phone": "+8613800138000"}, headers=stack.api.admin_headers
        )
        report = await stack.api.client.get(
            "/v1/admin/reports/rfm", headers=stack.api.admin_headers
        )

        assert mine["points"]["available"] == 200
        assert at_till["points"]["available"] == 200
        assert found.status_code == 200, found.text
        assert [m["member_id"] for m in found.json()["items"]] == [member["member_id"]]
        assert report.status_code == 200, report.text
        assert stack.reads.counts.lost >= 1
        # The console's reads too (the replica is down for the cooldown, then tried again).
        await asyncio.sleep(0.6)
        client = stack.api.client
        client.cookies.clear()
        make_staff(served[1].container, OWNER, StaffRole.OWNER, client=client)
        assert (await console_login(client, OWNER)).status_code in (200, 303)
        page = await client.get("/console/stores")
        assert page.status_code == 200, page.text
        client.cookies.clear()
    finally:
        stack.cluster.start_standby()

    # Back after the cooldown: reads return to the replica.
    await stack.cluster.wait_for_standby()
    await asyncio.sleep(0.6)
    replica = stack.reads.counts.replica
    assert (await me(stack.api, member["member_id"]))["points"]["available"] == 200
    assert stack.reads.counts.replica == replica + 1


def test_positions_forget_a_member_once_the_replica_replayed_their_write() -> None:
    positions = WritePositions()
    a, b = uuid4(), uuid4()
    positions.record([a], 100)
    positions.record([b], 200)

    positions.replayed(150)

    assert (positions.of(a), positions.of(b), len(positions)) == (0, 200, 1)


def test_positions_forgotten_for_room_become_a_floor_for_every_read() -> None:
    positions = WritePositions(capacity=2)
    a, b, c = uuid4(), uuid4(), uuid4()
    positions.record([a], 100)
    positions.record([b], 200)
    positions.record([c], 300)

    # a was dropped before any replica was seen past 100: every read now needs 100.
    assert (positions.of(a), positions.of(None), positions.of(b)) == (100, 100, 200)
    assert len(positions) == 2


def test_a_replica_url_without_its_primary_or_with_a_silly_wait_is_refused() -> None:
    with pytest.raises(SettingsError, match="DATABASE_REPLICA_URL needs DATABASE_URL"):
        Settings.from_env({"DATABASE_REPLICA_URL": "postgresql://replica/loyalty"})
    with pytest.raises(SettingsError, match="LOYALTY_REPLICA_WAIT_MS"):
        Settings.from_env({"DATABASE_URL": "postgresql://p/l", "LOYALTY_REPLICA_WAIT_MS": "-1"})
    settings = Settings.from_env(
        {"DATABASE_URL": "postgresql://p/l", "DATABASE_REPLICA_URL": "postgresql://r/l"}
    )
    assert (settings.replica_url, settings.replica_wait_ms) == ("postgresql://r/l", 50)
