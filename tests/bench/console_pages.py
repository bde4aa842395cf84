"""Server time of every console page at 100,000 members, and of member search at 1,000,000
(issue #18, item 6): a benchmark that prints figures, not a timed test.

    .venv/bin/python tests/bench/console_pages.py [--members 100000] [--search-members 1000000]
        [--requests 30] [--sales-per-member 3]

On a scratch database (dropped at the end) it seeds the programme set-based
(tests/bench/console_seed.py), runs the snapshot jobs (score-rfm, snapshot-dashboard) and
ANALYZE, logs an owner in through the login form, then calls the ASGI app directly (no
client, no socket: the figure is the service's own work plus its waits for PostgreSQL) for
every GET route under /console, enumerated from the application so a new page is never
forgotten. Routes that need a value in their path or query take it from SAMPLES; a route with
a path parameter SAMPLES does not know is listed as "no sample" (add one). Then it seeds the
members up to --search-members and times member search.

Per route: p50 and p95 of the wall time, CPU of this process per request (median), the
statements sent, and PASS or over against 100 ms at p95. CSV exports are listed apart: they
stream whole lists and are not pages. The machine's load (/proc/loadavg, and the CPU other
processes took during the run from /proc/stat) is printed with the table: on 2 shared cores
the wall time of a request includes the wait for a core.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import math
import os
import re
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
import httpx  # noqa: E402

from adapters.persistence.console_snapshots import snapshot_dashboard  # noqa: E402
from adapters.persistence.crm_reports import snapshot_rfm  # noqa: E402
from adapters.persistence.migrate import migrate  # noqa: E402
from app.scheduling import DASHBOARD_DAYS  # noqa: E402
from app.settings import Settings  # noqa: E402
from app.use_cases.staff import CreateStaff, SetPassword, create_staff, set_password  # noqa: E402
from app.wiring.asgi import create_app  # noqa: E402
from domain.crm import DEFAULT_WINDOW_DAYS  # noqa: E402
from domain.staff import StaffRole  # noqa: E402
from tests.bench.console_seed import CARDS, seed  # noqa: E402
from tests.bench.query_counts import counting  # noqa: E402
from tests.support.database import create_test_database, drop_test_database  # noqa: E402

LIMIT_MS = 100.0
PASSWORD = "bench console password"
# Pages a logged-in owner does not time: the login flow, static files, the language switch.
PUBLIC = {"console.login", "console.totp", "console.set_password", "console.language",
          "console.static"}  # fmt: skip
# Query strings for routes that need one to show something real.
QUERIES = {
    "console.crm.cell": "r={r}&f={f}",
    "console.crm.cell_csv": "r={r}&f={f}",
    "console.campaigns.sent": "key=bench",
    "console.members.search": "q=%2B8613000004242",
}
# Members past --members, for member search only: names of a surname and two characters
# (20 x 40 x 40 = 32,000 names, about 28 members each at 1,000,000), as real names repeat;
# "Member <n>" for all of them would make every name share its trigrams.
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
FIRST = "秀桂英华玉兰芳娟敏静丽强磊军洋勇艳杰涛明超霞平刚燕辉鹏建国文晓红亮宇飞鑫波斌宁海"
SECOND = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍辉鹏建国文晓红亮宇飞鑫波斌"
# $1 members so far, $2 now, $3 members wanted, $4-$6 the characters above.
_MORE_MEMBERS = """
INSERT INTO members (id, phone, name, tier_code, enrolled_at, region)
SELECT md5('seed-member-' || i)::uuid, '+8613' || lpad(i::text, 9, '0'),
       (string_to_array($4, NULL))[1 + i % 20] || (string_to_array($5, NULL))[1 + (i / 20) % 40]
       || (string_to_array($6, NULL))[1 + (i / 800) % 40],
       'member', $2::timestamptz - make_interval(days => i % 400), NULL
