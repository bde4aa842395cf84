"""Open-loop load at a constant rate: what a cashier feels when the service is not saturated.

wrk (http_load.run_wrk) is a closed loop: each connection sends its next request when the
last one is answered, so it measures the saturation throughput, and its latencies are those of
a queue kept full. A till does not wait for the other tills. This loader sends request i at
``start + i / rate`` whatever is still unanswered (each on its own task, over up to
CONNECTIONS keep-alive connections), and times each from the moment it was due, not from the
moment a connection was free: a stall shows in the percentiles instead of slowing the load
down (no coordinated omission).

It runs in a process of its own (as wrk does), so the served process's CPU from /proc stays
its own; the loader's CPU is reported too, since it shares the cores. The requests are those
of the Lua scripts: the same data file (as JSON), sales with distinct receipts and keys, 1-5
lines, one in six with a coupon and one in six redeeming points; lookups by card or phone;
GET /v1/me with a member token.

    python tests/bench/steady_load.py --base URL --data FILE.json --kind sales --rate 150 \
        --seconds 20
prints one JSON line: sent, answered, errors (non-2xx and failures), p50/p99/p99.9/max in ms,
the rate achieved and the loader's own CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import sys
import time
from typing import Any
from urllib.parse import urlsplit

SKUS = ("TOWEL", "SHEET", "PILLOW", "DUVET", "MUG", "CANDLE", "RUG", "THROW")
# Enough for the requests in flight at half the saturation rate with a p99.9 of a second.
CONNECTIONS = 64
TIMEOUT = 30.0  # seconds from sending: a request still unanswered counts as an error
# uvicorn closes a keep-alive connection idle for 5 s; one idle that long is not reused (the
# request would meet the close and count as an error of the loader's making).
IDLE_LIMIT = 4.0


class Requests:
    """The n-th request of a kind, as the Lua scripts build them."""

    def __init__(self, data: dict[str, Any], seed: int) -> None:
        self.data = data
        self.rng = random.Random(seed)
        self.coupon_next = 0
        self.redeemer_next = 0

    def _terminal(self, n: int) -> dict[str, str]:
        tokens = self.data["pos_tokens"]
        return {"authorization": f"Bearer {tokens[n % len(tokens)]}"}

    def sales(self, n: int) -> tuple[str, str, dict[str, str], bytes | None]:
        data, rng = self.data, self.rng
        receipt = f"S{data['run']}-{n}"
        body: dict[str, Any] = {"receipt_id": receipt}
        member = rng.choice(data["members"])
        pick = n % 6
        if pick == 1 and self.coupon_next < len(data["coupons"]):
            member, code = data["coupons"][self.coupon_next]
            self.coupon_next += 1
            body["coupon_codes"] = [code]
        elif pick == 4 and data["redeemers"]:
            member = data["redeemers"][self.redeemer_next % len(data["redeemers"])]
            self.redeemer_next += 1
            body["redeem_points"] = data["redeem_points"]
        body["member_id"] = member
        body["lines"] = [
            {
                "sku": rng.choice(SKUS),
                "quantity": rng.randint(1, 3),
                "unit_price": 500 + rng.randint(1, 20000),
            }
            for _ in range(rng.randint(1, 5))
        ]
        headers = {
            **self._terminal(n),
            "content-type": "application/json",
            "idempotency-key": receipt,
        }
        return "POST", "/v1/pos/sales", headers, json.dumps(body).encode()

    def lookup(self, n: int) -> tuple[str, str, dict[str, str], bytes | None]:
        i = self.rng.randrange(len(self.data["cards"]))
        if n % 2:
            query = "phone=%2B" + self.data["phones"][i][1:]
        else:
            query = "card_number=" + self.data["cards"][i]
        return "GET", "/v1/pos/members/lookup?" + query, self._terminal(n), None

    def me(self, n: int) -> tuple[str, str, dict[str, str], bytes | None]:
        token = self.rng.choice(self.data["member_tokens"])
        return "GET", "/v1/me", {"authorization": f"Bearer {token}"}, None


def percentile(ordered: list[float], share: float) -> float | None:
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


class Connections:
    """Keep-alive HTTP/1.1 connections to the service, opened as needed up to CONNECTIONS.
    Hand-written (a request line, headers, a body of Content-Length) because an HTTP client
    library costs milliseconds of CPU per request, and this loader shares the cores with the
    service it measures."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []
        self.opened = 0
        self.freed = asyncio.Condition()

    async def take(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        async with self.freed:
            while not self.idle and self.opened >= CONNECTIONS:
                await self.freed.wait()
            while self.idle:
                reader, writer, since = self.idle.pop()
                if time.monotonic() - since < IDLE_LIMIT:
                    return reader, writer
                writer.close()
                self.opened -= 1
            self.opened += 1
        try:
            return await asyncio.open_connection(self.host, self.port)
        except OSError:
            await self.lost()
            raise

    async def give_back(
        self, connection: tuple[asyncio.StreamReader, asyncio.StreamWriter]
    ) -> None:
        async with self.freed:
            self.idle.append((*connection, time.monotonic()))
            self.freed.notify()

    async def lost(self) -> None:
        async with self.freed:
            self.opened -= 1
            self.freed.notify()

    async def request(
        self, method: str, path: str, headers: dict[str, str], body: bytes | None
    ) -> int:
        connection = await self.take()
        reader, writer = connection
        try:
            head = [f"{method} {path} HTTP/1.1", f"host: {self.host}:{self.port}"]
            head += [f"{name}: {value}" for name, value in headers.items()]
            if body is not None:
                head.append(f"content-length: {len(body)}")
            writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + (body or b""))
            answer = await reader.readuntil(b"\r\n\r\n")
            lines = answer.decode("latin-1").split("\r\n")
            status = int(lines[0].split(" ", 2)[1])
            fields = {
                k.strip().lower(): v.strip()
                for k, _, v in (line.partition(":") for line in lines[1:] if line)
            }
            if "content-length" not in fields:
                raise ValueError("an answer without Content-Length")
            await reader.readexactly(int(fields["content-length"]))
        except BaseException:
            writer.close()
            await self.lost()
            raise
        if fields.get("connection", "").lower() == "close":
            writer.close()
            await self.lost()
        else:
            await self.give_back(connection)
        return status


