"""Faults (issue #8, item 2): a killed service, a vanished database, a webhook storm.

`make test` runs each in a bounded form; `make chaos` raises the counts (CHAOS_SALES,
CHAOS_KILLS, CHAOS_TILLS, CHAOS_PG_CYCLES, CHAOS_EVENTS). The database fault uses a throwaway
embedded PostgreSQL cluster that the test starts and stops itself, never the shared server.

The SIGKILLs prove that they hit writes in flight (issue #16): each one lands while some sale's
request has been sent and not answered, and afterwards the database tells which of those the
kill cut before their commit (recorded again by their retry) and which it had let commit.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import random
import signal
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from adapters.persistence.migrate import migrate
from tests.e2e.conftest import BIN, STARTUP_SECONDS, cli, free_port
from tests.support.webhooks import shop_event, shop_headers

SALES = int(os.environ.get("CHAOS_SALES", "160"))
KILLS = int(os.environ.get("CHAOS_KILLS", "4"))
WORKERS = int(os.environ.get("CHAOS_TILLS", "8"))
PG_CYCLES = int(os.environ.get("CHAOS_PG_CYCLES", "1"))
EVENTS = int(os.environ.get("CHAOS_EVENTS", "100"))
LINES = [{"sku": "SHEET", "quantity": 1, "unit_price": 25000}]
PROJECT_ROOT = Path(__file__).resolve().parents[2]


pytestmark = pytest.mark.chaos


class Served:
    """`loyalty serve` as an operator runs it, which the test may kill and start again."""

    def __init__(self, env: dict[str, str], log: Path | None = None) -> None:
        self.env = env
        self.log = log
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        sink = self.log.open("a") if self.log else subprocess.DEVNULL
        try:
            self.process = subprocess.Popen(
                [str(BIN / "loyalty"), "serve", "--port", str(self.port)],
                env=self.env,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        finally:
            if self.log:
                sink.close()  # type: ignore[union-attr]
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            try:
                if httpx.get(f"{self.base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the service did not start (exit {self.process.poll()})")
            time.sleep(0.1)
        self.starts += 1

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()


@pytest.fixture
def served(clean_db: str) -> Iterator[Served]:
    server = Served({**os.environ, "DATABASE_URL": clean_db, "LOYALTY_LOG_LEVEL": "WARNING"})
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def rows(db_url: str, sql: str) -> list[Any]:
    connection = await asyncpg.connect(db_url)
    try:
        return list(await connection.fetch(sql))
    finally:
        await connection.close()


async def count(db_url: str, sql: str) -> Any:
    connection = await asyncpg.connect(db_url)
    try:
        return await connection.fetchval(sql)
    finally:
        await connection.close()


async def open_till(http: httpx.AsyncClient, env: dict[str, str]) -> dict[str, str]:
    admin = {"Authorization": f"Bearer {cli('token', 'admin', '--subject', 'chaos', env=env)}"}
    store = await http.post(
        "/v1/admin/stores",
        json={"code": f"chaos-{uuid.uuid4().hex[:6]}", "name": "Chaos"},
        headers={**admin, "Idempotency-Key": uuid.uuid4().hex},
    )
    terminal = await http.post(
        "/v1/admin/terminals",
        json={"store_id": store.json()["store_id"], "code": "till"},
        headers={**admin, "Idempotency-Key": uuid.uuid4().hex},
    )
    token = await http.post(
        "/v1/auth/terminal-token",
        json={"terminal_id": terminal.json()["terminal_id"], "secret": terminal.json()["secret"]},
    )
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


def ledger_verify(env: dict[str, str]) -> str:
    """`loyalty ledger verify` exits 1 on any mismatch, and cli() asserts it exited 0."""
    return cli("ledger", "verify", env=env)


# (a) SIGKILL during retried sales --------------------------------------------------------


class InFlight:
    """Which sale requests are on the wire: their body fully sent (httpx's trace events), their
    answer not yet received. Read at the instant of a SIGKILL, it names the writes the kill hit."""

    def __init__(self) -> None:
        self.receipts: dict[int, str] = {}
        self._ids = itertools.count()

    def trace(self, receipt: str) -> tuple[int, Callable[[str, dict[str, Any]], Awaitable[None]]]:
        attempt = next(self._ids)

        async def on(event: str, _: dict[str, Any]) -> None:
            if event == "http11.send_request_body.complete":
                self.receipts[attempt] = receipt
            elif event == "http11.receive_response_headers.complete":
                self.receipts.pop(attempt, None)

        return attempt, on

    def over(self, attempt: int) -> None:
        self.receipts.pop(attempt, None)


@dataclass
class Kill:
    at: datetime
    in_flight: list[str]  # receipts sent and not answered when the SIGKILL landed


async def test_sales_retried_through_repeated_sigkills_exist_exactly_once(
    served: Served, clean_db: str
) -> None:
    async with httpx.AsyncClient(base_url=served.base, timeout=10) as http:
        pos = await open_till(http, served.env)
        members = [
            (
                await http.post(
                    "/v1/pos/members",
                    json={"phone": f"+861380013{n:04d}"},
                    headers={**pos, "Idempotency-Key": uuid.uuid4().hex},
                )
            ).json()["member_id"]
            for n in range(5)
        ]
    acknowledged: dict[str, str] = {}
    retries = 0
    in_flight = InFlight()
    kills: list[Kill] = []

    async def sell(n: int, http: httpx.AsyncClient) -> None:
        nonlocal retries
        receipt = f"R-{n}"
        body = {"receipt_id": receipt, "member_id": members[n % len(members)], "lines": LINES}
        headers = {**pos, "Idempotency-Key": f"chaos-sale-{n}"}
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            attempt, trace = in_flight.trace(receipt)
            try:
                response = await http.post(
                    "/v1/pos/sales", json=body, headers=headers, extensions={"trace": trace}
                )
            except httpx.TransportError:
                response = None
            finally:
                in_flight.over(attempt)
            if response is not None and response.status_code == 201:
                acknowledged[receipt] = response.json()["sale_id"]
                return
            if response is not None and response.status_code < 500:
                pytest.fail(f"sale {n} refused: {response.status_code} {response.text}")
            retries += 1
            await asyncio.sleep(0.05)
        pytest.fail(f"sale {n} never acknowledged")

    async def client() -> None:
        queue = list(range(SALES))

        async def worker() -> None:
            async with httpx.AsyncClient(base_url=served.base, timeout=10) as http:
                while queue:
                    await sell(queue.pop(0), http)

        await asyncio.gather(*(worker() for _ in range(WORKERS)))

    async def killer() -> None:
        for _ in range(KILLS):
            # Kill while sales are in flight, spread over the first four fifths of the run so
            # that the last kill still has sales left to hit.
            step = SALES * 0.8 / KILLS
            while len(acknowledged) < step * (served.starts - 0.5):  # noqa: ASYNC110
                await asyncio.sleep(0.01)
            await asyncio.sleep(random.uniform(0.0, 0.05))
            waited = time.monotonic() + 5
            while not in_flight.receipts and time.monotonic() < waited:  # noqa: ASYNC110
                await asyncio.sleep(0.001)
            # kill() blocks the event loop until the process is gone: no answer can be read
            # between the signal and the count below.
            at = datetime.now(UTC)
            served.kill()
            kills.append(Kill(at, sorted(set(in_flight.receipts.values()))))
            await asyncio.to_thread(served.start)

    await asyncio.gather(client(), killer())

    assert served.starts == KILLS + 1
    assert len(acknowledged) == SALES
    assert await count(clean_db, "SELECT count(*) FROM sales") == SALES
    assert await count(clean_db, "SELECT count(DISTINCT receipt_id) FROM sales") == SALES
    stored = await count(clean_db, "SELECT array_agg(id::text) FROM sales")
    assert set(acknowledged.values()) == set(stored)
    assert await count(clean_db, "SELECT count(*) FROM points_entries") == SALES
    assert ledger_verify(served.env).startswith("ledger verify:")
    # What each kill hit: a sale recorded before the kill was committed by the killed process
    # (only its answer was lost); one recorded after was cut and recorded again by its retry.
    recorded = dict(await rows(clean_db, "SELECT receipt_id, recorded_at FROM sales"))
    lines = []
    for n, kill in enumerate(kills, start=1):
        cut = [r for r in kill.in_flight if recorded[r] > kill.at]
        lines.append(
            f"kill {n}: {len(kill.in_flight)} sales in flight, {len(cut)} cut before commit and "
            f"recorded again by their retry, {len(kill.in_flight) - len(cut)} committed with "
            "the answer lost"
        )
    report = "\n".join(lines)
    print(
        f"chaos (a): {SALES} sales, {WORKERS} tills, {KILLS} SIGKILLs, {retries} retries\n{report}"
    )
    assert all(kill.in_flight for kill in kills), f"a SIGKILL hit no sale in flight:\n{report}"
    assert any(recorded[r] > k.at for k in kills for r in k.in_flight), (
        f"no SIGKILL cut a sale before its commit:\n{report}"
    )


# (b) PostgreSQL stopped and started under load -------------------------------------------


@pytest.fixture
def throwaway_cluster() -> Iterator[Any]:
    import pgserver

    pgdata = PROJECT_ROOT / ".data" / f"chaos-pg-{uuid.uuid4().hex[:8]}"
    pgdata.mkdir(parents=True)
    server = pgserver.get_server(pgdata, cleanup_mode="delete")  # type: ignore[attr-defined]
    try:
        yield server
    finally:
        server.cleanup()


def stop_cluster(server: Any) -> None:
    from pgserver._commands import pg_ctl

    # Fast shutdown: open sessions are cut, as when a server fails over or restarts.
    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=server.pgdata, user=server.system_user)


@pytest.fixture
async def served_on_throwaway(
    throwaway_cluster: Any, tmp_path: Path
) -> AsyncIterator[tuple[Served, Any]]:
    url = throwaway_cluster.get_uri()
    await migrate(url)
    env = {**os.environ, "DATABASE_URL": url, "LOYALTY_LOG_LEVEL": "WARNING"}
    server = Served(env, log=tmp_path / "service.log")
    server.start()
    try:
        yield server, throwaway_cluster
    finally:
        server.stop()


async def test_a_database_outage_is_503_with_retry_after_and_the_service_recovers_alone(
    served_on_throwaway: tuple[Served, Any],
) -> None:
    served, cluster = served_on_throwaway
    async with httpx.AsyncClient(base_url=served.base, timeout=30) as http:
        pos = await open_till(http, served.env)
        answers: list[tuple[str, int, float, httpx.Response]] = []
        phase = "up"
        stop = False

        async def load(worker: int) -> None:
            n = 0
            while not stop:
                n += 1
                started = time.monotonic()
                response = await http.post(
                    "/v1/pos/sales",
                    json={"receipt_id": f"W{worker}-{n}", "lines": LINES},
                    headers={**pos, "Idempotency-Key": f"pg-{worker}-{n}"},
                )
                answers.append((phase, response.status_code, time.monotonic() - started, response))
                await asyncio.sleep(0.02)

        workers = [asyncio.create_task(load(w)) for w in range(3)]
        try:
            for _ in range(PG_CYCLES):
                await asyncio.sleep(0.5)
                phase = "stopping"
                await asyncio.to_thread(stop_cluster, cluster)
                phase = "down"
                await asyncio.sleep(1.5)
                phase = "starting"
                await asyncio.to_thread(cluster.ensure_postgres_running)
                phase = "up"
                recovered_by = time.monotonic() + 15
                while (  # noqa: ASYNC110
                    not any(p == "up" and s == 201 for p, s, _, _ in answers[-6:])
                    and time.monotonic() < recovered_by
                ):
                    await asyncio.sleep(0.1)
        finally:
            stop = True
            await asyncio.gather(*workers, return_exceptions=True)

    statuses = {s for _, s, _, _ in answers}
    assert served.log is not None
    unexpected = [
        line[:600] for line in served.log.read_text().splitlines() if "unhandled_error" in line
    ]
    assert unexpected == []
    assert 500 not in statuses
    assert statuses <= {201, 503}, statuses
    down = [(s, t, r) for p, s, t, r in answers if p == "down"]
    assert down, "no request reached the service while the database was down"
    assert {s for s, _, _ in down} == {503}
    for _, seconds, response in down:
        assert seconds < 5, "requests fail fast while the database is down"
        assert response.headers["retry-after"].isdigit()
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["code"] == "service_unavailable"
    assert answers[-1][1] == 201, "the service recovered without a restart"
    assert served.starts == 1
    metrics = (await asyncio.to_thread(httpx.get, f"{served.base}/metrics", timeout=10)).text
    assert "loyalty_database_unavailable_total" in metrics
    print(
        f"chaos (b): {PG_CYCLES} outages, {len(answers)} requests, "
        f"{sum(1 for _, s, _, _ in answers if s == 503)} answered 503, none 500"
    )


# (c) A webhook storm -----------------------------------------------------------------------


async def test_a_storm_of_shop_events_three_times_each_shuffled_applies_each_once(
    served: Served, clean_db: str
) -> None:
    async with httpx.AsyncClient(
        base_url=served.base, timeout=60, limits=httpx.Limits(max_connections=24)
    ) as http:
        pos = await open_till(http, served.env)
        member = (
            await http.post(
                "/v1/pos/members",
                json={"phone": "+8613800138000"},
                headers={**pos, "Idempotency-Key": uuid.uuid4().hex},
            )
        ).json()["member_id"]
        orders = EVENTS // 2
        events = []
        for n in range(orders):
            paid = {
                "order_id": f"O{n}",
                "member_id": member,
                "lines": LINES,
                "paid_at": datetime.now(UTC).isoformat(),
            }
            events.append(shop_event("order.paid", paid, event_id=f"evt-paid-{n}"))
            events.append(shop_event("order.completed", {"order_id": f"O{n}"}, f"evt-done-{n}"))
        deliveries = [body for body in events for _ in range(3)]
        random.Random(8).shuffle(deliveries)
        outcomes: dict[str, list[str]] = {}
        gate = asyncio.Semaphore(20)

        async def deliver(body: bytes) -> bool:
            async with gate:
                response = await http.post(
                    "/v1/webhooks/shop", content=body, headers=shop_headers(body)
                )
            event_id = json.loads(body)["id"]
            if response.status_code == 200:
                outcomes.setdefault(event_id, []).append(response.json()["outcome"])
                return True
            # A completion that overtook its order is refused (404) and resent, as shops do.
            assert (response.status_code, response.json()["code"]) == (404, "order_not_found")
            return False

        pending = deliveries
        for _ in range(10):
            results = await asyncio.gather(*(deliver(body) for body in pending))
            pending = [body for body, ok in zip(pending, results, strict=True) if not ok]
            if not pending:
                break

    assert pending == []
    assert len(outcomes) == EVENTS
    assert all(o.count("applied") == 1 for o in outcomes.values()), "each event applied once"
    assert all(set(o) <= {"applied", "duplicate"} for o in outcomes.values())
    assert await count(clean_db, "SELECT count(*) FROM webhook_events") == EVENTS
    assert await count(clean_db, "SELECT count(*) FROM sales WHERE channel = 'web'") == orders
    assert await count(clean_db, "SELECT pending FROM points_accounts") == 0
    assert await count(clean_db, "SELECT available FROM points_accounts") == 250 * orders
    assert await count(clean_db, "SELECT count(*) FROM points_entries") == orders
    assert ledger_verify(served.env).startswith("ledger verify:")
    print(f"chaos (c): {EVENTS} events x 3 = {len(deliveries)} deliveries, each applied once")
