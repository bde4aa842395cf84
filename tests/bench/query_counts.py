"""Round trips to PostgreSQL per request, counted in-process on a scratch database, and the
time a sale takes in-process.

The app runs under Litestar's test client with asyncpg's Connection wrapped to count every
statement it sends (BEGIN, COMMIT and the pool's reset included), one request at a time.
With the profile this says where a request's time goes: each round trip costs the service
its own CPU (asyncpg encoding and decoding, the socket) and a wait.

``timings`` calls the ASGI app directly (no client, no server) for N sequential requests of
each kind and reports wall and CPU milliseconds per request; GET /health is the floor of the
middleware stack. On a shared machine CPU time is noisy too: compare runs made together.

    .venv/bin/python tests/bench/query_counts.py [--timing N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID, uuid4

from asyncpg.connection import Connection
from litestar import Litestar
from litestar.testing import AsyncTestClient

if __name__ == "__main__":  # run as a script: the project's packages sit two levels up
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[2]))

from app.settings import Settings
from app.wiring.asgi import create_app


@contextmanager
def counting() -> Iterator[Counter[str]]:
    counts: Counter[str] = Counter()
    original_execute = Connection.execute
    original_inner = Connection._execute

    async def execute(self: Connection, query: str, *args: Any, **kwargs: Any) -> Any:
        if not args:  # with arguments it goes through _execute, counted there
            counts[" ".join(query.split())[:70]] += 1
        return await original_execute(self, query, *args, **kwargs)

    async def inner(self: Connection, query: str, *args: Any, **kwargs: Any) -> Any:
        counts[" ".join(query.split())[:70]] += 1
        return await original_inner(self, query, *args, **kwargs)

    Connection.execute = execute  # type: ignore[method-assign]
    Connection._execute = inner  # type: ignore[method-assign]
    try:
        yield counts
    finally:
        Connection.execute = original_execute  # type: ignore[method-assign]
        Connection._execute = original_inner  # type: ignore[method-assign]


def _backend_ns(pid: int) -> int:
    """CPU time a PostgreSQL backend has run, in nanoseconds (Linux /proc; 0 elsewhere)."""
    try:
        with open(f"/proc/{pid}/schedstat") as stat:
            return int(stat.read().split()[0])
    except OSError:
        return 0


@contextmanager
def backend_cpu() -> Iterator[Counter[str]]:
    """The database's CPU per statement text (nanoseconds, summed), when the server runs on
    this machine: its backend's run time read before and after each statement. Requests run
    one at a time, so the backend does nothing else meanwhile."""
    spent: Counter[str] = Counter()
    original_execute = Connection.execute
    original_inner = Connection._execute

    async def measured(call: Any, self: Connection, query: str, *args: Any, **kw: Any) -> Any:
        pid = self.get_server_pid()
        before = _backend_ns(pid)
        try:
            return await call(self, query, *args, **kw)
        finally:
            spent[" ".join(query.split())[:70]] += _backend_ns(pid) - before

    async def execute(self: Connection, query: str, *args: Any, **kwargs: Any) -> Any:
        if args:  # with arguments it goes through _execute, measured there
            return await original_execute(self, query, *args, **kwargs)
        return await measured(original_execute, self, query, **kwargs)

    async def inner(self: Connection, query: str, *args: Any, **kwargs: Any) -> Any:
        return await measured(original_inner, self, query, *args, **kwargs)

    Connection.execute = execute  # type: ignore[method-assign]
    Connection._execute = inner  # type: ignore[method-assign]
    try:
        yield spent
    finally:
        Connection.execute = original_execute  # type: ignore[method-assign]
        Connection._execute = original_inner  # type: ignore[method-assign]


def _key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid4())}


async def measure(url: str) -> dict[str, Any]:
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
    app = create_app(Settings(db_pool_min=1, db_pool_max=4), database_url=url)
    async with AsyncTestClient(app=app) as client:
        tokens = app.state.container.tokens
        admin = {"authorization": f"Bearer {tokens.issue_admin_token('bench').token}"}
        store = (
            await client.post(
                "/v1/admin/stores", json={"code": "Q", "name": "Q"}, headers={**admin, **_key()}
            )
        ).json()
        terminal = (
            await client.post(
                "/v1/admin/terminals",
                json={"store_id": store["store_id"], "code": "T"},
                headers={**admin, **_key()},
            )
        ).json()
        login = await client.post(
            "/v1/auth/terminal-token",
            json={"terminal_id": terminal["terminal_id"], "secret": terminal["secret"]},
        )
        pos = {"authorization": f"Bearer {login.json()['access_token']}"}
        member = (
            await client.post(
                "/v1/pos/members", json={"phone": "+8613900000001"}, headers={**pos, **_key()}
            )
        ).json()
        template = (
            await client.post(
                "/v1/admin/coupon-templates",
                json={"name": "Q", "kind": "fixed", "value": 100, "valid_days": 30},
                headers={**admin, **_key()},
            )
        ).json()
        issued = (
            await client.post(
                "/v1/admin/coupons/issue",
                json={"template_id": template["id"], "member_ids": [member["member_id"]]},
                headers={**admin, **_key()},
            )
        ).json()
        member_token = tokens.issue_member_token(UUID(member["member_id"])).token
        me = {"authorization": f"Bearer {member_token}"}
        line = {"sku": "TOWEL", "quantity": 2, "unit_price": 12500}

        def sale(n: int, **extra: Any) -> dict[str, Any]:
            return {
                "receipt_id": f"Q{n}",
                "member_id": member["member_id"],
                "lines": [line, {**line, "sku": "MUG"}],
                **extra,
            }

        await client.post("/v1/pos/sales", json=sale(0), headers={**pos, **_key()})  # warm-up
        requests: list[tuple[str, str, str, dict[str, Any] | None, dict[str, str]]] = [
            ("sale with a member", "POST", "/v1/pos/sales", sale(1), pos),
            ("sale with a coupon", "POST", "/v1/pos/sales",
             sale(2, coupon_codes=[issued["issued"][0]["code"]]), pos),
            ("sale redeeming points", "POST", "/v1/pos/sales", sale(3, redeem_points=100), pos),
            ("guest sale", "POST", "/v1/pos/sales",
             {"receipt_id": "Q4", "lines": [line]}, pos),
            ("member lookup by card", "GET",
             f"/v1/pos/members/lookup?card_number={member['card_number']}", None, pos),
            ("GET /v1/me", "GET", "/v1/me", None, me),
        ]  # fmt: skip
        results: dict[str, Any] = {}
        for label, method, path, body, headers in requests:
            with counting() as counts:
                if method == "POST":
                    response = await client.post(path, json=body, headers={**headers, **_key()})
                else:
                    response = await client.get(path, headers=headers)
            if response.status_code >= 300:
                raise RuntimeError(f"{label}: {response.status_code} {response.text[:300]}")
            results[label] = {
                "round_trips": sum(counts.values()),
                "statements": dict(counts.most_common()),
            }
    return results


async def _call(
    app: Litestar, method: str, path: str, headers: dict[str, str], body: Any = None
) -> tuple[int, bytes]:
    """One request straight into the ASGI app, as a server would hand it over."""
    raw = json.dumps(body).encode() if body is not None else b""
    fields = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    if body is not None:
        fields += [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(raw))]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": fields,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    received = False
    answer: dict[str, Any] = {"status": 0, "body": b""}

    async def receive() -> dict[str, Any]:
        nonlocal received
        if not received:
            received = True
            return {"type": "http.request", "body": raw, "more_body": False}
        await asyncio.Event().wait()  # never disconnects
        raise AssertionError

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
        elif message["type"] == "http.response.body":
            answer["body"] += message.get("body", b"")

    await app(scope, receive, send)  # type: ignore[arg-type]
    return answer["status"], answer["body"]


async def timings(url: str, requests: int = 500) -> dict[str, Any]:
    """Wall and CPU ms per request, ``requests`` sequential requests of each kind after a
    warm-up, the ASGI app called directly in this process (its jobs not started)."""
    logging.disable(logging.CRITICAL)
    # As the bench serves it (LOYALTY_LOG_LEVEL=WARNING: no access line per request).
    settings = Settings(db_pool_min=1, db_pool_max=4, jobs_in_process=False, log_level="WARNING")
    app = create_app(settings, database_url=url)
    to_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    from_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    lifespan = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    running = asyncio.create_task(app(lifespan, to_app.get, from_app.put))  # type: ignore[arg-type]
    await to_app.put({"type": "lifespan.startup"})
    started = await from_app.get()
    if started["type"] != "lifespan.startup.complete":
        raise RuntimeError(f"the app did not start: {started}")
    try:
        tokens = app.state.container.tokens
        admin = {"authorization": f"Bearer {tokens.issue_admin_token('bench').token}"}

        async def post(path: str, body: Any, headers: dict[str, str]) -> Any:
            status, answer = await _call(app, "POST", path, {**headers, **_key()}, body)
            if status >= 300:
                raise RuntimeError(f"{path}: {status} {answer[:300]!r}")
            return json.loads(answer)

        store = await post("/v1/admin/stores", {"code": "T", "name": "T"}, admin)
        terminal = await post(
            "/v1/admin/terminals", {"store_id": store["store_id"], "code": "T"}, admin
        )
        login = await post(
            "/v1/auth/terminal-token",
            {"terminal_id": terminal["terminal_id"], "secret": terminal["secret"]},
            {},
        )
        pos = {"authorization": f"Bearer {login['access_token']}"}
        members = [
            (await post("/v1/pos/members", {"phone": f"+86137{n:08d}"}, pos))["member_id"]
            for n in range(20)
        ]
        line = {"sku": "TOWEL", "quantity": 2, "unit_price": 12500}
        receipts = iter(range(10**9))

        def sale(member: bool = True, **extra: Any) -> dict[str, Any]:
            n = next(receipts)
            body: dict[str, Any] = {"receipt_id": f"T{n}", "lines": [line, {**line, "sku": "M"}]}
            if member:
                body["member_id"] = members[n % len(members)]
            return {**body, **extra}

        kinds: dict[str, Any] = {
            "GET /health (the floor)": lambda: ("GET", "/health", {}, None),
            "sale with a member": lambda: ("POST", "/v1/pos/sales", pos, sale()),
            "sale redeeming points": lambda: (
                "POST", "/v1/pos/sales", pos, sale(redeem_points=10)
            ),
            "guest sale": lambda: ("POST", "/v1/pos/sales", pos, sale(member=False)),
        }  # fmt: skip
        for _ in range(100):  # warm-up: caches, prepared statements, points to redeem
            await post("/v1/pos/sales", sale(), pos)
        results: dict[str, Any] = {}
        for label, make in kinds.items():
            walls: list[float] = []
            cpus: list[float] = []
            with backend_cpu() as backend:
                for _ in range(requests):
                    method, path, headers, body = make()
                    headers = {**headers, **_key()} if method == "POST" else headers
                    wall, cpu = time.perf_counter(), time.process_time()
                    status, answer = await _call(app, method, path, headers, body)
                    walls.append(time.perf_counter() - wall)
                    cpus.append(time.process_time() - cpu)
                    if status >= 300:
                        raise RuntimeError(f"{label}: {status} {answer[:300]!r}")
            results[label] = {
                "requests": requests,
                "wall_ms_mean": round(1000 * statistics.mean(walls), 2),
                "wall_ms_p50": round(1000 * statistics.median(walls), 2),
                "cpu_ms_mean": round(1000 * statistics.mean(cpus), 2),
                "postgres_cpu_ms_mean": round(sum(backend.values()) / requests / 1e6, 3),
                "postgres_cpu_ms_by_statement": {
                    text: round(ns / requests / 1e6, 3) for text, ns in backend.most_common()
                },
            }
        return results
    finally:
        await to_app.put({"type": "lifespan.shutdown"})
        await from_app.get()
        await running
        logging.disable(logging.NOTSET)


def main() -> int:
    from adapters.persistence.migrate import migrate
    from tests.support.database import create_test_database, drop_test_database

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timing", type=int, default=0, help="N requests of each kind; 0: none")
    parser.add_argument(
        "--statements", action="store_true", help="also print each request's statements"
    )
    args = parser.parse_args()

    async def run() -> None:
        database = await create_test_database()
        try:
            await migrate(database.url)
            for label, counted in (await measure(database.url)).items():
                print(f"{label:<28} {counted['round_trips']:>3} statements")
                if args.statements:
                    for text, times in counted["statements"].items():
                        print(f"    {times} x {text}")
            if args.timing:
                for label, timed in (await timings(database.url, args.timing)).items():
                    print(
                        f"{label:<28} wall {timed['wall_ms_mean']:7.2f} ms "
                        f"(p50 {timed['wall_ms_p50']:.2f}), CPU {timed['cpu_ms_mean']:6.2f} ms, "
                        f"PostgreSQL CPU {timed['postgres_cpu_ms_mean']:6.3f} ms"
                    )
                    if args.statements:
                        for text, ms in timed["postgres_cpu_ms_by_statement"].items():
                            print(f"    {ms:6.3f} ms  {text}")
        finally:
            await drop_test_database(database)

    asyncio.run(run())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
