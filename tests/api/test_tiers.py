"""The tier policy through HTTP on PostgreSQL: configuration, upgrades, tiers by hand, /me."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from httpx import Response

from tests.api.client import Api, Till

MEMBER = {"code": "member", "name": "Member", "rank": 0, "threshold": 0, "earn_multiplier": "1"}
SILVER = {
    "code": "silver",
    "name": "Silver",
    "rank": 1,
    "threshold": 10000,
    "earn_multiplier": "1.5",
}
GOLD = {"code": "gold", "name": "Gold", "rank": 2, "threshold": 50000, "earn_multiplier": "2"}
LADDER = {"window_days": 365, "grace_days": 30, "tiers": [MEMBER, SILVER]}
SALE_100 = [{"sku": "A", "quantity": 1, "unit_price": 10000}]  # 100.00


async def put_policy(api: Api, body: dict[str, Any]) -> Response:
    return await api.client.put("/v1/admin/tiers", json=body, headers=api.admin_headers)


async def overview(api: Api, member_id: str) -> dict[str, Any]:
    response = await api.client.get(f"/v1/admin/members/{member_id}", headers=api.admin_headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def sell(till: Till, receipt: str, member_id: str, **extra: Any) -> dict[str, Any]:
    response = await till.sell(receipt, SALE_100, member_id=member_id, **extra)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def fetch(db_url: str, sql: str) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(db_url)
    try:
        return list(await connection.fetch(sql))
    finally:
        await connection.close()


async def test_the_qualifying_sale_earns_at_the_old_multiplier_the_next_at_the_new(
    api: Api,
) -> None:
    assert (await put_policy(api, LADDER)).status_code == 200
    till = await api.open_till()
    member = await till.enrol()

    first = await sell(till, "R-1", member["member_id"])
    second = await sell(till, "R-2", member["member_id"])

    assert first["points_earned"] == 100  # earned as a member, then upgraded
    assert first["tier"] == {"code": "silver", "name": "Silver"}
    assert second["points_earned"] == 150  # x1.5 as silver
    history = (await overview(api, member["member_id"]))["tier_history"]
    assert [(h["from"], h["to"], h["reason"]) for h in history] == [
        ("member", "silver", "qualified")
    ]


async def test_the_policy_round_trips_and_every_change_is_a_new_version(api: Api) -> None:
    initial = (await api.client.get("/v1/admin/tiers", headers=api.admin_headers)).json()
    assert initial["version"] == 1
    assert initial["tiers"][0]["threshold"] == 0

    saved = await put_policy(api, {**LADDER, "tiers": [MEMBER, SILVER, GOLD]})
    again = await put_policy(api, {**LADDER, "window_days": 180})

    assert saved.status_code == 200, saved.text
    assert saved.json()["version"] == initial["version"] + 1
    assert again.json()["version"] == initial["version"] + 2
    shown = (await api.client.get("/v1/admin/tiers", headers=api.admin_headers)).json()
    assert shown["version"] == initial["version"] + 2
    assert shown["window_days"] == 180
    assert shown["grace_days"] == 30
    assert [(t["code"], t["rank"], t["threshold"]) for t in shown["tiers"]] == [
        ("member", 0, 0),
        ("silver", 1, 10000),
    ]
    assert shown["tiers"][1]["earn_multiplier"] == "1.500"


async def test_a_policy_change_is_audited_with_the_admins_subject(api: Api, clean_db: str) -> None:
    assert (await put_policy(api, LADDER)).status_code == 200

    rows = await fetch(clean_db, "SELECT actor, action, subject, details FROM audit_log")

    assert [(r["actor"], r["action"], r["subject"]) for r in rows] == [
        ("admin:test-admin", "tiers.updated", "tiers")
    ]
    assert '"silver"' in rows[0]["details"]
    versions = await fetch(clean_db, "SELECT version, actor FROM tier_policies ORDER BY version")
    assert versions[-1]["actor"] == "admin:test-admin"


async def test_a_bad_policy_is_refused_naming_the_field(api: Api) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"window_days": 0}, "window_days"),
        ({"window_days": 5000}, "window_days"),
        ({"grace_days": -1}, "grace_days"),
        ({"grace_days": 400}, "grace_days"),
        ({"tiers": []}, "tiers"),
        ({"tiers": [MEMBER, {**SILVER, "code": "member"}]}, "tiers"),
        ({"tiers": [MEMBER, {**SILVER, "rank": 0}]}, "tiers"),
        ({"tiers": [{**MEMBER, "threshold": 5}, SILVER]}, "tiers"),
        ({"tiers": [MEMBER, {**SILVER, "threshold": 0}]}, "tiers"),
        ({"tiers": [MEMBER, SILVER, {**GOLD, "threshold": 9000}]}, "tiers"),
        ({"tiers": [MEMBER, {**SILVER, "earn_multiplier": "0.5"}]}, "tiers[1].earn_multiplier"),
        ({"tiers": [MEMBER, {**SILVER, "earn_multiplier": "11"}]}, "tiers[1].earn_multiplier"),
        ({"tiers": [MEMBER, {**SILVER, "earn_multiplier": "1.2345"}]}, "tiers[1].earn_multiplier"),
        ({"tiers": [MEMBER, {**SILVER, "rank": 5000}]}, "tiers[1].rank"),
        ({"tiers": [MEMBER, {**SILVER, "threshold": -1}]}, "tiers[1].threshold"),
        ({"tiers": [MEMBER, {**SILVER, "code": "bad code"}]}, "tiers[1].code"),
    ]
    for change, field in cases:
        response = await put_policy(api, {**LADDER, **change})
        assert response.status_code == 422, (change, response.text)
        assert response.json()["errors"][0]["field"] == field, (change, response.text)
    shown = (await api.client.get("/v1/admin/tiers", headers=api.admin_headers)).json()
    assert shown["version"] == 1


async def test_two_admins_saving_at_once_cannot_both_win(api: Api, clean_db: str) -> None:
    # Another admin's save of version 2 is in flight (not yet committed) when ours starts; the
    # test client blocks this loop during a request, so the other admin works from a thread.
    started = threading.Event()

    async def other_admin() -> None:
        connection = await asyncpg.connect(clean_db)
        try:
            async with connection.transaction():
                await connection.execute(
                    "INSERT INTO tier_policies (version, window_days, grace_days, tiers, actor, "
                    "created_at) VALUES (2, 100, 10, '[]', 'admin:other', now())"
                )
                started.set()
                await asyncio.sleep(0.5)
        finally:
            await connection.close()

    thread = threading.Thread(target=lambda: asyncio.run(other_admin()))
    thread.start()
    assert started.wait(10)
    response = await put_policy(api, LADDER)
    thread.join()

    assert response.status_code == 409, response.text
    assert response.json()["code"] == "tier_policy_changed"
    retried = await put_policy(api, LADDER)
    assert retried.status_code == 200
    assert retried.json()["version"] == 3


async def test_lowering_a_threshold_upgrades_qualifying_members_at_once(api: Api) -> None:
    assert (await put_policy(api, {**LADDER, "tiers": [MEMBER, GOLD]})).status_code == 200
    till = await api.open_till()
    spender = await till.enrol("+8613800138001")
    idle = await till.enrol("+8613800138002")
    await sell(till, "R-1", spender["member_id"])
    assert (await overview(api, spender["member_id"]))["tier"]["code"] == "member"

    lowered = await put_policy(api, {**LADDER, "tiers": [MEMBER, {**GOLD, "threshold": 10000}]})

    assert lowered.status_code == 200, lowered.text
    view = await overview(api, spender["member_id"])
    assert view["tier"] == {"code": "gold", "name": "Gold"}
    change = view["tier_history"][0]
    assert (change["from"], change["to"], change["reason"]) == ("member", "gold", "policy_change")
    assert change["actor"] == "admin:test-admin"
    assert (await overview(api, idle["member_id"]))["tier_history"] == []


async def test_raising_a_threshold_does_not_downgrade_anyone(api: Api) -> None:
    assert (await put_policy(api, LADDER)).status_code == 200
    till = await api.open_till()
    member = await till.enrol()
    await sell(till, "R-1", member["member_id"])

    raised = await put_policy(api, {**LADDER, "tiers": [MEMBER, {**SILVER, "threshold": 90000}]})

    assert raised.status_code == 200
    assert (await overview(api, member["member_id"]))["tier"]["code"] == "silver"


async def test_removing_a_tier_members_hold_moves_them(api: Api, clean_db: str) -> None:
    assert (await put_policy(api, {**LADDER, "tiers": [MEMBER, SILVER, GOLD]})).status_code == 200
    till = await api.open_till()
    member = await till.enrol()
    await sell(till, "R-1", member["member_id"])
    assert (await overview(api, member["member_id"]))["tier"]["code"] == "silver"

    removed = await put_policy(api, {**LADDER, "tiers": [MEMBER, GOLD]})

    assert removed.status_code == 200, removed.text
    view = await overview(api, member["member_id"])
    assert view["tier"]["code"] == "member"  # 100.00 does not reach gold
    change = view["tier_history"][0]
    assert (change["from"], change["to"], change["reason"]) == ("silver", "member", "policy_change")
    rows = await fetch(clean_db, "SELECT code FROM tiers ORDER BY rank")
    assert [r["code"] for r in rows] == ["member", "gold"]
    recorded = await fetch(clean_db, "SELECT policy_version FROM tier_changes ORDER BY id")
    assert recorded[-1]["policy_version"] == removed.json()["version"]


async def test_a_refund_never_downgrades_on_the_spot(api: Api) -> None:
    assert (await put_policy(api, LADDER)).status_code == 200
    till = await api.open_till()
    member = await till.enrol()
    sale = await sell(till, "R-1", member["member_id"])

    refunded = await till.refund(sale["sale_id"], {"refund_id": "F1", "amount": 10000})

    assert refunded.status_code == 201, refunded.text
    assert (await overview(api, member["member_id"]))["tier"]["code"] == "silver"
    mine = await api.client.get("/v1/me/tier", headers=api.member_headers(member["member_id"]))
    assert mine.json()["qualifying_value"] == 0
    assert mine.json()["current"]["code"] == "silver"


async def test_an_admin_sets_a_tier_by_hand_and_it_shows_in_the_history(
    api: Api, clean_db: str
) -> None:
    assert (await put_policy(api, {**LADDER, "tiers": [MEMBER, SILVER, GOLD]})).status_code == 200
    till = await api.open_till()
    member = await till.enrol()
    path = f"/v1/admin/members/{member['member_id']}/tier"
    body = {"tier_code": "gold", "reason": "complaint goodwill", "until": "2099-01-01T00:00:00Z"}

    response = await api.admin_post(path, body, key="set-gold")
    replay = await api.admin_post(path, body, key="set-gold")

    assert response.status_code == 200, response.text
    assert response.json() == {"code": "gold", "name": "Gold"}
    assert replay.json() == response.json()
    view = await overview(api, member["member_id"])
    assert view["tier"]["code"] == "gold"
    assert len(view["tier_history"]) == 1
    change = view["tier_history"][0]
    assert (change["from"], change["to"], change["reason"]) == ("member", "gold", "manual")
    assert change["actor"] == "admin:test-admin"
    assert change["note"] == "complaint goodwill"
    rows = await fetch(clean_db, "SELECT tier_manual_until FROM members")
    assert rows[0]["tier_manual_until"] == datetime(2099, 1, 1, tzinfo=UTC)
    audit = await fetch(
        clean_db, "SELECT action, subject FROM audit_log WHERE action LIKE 'member%'"
    )
    assert [(a["action"], a["subject"]) for a in audit] == [
        ("member.tier_set", f"member:{member['member_id']}")
    ]


async def test_a_tier_by_hand_needs_a_member_and_a_known_tier(api: Api) -> None:
    till = await api.open_till()
    member = await till.enrol()
    body = {"tier_code": "platinum", "reason": "why not"}

    unknown = await api.admin_post(f"/v1/admin/members/{member['member_id']}/tier", body)
    nobody = await api.admin_post(
        "/v1/admin/members/00000000-0000-0000-0000-000000000001/tier",
        {**body, "tier_code": "member"},
    )

    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "tier_code"
    assert nobody.status_code == 404
    assert nobody.json()["code"] == "member_not_found"


async def test_a_member_sees_their_tier_the_next_and_when_spend_drops_out(api: Api) -> None:
    assert (await put_policy(api, {**LADDER, "tiers": [MEMBER, SILVER, GOLD]})).status_code == 200
    till = await api.open_till()
    member = await till.enrol()
    headers = api.member_headers(member["member_id"])

    empty = (await api.client.get("/v1/me/tier", headers=headers)).json()
    assert empty == {
        "current": {"code": "member", "name": "Member"},
        "next": {"code": "silver", "name": "Silver", "threshold": 10000},
        "qualifying_value": 0,
        "remaining": 10000,
        "window_days": 365,
        "drops_out_on": None,
    }

    oldest = (datetime.now(UTC) - timedelta(days=10)).replace(microsecond=0)
    await sell(till, "R-1", member["member_id"], occurred_at=oldest.isoformat())
    await sell(till, "R-2", member["member_id"])
    await sell(till, "R-3", member["member_id"])
    mine = (await api.client.get("/v1/me/tier", headers=headers)).json()

    assert mine["current"] == {"code": "silver", "name": "Silver"}
    assert mine["next"] == {"code": "gold", "name": "Gold", "threshold": 50000}
    assert mine["qualifying_value"] == 30000
    assert mine["remaining"] == 20000
    expected = (oldest + timedelta(days=365)).astimezone(ZoneInfo("Asia/Shanghai")).date()
    assert mine["drops_out_on"] == expected.isoformat()


async def test_at_the_top_there_is_no_next_tier(api: Api) -> None:
    assert (await put_policy(api, LADDER)).status_code == 200
    till = await api.open_till()
    member = await till.enrol()
    await sell(till, "R-1", member["member_id"])

    mine = await api.client.get("/v1/me/tier", headers=api.member_headers(member["member_id"]))

    assert mine.json()["next"] is None
    assert mine.json()["remaining"] is None


async def test_only_admins_manage_tiers_and_only_members_see_their_own(api: Api) -> None:
    till = await api.open_till()
    member = await till.enrol()
    member_headers = api.member_headers(member["member_id"])
    till_headers = till.headers()

    for headers in (member_headers, till_headers):
        assert (await api.client.get("/v1/admin/tiers", headers=headers)).status_code == 403
        put = await api.client.put("/v1/admin/tiers", json=LADDER, headers=headers)
        assert put.status_code == 403
        manual = await api.client.post(
            f"/v1/admin/members/{member['member_id']}/tier",
            json={"tier_code": "member", "reason": "x"},
            headers={**headers, "Idempotency-Key": "k-1"},
        )
        assert manual.status_code == 403
    admin_me = await api.client.get("/v1/me/tier", headers=api.admin_headers)
    till_me = await api.client.get("/v1/me/tier", headers=till_headers)
    assert admin_me.status_code == 403
    assert till_me.status_code == 403
    assert (await api.client.get("/v1/admin/tiers")).status_code == 401