async def load(
    base: str, data: dict[str, Any], kind: str, rate: float, seconds: float
) -> dict[str, Any]:
    build = getattr(Requests(data, seed=11), kind)
    total = int(rate * seconds)
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    failures: dict[str, int] = {}
    address = urlsplit(base)
    pool = Connections(address.hostname or "127.0.0.1", address.port or 80)

    async def send(due: float, method: str, path: str, headers: Any, body: Any) -> None:
        try:
            status = await asyncio.wait_for(pool.request(method, path, headers, body), TIMEOUT)
        except (OSError, ValueError, asyncio.IncompleteReadError, TimeoutError) as error:
            failures[type(error).__name__] = failures.get(type(error).__name__, 0) + 1
            return
        latencies.append(time.perf_counter() - due)
        if not 200 <= status < 300:
            statuses[str(status)] = statuses.get(str(status), 0) + 1

    cpu = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter() + 0.1
    tasks = []
    for n in range(total):
        due = start + n / rate
        request = build(n)  # built before its time: the build is not timed
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(send(due, *request)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    used = resource.getrusage(resource.RUSAGE_SELF)
    ordered = sorted(latencies)

    def ms(value: float | None) -> float | None:
        return None if value is None else round(1000 * value, 1)

    errors = sum(statuses.values()) + sum(failures.values())
    spent = (used.ru_utime + used.ru_stime) - (cpu.ru_utime + cpu.ru_stime)
    return {
        "kind": kind,
        "target_rate": round(rate, 1),
        "achieved_rate": round(total / elapsed, 1),
        "sent": total,
        "answered": len(latencies),
        "errors": errors,
        "non_2xx_by_status": statuses,
        "failures": failures,
        "p50_ms": ms(percentile(ordered, 0.50)),
        "p99_ms": ms(percentile(ordered, 0.99)),
        "p999_ms": ms(percentile(ordered, 0.999)),
        "max_ms": ms(ordered[-1] if ordered else None),
        "loader_cpu_ms_per_request": round(1000 * spent / total, 3) if total else None,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True)
    parser.add_argument("--data", required=True, help="the bench's data, as JSON")
    parser.add_argument("--kind", choices=("sales", "lookup", "me"), required=True)
    parser.add_argument("--rate", type=float, required=True, help="requests a second")
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    with open(args.data) as file:
        data = json.load(file)
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # the loader's own overhead is reported either way
        pass
    result = asyncio.run(load(args.base, data, args.kind, args.rate, args.seconds))
    print("STEADY_JSON " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
