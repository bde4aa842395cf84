"""Member login through HTTP on PostgreSQL: SMS code, tokens, refresh rotation, card codes.

The code reaches the test the way it reaches a phone: the outbox worker delivers it through an
SMS port (here a recording one).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

import asyncpg
from litestar import Litestar

from adapters.persistence.outbox import PostgresNotificationQueue
from adapters.system import SystemClock
from app.notifications import deliver_notifications
from app.settings import Settings
from app.wiring.composition import outbox_secrets
from tests.api.client import Api, bearer
from tests.support.fakes import RecordingMemberNotifier, RecordingSms

PHONE = "+8613800138000"


async def deliver(db_url: str) -> RecordingSms:
    """The outbox worker's run, on a connection of the test's own (the app runs in its own
    thread and event loop)."""
    sms = RecordingSms()
    connection = await asyncpg.connect(db_url)
    try:
        await deliver_notifications(
            PostgresNotificationQueue(connection),
            SystemClock(),
            sms,
            RecordingMemberNotifier(),
            # The app under test runs on the default secrets (tests/api/conftest.py).
            secrets=outbox_secrets(Settings()),
        )
    finally:
        await connection.close()
    return sms


async def request_code(api: Api, db_url: str, phone: str = PHONE) -> str:
    response = await api.client.post("/v1/auth/otp", json={"phone": phone})
    assert response.status_code == 202, response.text
    return (await deliver(db_url)).last_code(phone)


async def login(api: Api, db_url: str, phone: str = PHONE) -> dict[str, Any]:
    code = await request_code(api, db_url, phone)
    response = await api.client.post("/v1/auth/otp/verify", json={"phone": phone, "code": code})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


async def test_a_new_phone_logs_in_with_the_sms_code_and_is_enrolled(
    api: Api, clean_db: str
) -> None:
    asked = await api.client.post("/v1/auth/otp", json={"phone": "138 0013 8000"})
    assert asked.status_code == 202
    connection = await asyncpg.connect(clean_db)
    try:
        queued = await connection.fetchval("SELECT payload::text FROM outbox")
    finally:
        await connection.close()
    code = (await deliver(clean_db)).last_code(PHONE)  # sent to the E.164 form
    assert code not in queued  # sealed while it waits in the outbox

    response = await api.client.post(
        "/v1/auth/otp/verify", json={"phone": "+86 138-0013-8000", "code": code}
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["expires_in"] == 900
    assert body["refresh_expires_in"] == 30 * 24 * 3600
    me = await api.client.get("/v1/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200
    assert len(me.json()["card_number"]) == 16
    connection = await asyncpg.connect(clean_db)
    try:
        stored = await connection.fetchrow("SELECT code_hash FROM login_challenges")
        payload = await connection.fetchval("SELECT payload::text FROM outbox")
    finally:
        await connection.close()
    assert code not in stored["code_hash"]
    assert "sealed_code" not in payload  # erased from the outbox once sent


async def test_an_existing_member_logs_in_as_themselves(api: Api, clean_db: str) -> None:
    till = await api.open_till()
    member = await till.enrol(PHONE)

    body = await login(api, clean_db)

    me = await api.client.get("/v1/me", headers=bearer(body["access_token"]))
    assert me.json()["member_id"] == member["member_id"]


async def test_wrong_expired_and_reused_codes_get_one_uniform_401(api: Api, clean_db: str) -> None:
    code = await request_code(api, clean_db)

    wrong_guess = await api.client.post(
        "/v1/auth/otp/verify", json={"phone": PHONE, "code": wrong(code)}
    )
    never_requested = await api.client.post(
        "/v1/auth/otp/verify", json={"phone": "+8613900139000", "code": code}
    )
    assert (
        await api.client.post("/v1/auth/otp/verify", json={"phone": PHONE, "code": code})
    ).status_code == 200
    reused = await api.client.post("/v1/auth/otp/verify", json={"phone": PHONE, "code": code})

    answers = [wrong_guess, never_requested, reused]
    assert {r.status_code for r in answers} == {401}
    assert {r.headers["content-type"] for r in answers} == {"application/problem+json"}
    assert len({(r.json()["code"], r.json()["title"], r.json()["detail"]) for r in answers}) == 1
    assert wrong_guess.json()["code"] == "invalid_login_code"


async def test_after_five_wrong_guesses_even_the_right_code_is_refused(
    api: Api, clean_db: str
) -> None:
    code = await request_code(api, clean_db)
    for _ in range(5):
        response = await api.client.post(
            "/v1/auth/otp/verify", json={"phone": PHONE, "code": wrong(code)}
        )
        assert response.status_code == 401

    right = await api.client.post("/v1/auth/otp/verify", json={"phone": PHONE, "code": code})

    assert right.status_code == 401
    assert right.json()["code"] == "invalid_login_code"


async def test_codes_for_one_phone_are_rate_limited_with_retry_after(
    api: Api, clean_db: str
) -> None:
    for _ in range(5):
        assert (await api.client.post("/v1/auth/otp", json={"phone": PHONE})).status_code == 202

    limited = await api.client.post("/v1/auth/otp", json={"phone": "13800138000"})
    other_phone = await api.client.post("/v1/auth/otp", json={"phone": "+8613900139000"})

    assert limited.status_code == 429
    assert limited.json()["code"] == "rate_limited"
    assert 1 <= int(limited.headers["retry-after"]) <= 3600
    assert other_phone.status_code == 202


async def test_a_bad_phone_is_422_not_a_code(api: Api) -> None:
    response = await api.client.post("/v1/auth/otp", json={"phone": "12"})

    assert response.status_code == 422
    assert response.json()["code"] == "invalid_phone_number"


async def test_refresh_rotates_and_a_reused_refresh_token_revokes_the_family(
    api: Api, clean_db: str
) -> None:
    first = await login(api, clean_db)

    second = await api.client.post(
        "/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert second.status_code == 200, second.text
    rotated = second.json()
    assert rotated["refresh_token"] != first["refresh_token"]
    me = await api.client.get("/v1/me", headers=bearer(rotated["access_token"]))
    assert me.status_code == 200

    replay = await api.client.post(
        "/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
    )
    after_replay = await api.client.post(
        "/v1/auth/refresh", json={"refresh_token": rotated["refresh_token"]}
    )

    assert replay.status_code == 401
    assert replay.json()["code"] == "invalid_refresh_token"
    assert after_replay.status_code == 401  # the family is revoked: log in again


async def test_an_unknown_refresh_token_is_401(api: Api) -> None:
    response = await api.client.post("/v1/auth/refresh", json={"refresh_token": "nope"})

    assert response.status_code == 401
    assert response.json()["code"] == "invalid_refresh_token"


async def test_a_till_finds_the_member_by_the_card_code_from_the_app(
    api: Api, clean_db: str
) -> None:
    till = await api.open_till()
    member = await till.enrol(PHONE)
    headers = api.member_headers(member["member_id"])

    issued = await api.client.get("/v1/me/card-token", headers=headers)
    assert issued.status_code == 200
    card = issued.json()
    found = await api.client.get(
        "/v1/pos/members/lookup", params={"card_token": card["card_token"]}, headers=till.headers()
    )

    assert card["expires_in"] == 60
    assert len(card["card_token"]) <= 64
    assert found.status_code == 200
    assert found.json()["member_id"] == member["member_id"]


async def test_an_expired_or_forged_card_code_is_member_not_found(api: Api, app: Litestar) -> None:
    till = await api.open_till()
    member = await till.enrol(PHONE)
    container = app.state.container
    minted = container.card_tokens.issue(
        UUID(member["member_id"]), container.clock.now() - timedelta(seconds=61)
    )
    valid = container.card_tokens.issue(UUID(member["member_id"]), container.clock.now())
    forged = valid.token[:-2] + ("AA" if valid.token[-2:] != "AA" else "BB")

    answers = [
        await api.client.get(
            "/v1/pos/members/lookup", params={"card_token": token}, headers=till.headers()
        )
        for token in (minted.token, forged, "not-a-code")
    ]

    assert [r.status_code for r in answers] == [404, 404, 404]
    assert {r.json()["code"] for r in answers} == {"member_not_found"}


async def test_the_card_code_needs_a_member_token(api: Api) -> None:
    till = await api.open_till()

    response = await api.client.get("/v1/me/card-token", headers=till.headers())

    assert response.status_code == 403
