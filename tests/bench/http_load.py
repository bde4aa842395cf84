"""HTTP load against a served process: POS sales, member lookups and GET /v1/me.

The service runs as `loyalty serve` in its own process on a scratch database; the load comes
from wrk (another process) with the Lua scripts in tests/bench/lua. Members are seeded in SQL
(100,000 by default); coupons through the admin API (template + issue, as an operator would);
points by recording one large sale per redeeming member through the POS API.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
LUA = ROOT / "tests" / "bench" / "lua"
THREADS = 2
CONNECTIONS = 32
TERMINALS = CONNECTIONS
REDEEM_POINTS = 100
SEED_SALE_PRICE = 1_000_000  # 10,000.00: 10,000 points at the default earn rate

from adapters.system import SystemClock  # noqa: E402
from app.settings import Settings  # noqa: E402
from app.wiring.composition import build_tokens  # noqa: E402
from domain.cards import CARD_PREFIX, luhn_check_digit  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Seeded:
    member_ids: list[str]
    phones: list[str]
    cards: list[str]


async def seed_members(url: str, count: int) -> Seeded:
    """Members, their active cards and empty points accounts, by COPY (seconds for 100,000)."""
    rng = random.Random(7)
    now = datetime.now(UTC)
    ids = [uuid4() for _ in range(count)]
    phones = [f"+8613{n:09d}" for n in range(count)]
    cards = []
    for n in range(count):
        payload = f"{CARD_PREFIX}{rng.randrange(10**13):013d}{n % 10}"
        cards.append(payload + luhn_check_digit(payload))
    connection = await asyncpg.connect(url)
    try:
        await connection.copy_records_to_table(
            "members",
            records=[(i, p, "member", now) for i, p in zip(ids, phones, strict=True)],
            columns=["id", "phone", "tier_code", "enrolled_at"],
        )
        await connection.copy_records_to_table(
            "member_cards",
            records=[(c, i, "active", now) for c, i in zip(cards, ids, strict=True)],
            columns=["card_number", "member_id", "status", "issued_at"],
        )
        await connection.copy_records_to_table(
            "points_accounts", records=[(i, now) for i in ids], columns=["member_id", "updated_at"]
        )
        await connection.execute("ANALYZE members; ANALYZE member_cards; ANALYZE points_accounts")
    finally:
        await connection.close()
    return Seeded([str(i) for i in ids], phones, cards)


@asynccontextmanager
async def served(url: str, workers: int) -> AsyncIterator[tuple[str, subprocess.Popen[str]]]:
    env = {**os.environ, "DATABASE_URL": url, "LOYALTY_LOG_LEVEL": "WARNING"}
    port = free_port()
    process = subprocess.Popen(  # noqa: ASYNC220 (started once, before the load)
        [str(BIN / "loyalty"), "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        async with httpx.AsyncClient() as client:
            while True:
                try:
                    if (await client.get(f"{base}/health", timeout=1)).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the service did not start: {process.stderr}")
                await asyncio.sleep(0.2)
        yield base, process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


async def _post(client: httpx.AsyncClient, path: str, body: Any, headers: dict[str, str]) -> Any:
    response = await client.post(
        path, json=body, headers={**headers, "Idempotency-Key": str(uuid4())}
    )
    if response.status_code not in (200, 201):
        raise RuntimeError(f"POST {path}: {response.status_code} {response.text[:300]}")
    return response.json()


async def prepare(
    base: str, seeded: Seeded, *, coupons: int, redeemers: int, member_tokens: int
) -> dict[str, Any]:
    """Store, terminal, POS token; coupons issued and points earned through the API."""
    settings = Settings.from_env()
    tokens = build_tokens(settings, SystemClock())
    admin = {"authorization": f"Bearer {tokens.issue_admin_token('bench', 7200).token}"}
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:
        store = await _post(client, "/v1/admin/stores", {"code": "BENCH", "name": "Bench"}, admin)
        # One terminal per connection, as the issue has it: 32 tills, not one till 32 times
        # over (a single till would also meet its own coupon-code rate limit within seconds).
        pos_tokens = []
        for n in range(TERMINALS):
            terminal = await _post(
                client,
                "/v1/admin/terminals",
                {"store_id": store["store_id"], "code": f"T{n + 1}"},
                admin,
            )
            login = await client.post(
                "/v1/auth/terminal-token",
                json={"terminal_id": terminal["terminal_id"], "secret": terminal["secret"]},
            )
            pos_tokens.append(login.json()["access_token"])
        pos_token = pos_tokens[0]
        pos = {"authorization": f"Bearer {pos_token}"}

        rng = random.Random(11)
        chosen = rng.sample(seeded.member_ids, coupons + redeemers)
        coupon_members, redeemer_ids = chosen[:coupons], chosen[coupons:]
        codes: list[tuple[str, str]] = []
        if coupons:
            template = await _post(
                client,
                "/v1/admin/coupon-templates",
                {"name": "Bench 1.00 off", "kind": "fixed", "value": 100, "valid_days": 30},
                admin,
            )
            for start in range(0, coupons, 1000):
                issued = await _post(
                    client,
                    "/v1/admin/coupons/issue",
                    {
                        "template_id": template["id"],
                        "member_ids": coupon_members[start : start + 1000],
                    },
                    admin,
                )
                codes.extend((c["member_id"], c["code"]) for c in issued["issued"])

        semaphore = asyncio.Semaphore(16)

        async def earn(member_id: str) -> None:
            async with semaphore:
                await _post(
                    client,
                    "/v1/pos/sales",
                    {
                        "receipt_id": f"SEED-{member_id}",
                        "member_id": member_id,
                        "lines": [{"sku": "SEED", "quantity": 1, "unit_price": SEED_SALE_PRICE}],
                    },
                    pos,
                )

        await asyncio.gather(*(earn(m) for m in redeemer_ids))
    tokens_for = seeded.member_ids[:member_tokens]
    return {
        "run": uuid4().hex[:8],
        "pos_tokens": pos_tokens,
        "members": seeded.member_ids,
        "cards": seeded.cards,
        "phones": seeded.phones,
        "coupons": codes,
        "redeemers": redeemer_ids,
        "redeem_points": REDEEM_POINTS,
        "member_tokens": [tokens.issue_member_token(UUID(m), 7200).token for m in tokens_for],
    }


async def analyze(url: str) -> None:
    """Fresh planner statistics for what the preparation wrote (coupons, sales, lots), as
    autovacuum would have gathered them on a server that had been running: without them the
    planner takes the issued coupons for a handful of rows and reads every available coupon
    on each lookup (0.65 ms a lookup on this machine)."""
    connection = await asyncpg.connect(url)
    try:
        await connection.execute("ANALYZE")
    finally:
        await connection.close()


def _lua_value(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string of ASCII is a valid Lua string
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list | tuple):
        return "{" + ",".join(_lua_value(v) for v in value) + "}"
    raise TypeError(type(value))


def write_lua_data(data: dict[str, Any], path: Path) -> None:
    fields = ",\n".join(f"  {key} = {_lua_value(value)}" for key, value in data.items())
    path.write_text("return {\n" + fields + "\n}\n")


HAVE_PROC = Path("/proc/self/stat").exists()


def _cpu_ticks(pid: int) -> int:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


async def _backends(url: str) -> list[int]:
    connection = await asyncpg.connect(url)
    try:
        rows = await connection.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid()"
        )
    finally:
        await connection.close()
    return [row["pid"] for row in rows]


async def measured_load(
    url: str, server_pid: int, base: str, script: str, seconds: float, data_file: Path
) -> dict[str, Any]:
    """run_wrk, plus where the machine's CPU went meanwhile: the service's processes and the
    database's backends, in CPU milliseconds per request (from /proc; Linux only). A sampling
    profiler cannot tell this on a saturated machine: a process that wakes PostgreSQL is
    often preempted right there, and the sample lands on the statement it was sending."""
    return await _with_cpu(url, server_pid, lambda: run_wrk(base, script, seconds, data_file))


async def measured_steady(
    url: str, server_pid: int, base: str, kind: str, rate: float, seconds: float, data: Any
) -> dict[str, Any]:
    """steady_load.py at ``rate`` requests a second (open loop), with the CPU per request as
    measured_load reports it."""
    with tempfile.NamedTemporaryFile("w", suffix=".json") as file:
        json.dump(data, file)
        file.flush()
        return await _with_cpu(
            url, server_pid, lambda: run_steady(base, kind, rate, seconds, Path(file.name))
        )


def run_steady(base: str, kind: str, rate: float, seconds: float, data: Path) -> dict[str, Any]:
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "tests" / "bench" / "steady_load.py"),
            *("--base", base, "--data", str(data), "--kind", kind),
            *("--rate", f"{rate:.1f}", "--seconds", str(seconds)),
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 120,
        check=False,
    )
    for line in result.stdout.splitlines():
        if line.startswith("STEADY_JSON "):
            answer: dict[str, Any] = json.loads(line.removeprefix("STEADY_JSON "))
            answer["requests"] = answer["sent"]
            return answer
    raise RuntimeError(f"steady_load.py failed: {result.stderr[-2000:]}")


async def _with_cpu(url: str, server_pid: int, run: Any) -> dict[str, Any]:
    if not HAVE_PROC:
        result: dict[str, Any] = run()
        return result
    hz = os.sysconf("SC_CLK_TCK")
    server = [server_pid, *_children(server_pid)]
    backends = await _backends(url)
    before = {pid: _cpu_ticks(pid) for pid in server + backends}
    result = run()
    # Backends the pool opened during the load count from zero. A worker that ended meanwhile
    # (uvicorn's supervisor replaces one that misses its health check, which happens on an
    # overloaded machine) takes its CPU with it: it counts nothing rather than minus what it
    # had spent, its replacement (mostly the imports of its start) is not counted, and the
    # result says how many were replaced, since the service's figure is then too low.
    backends = sorted(set(backends) | set(await _backends(url)))
    spent = {pid: max(0, _cpu_ticks(pid) - before.get(pid, 0)) for pid in server + backends}
    requests = max(result["requests"], 1)
    result["cpu_ms_per_request"] = {
        "service": round(1000 * sum(spent[p] for p in server) / hz / requests, 3),
        "postgres": round(1000 * sum(spent[p] for p in backends) / hz / requests, 3),
    }
    result["workers_replaced"] = len(set(_children(server_pid)) - set(server))
    return result


def wrk_available() -> str | None:
    return shutil.which("wrk")


def run_wrk(base: str, script: str, seconds: float, data_file: Path) -> dict[str, Any]:
    env = {
        **os.environ,
        "BENCH_DATA": str(data_file),
        "BENCH_LUA_DIR": str(LUA),
        "BENCH_THREADS": str(THREADS),
    }
    command = [
        "wrk",
        f"-t{THREADS}",
        f"-c{CONNECTIONS}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA / script),
        base,
    ]
    result = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=seconds + 60, check=False
    )
    for line in result.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            raw = json.loads(line.removeprefix("BENCH_JSON "))
            return summarise(raw)
    raise RuntimeError(f"wrk gave no figures:\n{result.stdout}\n{result.stderr}")


def summarise(raw: dict[str, Any]) -> dict[str, Any]:
    seconds = raw["duration_us"] / 1e6
    return {
        "requests": raw["requests"],
        "seconds": round(seconds, 2),
        "rps": round(raw["requests"] / seconds, 1) if seconds else 0.0,
        "p50_ms": round(raw["p50_us"] / 1000, 1),
        "p90_ms": round(raw["p90_us"] / 1000, 1),
        "p99_ms": round(raw["p99_us"] / 1000, 1),
        "max_ms": round(raw["max_us"] / 1000, 1),
        "errors": raw["non_2xx"] + raw["socket_errors"],
        "non_2xx_by_status": raw["statuses"],
        "socket_errors": raw["socket_errors"],
        "with_coupon_or_points": raw["special"],
    }


def start_profile(pid: int, seconds: float, output: Path) -> subprocess.Popen[bytes]:
    """py-spy samples the served process (and its workers) while the caller loads it, and
    writes collapsed stacks (flamegraph.pl / speedscope read them) for `summarise_profile`."""
    output.parent.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [
            str(BIN / "py-spy"),
            "record",
            "--pid",
            str(pid),
            "--subprocesses",
            "--duration",
            str(max(1, round(seconds))),
            "--rate",
            "200",
            "--format",
            "raw",
            "--output",
            str(output),
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


# Where a sale's time goes, by the first frame of a stack that matches (most specific first).
PROFILE_BUCKETS = [
    ("idempotency (claim, store the answer)", ("app/idempotency", "idempotency_store")),
    ("JWT verification", ("jwt/", "adapters/http/tokens.py", "adapters/http/auth.py")),
    ("piccolo query building", ("piccolo/query", "piccolo/columns", "piccolo/table")),
    ("asyncpg (statement execution: encode, send, decode)", ("asyncpg/",)),
    ("domain rules", ("/domain/",)),
    ("use cases", ("app/use_cases",)),
    ("repositories (row mapping)", ("adapters/persistence",)),
    ("msgspec / request parsing", ("msgspec", "litestar/_kwargs", "litestar/_signature")),
    ("litestar routing, middleware, responses", ("litestar/",)),
    ("uvicorn / httptools / event loop", ("uvicorn/", "httptools", "asyncio/", "uvloop")),
]


def summarise_profile(raw: Path, top: int = 25) -> dict[str, Any]:
    """Share of samples per area (a sample counts once, in the first area its stack enters
    from the innermost frame out) and the service's own functions (app/, adapters/, domain/)
    by inclusive share: which use case or repository call the time is spent under."""
    buckets: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = stack.split(";")
        for frame in set(frames):
            if any(f"({layer}/" in frame for layer in ("app", "adapters", "domain")):
                inclusive[frame] = inclusive.get(frame, 0) + count
        label = "other (idle, GC, interpreter)"
        for frame in reversed(frames):
            match = next((b for b, keys in PROFILE_BUCKETS if any(k in frame for k in keys)), None)
            if match:
                label = match
                break
        buckets[label] = buckets.get(label, 0) + count
    share = {k: round(100 * v / total, 1) for k, v in buckets.items()} if total else {}
    hottest = sorted(inclusive.items(), key=lambda kv: -kv[1])[:top]
    return {
        "samples": total,
        "by_area_percent": dict(sorted(share.items(), key=lambda kv: -kv[1])),
        "service_functions_inclusive_percent": [[f, round(100 * n / total, 1)] for f, n in hottest],
    }


def profile_text(summary: dict[str, Any]) -> str:
    lines = [f"py-spy samples of the served process under the sales load: {summary['samples']}"]
    lines.append("")
    lines.append("by area (a sample counts once, where its stack is innermost):")
    lines.extend(f"  {share:5.1f} %  {area}" for area, share in summary["by_area_percent"].items())
    lines.append("")
    lines.append("the service's own functions, inclusive (what runs under them included):")
    lines.extend(
        f"  {share:5.1f} %  {frame}"
        for frame, share in summary["service_functions_inclusive_percent"]
    )
    return "\n".join(lines) + "\n"


def temp_data_file() -> Path:
    handle, name = tempfile.mkstemp(prefix="bench-", suffix=".lua")
    os.close(handle)
    return Path(name)