FROM generate_series($1::int + 1, $3::int) AS i
"""
# Member search at the large size: each way the page finds a member.
SEARCHES = {
    "phone": "q=%2B8613000424242&by=phone",
    "card number": "q=6000000000424242&by=card_number",
    "full name (about 28 match)": f"q={quote('王秀伟')}&by=name",
    "part of a name (about 560 match)": f"q={quote('秀伟')}&by=name",
    "an old name, Member 4242 (one)": "q=Member%204242&by=name",
    "guess from the text (a phone)": "q=%2B8613000424242",
}


@dataclass
class Timing:
    label: str
    status: int
    walls_ms: list[float]
    cpu_ms: list[float]
    statements: int

    @property
    def p50(self) -> float:
        return statistics.median(self.walls_ms)

    @property
    def p95(self) -> float:
        ordered = sorted(self.walls_ms)
        return ordered[math.ceil(0.95 * len(ordered)) - 1]  # nearest rank


def _cpu_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _own_ticks() -> int:
    stat = Path(f"/proc/{os.getpid()}/stat").read_text().rsplit(")", 1)[1].split()
    return int(stat[11]) + int(stat[12])  # utime + stime


async def _call(app: Any, path: str, query: str, cookie: str) -> tuple[int, int]:
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
        "headers": [(b"cookie", cookie.encode()), (b"host", b"127.0.0.1:8000")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    status = 0
    size = 0

    received = False
    finished = asyncio.Event()

    async def receive() -> dict[str, Any]:
        # A streamed answer listens for the client's disconnect: the client goes once it has
        # the whole body, as a browser does.
        nonlocal received
        if received:
            await finished.wait()
            return {"type": "http.disconnect"}
        received = True
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, size
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            size += len(message.get("body", b""))
            if not message.get("more_body", False):
                finished.set()

    await app(scope, receive, send)
    return status, size


async def _time(app: Any, label: str, path: str, query: str, cookie: str, n: int) -> Timing:
    with counting() as counts:
        status, _ = await _call(app, path, query, cookie)
    for _ in range(2):  # warm-up: prepared statements, template cache
        await _call(app, path, query, cookie)
    walls, cpus = [], []
    for _ in range(n):
        cpu = time.process_time()
        wall = time.perf_counter()
        await _call(app, path, query, cookie)
        walls.append((time.perf_counter() - wall) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    return Timing(label, status, walls, cpus, sum(counts.values()))


async def _owner_cookie(app: Any, client: httpx.AsyncClient) -> str:
    container = app.state.container
    async with container.uow() as uow:
        link = await create_staff(
            CreateStaff("bench.owner@example.com", StaffRole.OWNER, "bench", "Bench"),
            uow,
            container.staff,
        )
        await uow.commit()
    async with container.uow() as uow:
        await set_password(SetPassword(link.token, PASSWORD), uow, container.staff)
        await uow.commit()
    page = await client.get("/console/login")
    csrf = re.search(r'name="_csrf" value="([0-9a-f]*)"', page.text)
    assert csrf
    answer = await client.post(
        "/console/login",
        data={"_csrf": csrf.group(1), "email": "bench.owner@example.com", "password": PASSWORD},
    )
    assert answer.status_code == 303, answer.text
    return "; ".join(f"{k}={v}" for k, v in client.cookies.items())


def _routes(app: Any) -> list[tuple[str, str]]:
    """(operation id, path) of every GET route under /console, in the app's order."""
    found = []
    for route in app.routes:
        if not route.path.startswith("/console"):
            continue
        for handler in route.route_handlers:
            if "GET" in handler.http_methods and handler.operation_id not in PUBLIC:
                found.append((str(handler.operation_id), route.path))
    return found


def _table(title: str, rows: list[Timing]) -> None:
    print(f"\n{title}")
    print(f"| {'page':<44} | status | stmts | p50 ms | p95 ms | CPU ms | 100 ms |")
    print(f"|{'-' * 46}|--------|-------|--------|--------|--------|--------|")
    for t in rows:
        mark = "PASS" if t.p95 < LIMIT_MS else "over"
        if t.status != 200:
            mark = f"{mark}!"  # not a normal answer: look at the page
        print(
            f"| {t.label:<44} | {t.status:>6} | {t.statements:>5} | {t.p50:>6.1f} | "
            f"{t.p95:>6.1f} | {statistics.median(t.cpu_ms):>6.1f} | {mark:>6} |"
        )


