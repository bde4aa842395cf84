"""How much reading a replica takes off the primary, and what read-your-writes costs.

`python tests/bench/bench_replica.py [--rounds N]` starts a throwaway primary and streaming
standby (tests/support/replica_cluster.py), then runs the same workload twice through the
service, once without and once with DATABASE_REPLICA_URL: per round, a till's sale to one of
20 members, that member's `GET /v1/me` right after it (read-your-writes), and a till lookup by
card of another member (no recent write). It prints, per run: the transactions each server
counted (pg_stat_database), where the router sent the reads (replica, after a wait, primary
after the wait ran out), and wall and CPU time of this process per round.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
from litestar.testing import AsyncTestClient  # noqa: E402

from adapters.http.application import build_http_app  # noqa: E402
from adapters.persistence.migrate import migrate  # noqa: E402
from app.container import Container  # noqa: E402
from app.settings import Settings  # noqa: E402
from app.wiring.composition import Service, start_service, stop_service  # noqa: E402
from tests.api.client import Api  # noqa: E402
from tests.support.database import reset  # noqa: E402
from tests.support.replica_cluster import PRIMARY_PORT, ReplicaCluster, start_cluster  # noqa: E402

MEMBERS = 20


async def xacts(url: str) -> int:
    connection = await asyncpg.connect(url)
    try:
        await connection.execute("SELECT pg_stat_clear_snapshot()")
        count: int = await connection.fetchval(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database "
            "WHERE datname = current_database()"
        )
        return count
    finally:
        await connection.close()


async def run(cluster: ReplicaCluster, rounds: int, *, replica: bool) -> dict[str, Any]:
    await reset(cluster.primary_url)
    await cluster.wait_for_standby()
    settings = Settings(
        database_url=cluster.primary_url,
        replica_url=cluster.standby_url if replica else None,
        db_pool_min=1,
        db_pool_max=10,
        log_level="WARNING",
    )
    services: list[Service] = []

    async def start() -> Container:
        services.append(await start_service(settings, cluster.primary_url))
        return services[-1].container

    async def stop(_: Container) -> None:
        while services:
            await stop_service(services.pop())

    app = build_http_app(start, stop, max_body_bytes=settings.max_request_body_bytes)
    async with AsyncTestClient(app=app, raise_server_exceptions=False) as client:
        api = Api(client, app.state.container.tokens)
        till = await api.open_till()
        members = [await till.enrol(f"+86138001380{n:02d}") for n in range(MEMBERS)]
        await cluster.wait_for_standby()
        reads = services[0].reads
        reads.counts.__init__()  # type: ignore[misc]
        primary0 = await xacts(cluster.primary_url)
        standby0 = await xacts(cluster.standby_url)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        stale = 0
        for n in range(rounds):
            buyer = members[n % MEMBERS]
            sale = await till.sell(
                f"R-{n}",
                [{"sku": "A", "quantity": 1, "unit_price": 10000}],
                member_id=buyer["member_id"],
            )
            assert sale.status_code == 201, sale.text
            expected = 100 * (n // MEMBERS + 1)
            me = await client.get("/v1/me", headers=api.member_headers(buyer["member_id"]))
            stale += me.json()["points"]["available"] != expected
            other = members[(n + 7) % MEMBERS]
            found = await client.get(
                "/v1/pos/members/lookup",
                params={"card_number": other["card_number"]},
                headers=till.headers(),
            )
            assert found.status_code == 200, found.text
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        counts = reads.counts
    return {
        "replica": replica,
        "primary xacts": await xacts(cluster.primary_url) - primary0 - 1,
        "standby xacts": await xacts(cluster.standby_url) - standby0 - 1,
        "reads on replica": counts.replica,
        "reads on primary": counts.primary,
        "waited": counts.waited,
        "wait ran out": counts.lagging,
        "stale /v1/me": stale,
        "wall ms/round": round(wall * 1000 / rounds, 2),
        "cpu ms/round": round(cpu * 1000 / rounds, 2),
    }


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    print(f"load average before: {os.getloadavg()}")
    cluster = start_cluster()
    try:
        admin = await asyncpg.connect(cluster.url(PRIMARY_PORT, "postgres"))
        try:
            await admin.execute(f'CREATE DATABASE "{cluster.database}"')
        finally:
            await admin.close()
        await migrate(cluster.primary_url)
        for replica in (False, True):
            result = await run(cluster, args.rounds, replica=replica)
            print("  ".join(f"{key}={value}" for key, value in result.items()))
    finally:
        cluster.stop()
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    asyncio.run(main())
