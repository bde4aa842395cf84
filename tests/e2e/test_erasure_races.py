"""An erasure racing a purchase, and the member's own feedback, for the same member over TCP.

Each must end as if the two had run one after the other: the write before the erasure (and
erased with the rest), or the write refused. A round fires both at once, one of them a few
milliseconds ahead, the lead and the gap changing from round to round so that the rounds sweep
the whole span of the other request; both orders must be seen, or the rounds did not race.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx
import pytest

from adapters.system import SystemClock
from app.secrets import hash_secret
from app.settings import Settings
from app.wiring.composition import build_tokens
from domain.login import REFRESH_TOKEN_TTL
from domain.member_privacy import ERASED_TEXT
from tests.e2e.conftest import cli
from tests.e2e.test_races import LINES, Till, open_till

ROUNDS = 30
# Spend of the sale (250.00) makes the member silver: the upgrade queues a notification, a row
# the erasure blanks. One left live means the sale committed after the erasure.
LADDER = {
    "window_days": 365,
    "grace_days": 30,
    "tiers": [
        {"code": "member", "name": "Member", "rank": 0, "threshold": 0, "earn_multiplier": "1"},
        {"code": "silver", "name": "Silver", "rank": 1, "threshold": 10000, "earn_multiplier": "1"},
    ],
}
_keys = itertools.count()
Request = Callable[[], Awaitable[httpx.Response]]


@pytest.fixture
async def world(service: tuple[str, dict[str, str]], clean_db: str) -> Any:
    base, env = service
    admin = {"Authorization": f"Bearer {cli('token', 'admin', '--subject', 'race', env=env)}"}
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        till = await open_till(http, admin, "north")
        tiers = await http.put("/v1/admin/tiers", json=LADDER, headers=admin)
        assert tiers.status_code == 200, tiers.text
        yield http, admin, till, clean_db, env


async def fetch(db_url: str, sql: str, *args: Any) -> Any:
    connection = await asyncpg.connect(db_url)
    try:
        return await connection.fetchval(sql, *args)
    finally:
        await connection.close()


async def after(seconds: float, request: Request) -> httpx.Response:
    await asyncio.sleep(seconds)
    return await request()


def schedule(n: int) -> tuple[float, float]:
    """(delay of the write, delay of the erasure) for round n: each leads in turn, by a gap
    growing 1 ms every other round (0 to 14 ms), about the time an erasure takes here."""
    gap = (n // 2) * 0.001
    return (gap, 0.0) if n % 2 else (0.0, gap)


async def enrol(till: Till, n: int) -> str:
    enrolled = await till.post("/v1/pos/members", {"phone": f"+86138{n:08d}"})
    assert enrolled.status_code == 201, enrolled.text
    member_id: str = enrolled.json()["member_id"]
    return member_id


def erasure(http: httpx.AsyncClient, admin: dict[str, str], member_id: str) -> Request:
    headers = {**admin, "Idempotency-Key": f"erase-{next(_keys)}"}
    return lambda: http.post(f"/v1/admin/members/{member_id}/erase", headers=headers)


def sale_of(till: Till, body: dict[str, Any]) -> Request:
    return lambda: till.post("/v1/pos/sales", body)


def feedback_of(http: httpx.AsyncClient, member: dict[str, str], text: dict[str, str]) -> Request:
    return lambda: http.post("/v1/me/feedback", json=text, headers=member)


async def test_a_sale_racing_the_erasure_of_its_member_is_either_before_it_or_refused(
    world: Any,
) -> None:
    http, admin, till, db, _ = world
    outcomes: Counter[int] = Counter()

    for n in range(ROUNDS):
        member_id = await enrol(till, n)
        sale_delay, erase_delay = schedule(n)
        body = {"receipt_id": f"R-{n}", "member_id": member_id, "lines": LINES}

        sale, erased = await asyncio.gather(
            after(sale_delay, sale_of(till, body)),
            after(erase_delay, erasure(http, admin, member_id)),
        )

        assert erased.status_code == 200, erased.text
        outcomes[sale.status_code] += 1
        member = UUID(member_id)
        if sale.status_code == 201:
            # Before the erasure: what it queued for the member was blanked and will never go.
            live = await fetch(
                db,
                "SELECT count(*) FROM outbox WHERE member_id = $1 AND (payload <> '{}'::jsonb "
                "OR (delivered_at IS NULL AND dead_at IS NULL))",
                member,
            )
            assert live == 0, f"round {n}: the sale committed after the erasure"
        else:
            assert (sale.status_code, sale.json()["code"]) == (422, "member_erased"), sale.text
            assert await fetch(db, "SELECT count(*) FROM sales WHERE member_id = $1", member) == 0
            assert (
                await fetch(db, "SELECT count(*) FROM points_entries WHERE member_id = $1", member)
                == 0
            )

    assert set(outcomes) == {201, 422}, outcomes


async def test_feedback_racing_the_erasure_of_its_member_is_blanked_or_refused(
    world: Any,
) -> None:
    http, admin, till, db, env = world
    tokens = build_tokens(Settings.from_env(env), SystemClock())
    outcomes: Counter[int] = Counter()

    for n in range(ROUNDS):
        member_id = await enrol(till, n)
        member = {"Authorization": f"Bearer {tokens.issue_member_token(UUID(member_id)).token}"}
        text = {"kind": "complaint", "text": f"call me on 138{n:08d}"}
        feedback_delay, erase_delay = schedule(n)

        *posted, erased = await asyncio.gather(
            *(after(feedback_delay + k * 0.002, feedback_of(http, member, text)) for k in range(3)),
            after(erase_delay, erasure(http, admin, member_id)),
        )

        assert erased.status_code == 200, erased.text
        for answer in posted:
            outcomes[answer.status_code] += 1
            assert answer.status_code in {201, 401}, answer.text
        unblanked = await fetch(
            db,
            "SELECT count(*) FROM feedback WHERE member_id = $1 AND text <> $2",
            UUID(member_id),
            ERASED_TEXT,
        )
        assert unblanked == 0, f"round {n}: feedback written after the erasure"

    assert set(outcomes) == {201, 401}, outcomes
    assert sum(outcomes.values()) == 3 * ROUNDS


async def a_session(db_url: str, member_id: str) -> str:
    """A refresh token as the SMS login leaves one (the login itself is tested elsewhere)."""
    secret = secrets.token_urlsafe(32)
    token_id, now = uuid4(), datetime.now(UTC)
    connection = await asyncpg.connect(db_url)
    try:
        await connection.execute(
            "INSERT INTO refresh_tokens (id, member_id, family_id, parent_id, token_hash, "
            "issued_at, expires_at) VALUES ($1, $2, $1, NULL, $3, $4, $5)",
            token_id,
            UUID(member_id),
            hash_secret(secret),
            now,
            now + REFRESH_TOKEN_TTL,
        )
    finally:
        await connection.close()
    return secret


def refresh_of(http: httpx.AsyncClient, secret: str) -> Request:
    return lambda: http.post("/v1/auth/refresh", json={"refresh_token": secret})


async def test_a_refresh_racing_the_erasure_of_its_member_leaves_no_session_behind(
    world: Any,
) -> None:
    http, admin, till, db, _ = world
    outcomes: Counter[int] = Counter()

    for n in range(ROUNDS):
        member_id = await enrol(till, n)
        secret = await a_session(db, member_id)
        refresh_delay, erase_delay = schedule(n)

        refreshed, erased = await asyncio.gather(
            after(refresh_delay, refresh_of(http, secret)),
            after(erase_delay, erasure(http, admin, member_id)),
        )

        assert erased.status_code == 200, erased.text
        outcomes[refreshed.status_code] += 1
        assert refreshed.status_code in {200, 401}, refreshed.text
        left = await fetch(
            db, "SELECT count(*) FROM refresh_tokens WHERE member_id = $1", UUID(member_id)
        )
        assert left == 0, f"round {n}: a session outlived the erasure"
        if refreshed.status_code == 200:
            again = await refresh_of(http, refreshed.json()["refresh_token"])()
            assert again.status_code == 401, again.text

    assert set(outcomes) == {200, 401}, outcomes
