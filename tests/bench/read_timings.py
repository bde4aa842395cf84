"""The till's and the app's reads timed in-process, one request at a time (issue #7).

`python tests/bench/read_timings.py [--requests N] [--log-level WARNING]` builds the app on a
scratch database, seeds one member with a coupon, then calls the ASGI app directly (no HTTP
client, no socket: what is timed is the service's own work) N times per request kind and
prints, per kind: statements sent to PostgreSQL, wall µs and CPU µs of this process per
request. CPU time is the figure that matters on a CPU-bound server: PostgreSQL runs in its own
process, so the wall time minus the CPU time is mostly the wait for it.

Two extra routes give the framework's floor under the same middleware: `/bench/floor` (no
auth) and `/v1/pos/bench-floor` (the POS check, a token verified), each answering a constant.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import logging
import os
import pstats
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from litestar import Router, get  # noqa: E402

from adapters.http.auth import require_role  # noqa: E402
from adapters.persistence.migrate import migrate  # noqa: E402
from app.principal import Role  # noqa: E402
from app.settings import Settings  # noqa: E402
from app.wiring.asgi import create_app  # noqa: E402
from tests.bench.query_counts import counting  # noqa: E402
from tests.support.database import create_test_database, drop_test_database  # noqa: E402


@get("/bench/floor", include_in_schema=False, sync_to_thread=False)
def floor() -> dict[str, str]:
    return {"ok": "yes"}


@get("/bench-floor", include_in_schema=False, sync_to_thread=False)
def pos_floor() -> dict[str, str]:
    return {"ok": "yes"}


def _key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid4())}


async def _call(app: Any, path: str, query: str, headers: list[tuple[bytes, bytes]]) -> int:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query.encode(),
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    status = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def measure(
    url: str, requests: int, rounds: int, log_level: str, profile: str | None = None
) -> dict[str, Any]:
    logging.getLogger("httpx").setLevel(logging.WARNING)
    app = create_app(Settings(db_pool_min=1, db_pool_max=4, log_level=log_level), database_url=url)
    app.register(floor)
    app.register(
        Router("/v1/pos", route_handlers=[pos_floor], before_request=require_role(Role.POS))
    )
    # The app's lifespan runs in this event loop, so the pool it opens serves the direct calls
    # below (Litestar's test client would run the app on a loop of its own, in a thread).
    async with (
        app.lifespan(),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client,
    ):
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
        pos_token = login.json()["access_token"]
        member = (
            await client.post(
                "/v1/pos/members",
                json={"phone": "+8613900000001"},
                headers={"authorization": f"Bearer {pos_token}", **_key()},
            )
        ).json()
        template = (
            await client.post(
                "/v1/admin/coupon-templates",
                json={"name": "Q", "kind": "fixed", "value": 100, "valid_days": 30},
                headers={**admin, **_key()},
            )
        ).json()
        await client.post(
            "/v1/admin/coupons/issue",
            json={"template_id": template["id"], "member_ids": [member["member_id"]]},
            headers={**admin, **_key()},
        )
        member_token = tokens.issue_member_token(UUID(member["member_id"]), 7200).token

        def card_token() -> str:
            codec = app.state.container.card_tokens
            clock = app.state.container.clock
            return str(codec.issue(UUID(member["member_id"]), clock.now()).token)

        pos = [(b"authorization", f"Bearer {pos_token}".encode())]
        me = [(b"authorization", f"Bearer {member_token}".encode())]
        kinds: list[tuple[str, str, Any, list[tuple[bytes, bytes]]]] = [
            ("floor, no auth", "/bench/floor", "", []),
            ("floor, POS token", "/v1/pos/bench-floor", "", pos),
            (
                "lookup by card",
                "/v1/pos/members/lookup",
                f"card_number={member['card_number']}",
                pos,
            ),
            ("lookup by phone", "/v1/pos/members/lookup", "phone=%2B8613900000001", pos),
            ("lookup by card_token", "/v1/pos/members/lookup", None, pos),
            ("GET /v1/me", "/v1/me", "", me),
        ]
        queries: dict[str, Callable[[], str]] = {}
        results: dict[str, Any] = {}
        for label, path, query, headers in kinds:

            def query_of(q: Any = query) -> str:
                return q if q is not None else f"card_token={card_token()}"

            queries[label] = query_of
            with counting() as counts:
                status = await _call(app, path, query_of(), headers)
            if status != 200:
                raise RuntimeError(f"{label}: {status}")
            for _ in range(50):  # warm-up: prepared statements, caches
                await _call(app, path, query_of(), headers)
            results[label] = {
                "statements": sum(counts.values()),
                "statement_list": dict(counts.most_common()),
                "cpu_us_rounds": [],
                "walls": [],
            }
        # Rounds interleave the kinds, so that a burst of load from other processes spreads
        # over all of them; the least CPU a round took is the figure least disturbed by it.
        per_round = max(1, requests // rounds)
        for _ in range(rounds):
            for label, path, _query, headers in kinds:
                query_of = queries[label]
                walls = results[label]["walls"]
                gc.collect()
                profiler = (
                    cProfile.Profile(time.process_time) if profile and profile == label else None
                )
                if profiler:
                    profiler.enable()
                cpu_started = time.process_time()
                for _ in range(per_round):
                    started = time.perf_counter()
                    await _call(app, path, query_of(), headers)
                    walls.append(time.perf_counter() - started)
                cpu = time.process_time() - cpu_started
                if profiler:
                    profiler.disable()
                    profiler.dump_stats("/tmp/read_timings_profile.out")
                    stats = pstats.Stats(profiler, stream=sys.stdout)
                    stats.sort_stats("tottime").print_stats(45)
                    profile = None
                results[label]["cpu_us_rounds"].append(round(cpu / per_round * 1e6))
        for result in results.values():
            walls = result.pop("walls")
            cpus = result["cpu_us_rounds"]
            result["wall_p50_us"] = round(statistics.median(walls) * 1e6)
            result["cpu_us_min"] = min(cpus)
            result["cpu_us_median"] = round(statistics.median(cpus))
    return results


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    # `loyalty serve` runs on uvloop (uvicorn's "auto" picks it when installed, as it is).
    parser.add_argument("--loop", choices=["uvloop", "asyncio"], default="uvloop")
    parser.add_argument("--log-level", default="WARNING")
    parser.add_argument("--profile", help="cProfile the kind with this label")
    parser.add_argument("--statements", action="store_true", help="list each kind's statements")
    return parser.parse_args()


async def main(args: argparse.Namespace) -> None:
    database = await create_test_database()
    # The service's log lines go nowhere: the bench's server writes them to a pipe nobody reads.
    stderr = sys.stderr
    try:
        await migrate(database.url)
        with open(os.devnull, "w") as sys.stderr:  # noqa: ASYNC230 (once, for the whole run)
            results = await measure(
                database.url, args.requests, args.rounds, args.log_level, args.profile
            )
    finally:
        sys.stderr = stderr
        await drop_test_database(database)
    print(f"{'request':<24} {'stmts':>5} {'p50 wall µs':>11} {'CPU µs min':>10} {'median':>7}")
    for label, r in results.items():
        print(
            f"{label:<24} {r['statements']:>5} {r['wall_p50_us']:>11} {r['cpu_us_min']:>10}"
            f" {r['cpu_us_median']:>7}"
        )
        if args.statements:
            for statement, n in r["statement_list"].items():
                print(f"      {n} x {statement}")
    print(f"load average: {os.getloadavg()}", flush=True)


if __name__ == "__main__":
    arguments_given = arguments()
    if arguments_given.loop == "uvloop":
        import uvloop

        uvloop.run(main(arguments_given))
    else:
        asyncio.run(main(arguments_given))