async def run(args: argparse.Namespace) -> None:
    logging.disable(logging.WARNING)
    database = await create_test_database()
    try:
        await migrate(database.url)
        now = datetime.now(UTC)
        connection = await asyncpg.connect(database.url)
        started = time.perf_counter()
        await seed(
            connection,
            members=args.members,
            sales_per_member=args.sales_per_member,
            now=now,
            days=400,
        )
        print(f"seeded {args.members:,} members, {args.members * args.sales_per_member:,} sales "
              f"in {time.perf_counter() - started:.0f} s")  # fmt: skip
        started = time.perf_counter()
        today = now.astimezone(ZoneInfo("Asia/Shanghai")).date()
        await snapshot_rfm(
            connection, zone="Asia/Shanghai", as_of=today, window_days=DEFAULT_WINDOW_DAYS,
            now=now,
        )  # fmt: skip
        rfm_s = time.perf_counter() - started
        started = time.perf_counter()
        await snapshot_dashboard(connection, now, days=DASHBOARD_DAYS)
        dashboard_s = time.perf_counter() - started
        started = time.perf_counter()
        await snapshot_dashboard(connection, now, days=DASHBOARD_DAYS)
        again_s = time.perf_counter() - started
        await connection.execute("ANALYZE")
        print(f"jobs: score-rfm {rfm_s:.1f} s; snapshot-dashboard first run {dashboard_s:.1f} s, "
              f"next run (two days rewritten) {again_s:.1f} s")  # fmt: skip
        cell = await connection.fetchrow(
            "SELECT r, f FROM member_rfm_scores GROUP BY r, f ORDER BY count(*) DESC LIMIT 1"
        )
        member_id = await connection.fetchval(
            "SELECT md5('seed-member-' || least(4242, $1::int))::uuid", args.members
        )
        samples = {"member_id": str(member_id)}

        app = create_app(
            Settings(db_pool_min=1, db_pool_max=4, log_level="WARNING"), database_url=database.url
        )
        load_before = _load()
        busy0, total0 = _cpu_ticks()
        own0 = _own_ticks()
        async with (
            app.lifespan(),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8000"
            ) as client,
        ):
            cookie = await _owner_cookie(app, client)
            pages: list[Timing] = []
            exports: list[Timing] = []
            missing: list[str] = []
            for operation, template in _routes(app):
                params = re.findall(r"{(\w+)(?::\w+)?}", template)
                if any(p not in samples for p in params):
                    missing.append(f"{operation} ({template})")
                    continue
                path = re.sub(r"{(\w+)(?::\w+)?}", lambda m: samples[m.group(1)], template)
                query = QUERIES.get(operation, "").format(r=cell["r"], f=cell["f"])
                export = template.endswith(".csv")
                n = max(3, args.requests // 10) if export else args.requests
                label = f"{template}{'?' + query if query else ''}"[:44]
                timing = await _time(app, label, path, query, cookie, n)
                (exports if export else pages).append(timing)
            busy1, total1 = _cpu_ticks()
            own1 = _own_ticks()

            others = (busy1 - busy0) - (own1 - own0)
            elapsed = total1 - total0
            print(
                f"\nmachine: {os.cpu_count()} cores; load average before {load_before}, "
                f"after {_load()}"
            )
            print(
                f"during the page timings the cores were {100 * (busy1 - busy0) / elapsed:.0f}%"
                f" busy; processes other than this one (PostgreSQL included) took "
                f"{100 * others / elapsed:.0f}% of the machine"
            )
            _table(f"Console pages at {args.members:,} members ({args.requests} requests each, "
                   "logged in as owner)", pages)  # fmt: skip
            _table("CSV exports (whole lists, streamed: not pages)", exports)
            if missing:
                print("\nno sample for a path parameter, not timed: " + ", ".join(missing))

            if args.search_members > args.members:
                started = time.perf_counter()
                await connection.execute(
                    _MORE_MEMBERS, args.members, now, args.search_members, SURNAMES, FIRST, SECOND
                )
                await connection.execute(CARDS, args.members + 1, args.search_members)
                await connection.execute("ANALYZE members")
                print(f"\nseeded members up to {args.search_members:,} in "
                      f"{time.perf_counter() - started:.0f} s")  # fmt: skip
                searches = [
                    await _time(app, f"search: {label}"[:44], "/console/members", query, cookie,
                                args.requests)
                    for label, query in SEARCHES.items()
                ]  # fmt: skip
                _table(f"Member search at {args.search_members:,} members", searches)
                print(f"load average after: {_load()}")
        await connection.close()
    finally:
        await drop_test_database(database)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--search-members", type=int, default=1_000_000)
    parser.add_argument("--sales-per-member", type=int, default=3)
    parser.add_argument("--requests", type=int, default=30)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
