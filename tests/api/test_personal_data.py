"""Personal data (issue #8, item 5): masked at the till, exported whole, erased for good.

Erasure must leave the books as they were: the ledger's amounts, its hash chain (which covers
entries, never profile columns) and `loyalty ledger verify` are checked after it.
"""

from __future__ import annotations

import json
from typing import Any

import asyncpg

from adapters.persistence.ledger_audit import verify_ledger_at
from tests.api.client import Api
from tests.api.test_member_login import login, request_code
from tests.support.webhooks import shop_event, shop_headers

PHONE = "+8613800138000"
LINES = [{"sku": "TOWEL", "quantity": 2, "unit_price": 12500}]


async def query(db_url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(db_url)
    try:
        return await connection.fetch(sql, *args)
    finally:
        await connection.close()


async def a_member_with_a_history(api: Api, db_url: str) -> tuple[str, dict[str, Any]]:
    """Enrolled at a till with name, e-mail and birthday; a sale, a refund, an adjustment,
    a shop customer id, a piece of feedback and an SMS login (code, outbox, refresh token):
    a row in most tables that hold something about a member."""
    till = await api.open_till()
    member = await till.enrol(
        PHONE, name="Li Lei", email="li.lei@example.com", birthday="1990-05-17"
    )
    member_id = member["member_id"]
    sale = await till.sell("R1", LINES, member_id=member_id)
    assert sale.status_code == 201, sale.text
    refund = await till.refund(sale.json()["sale_id"], {"refund_id": "F1", "amount": 5000})
    assert refund.status_code == 201, refund.text
    adjusted = await api.admin_post(
        f"/v1/admin/members/{member_id}/adjustments", {"points": 7, "reason": "goodwill"}
    )
    assert adjusted.status_code == 201, adjusted.text
    body = shop_event("customer.linked", {"customer_id": "SHOP-C77", "member_id": member_id})
    linked = await api.client.post("/v1/webhooks/shop", content=body, headers=shop_headers(body))
    assert linked.status_code == 200, linked.text
    feedback = await api.client.post(
        "/v1/me/feedback",
        json={"kind": "complaint", "text": "Call me at 13800138000 please", "order_ref": "R1"},
        headers=api.member_headers(member_id),
    )
    assert feedback.status_code == 201, feedback.text
    tokens = await login(api, db_url, PHONE)
    member["refresh_token"] = tokens["refresh_token"]
    await request_code(api, db_url, PHONE)  # a second code: a live login challenge
    return member_id, member


def erase_headers(api: Api, key: str = "erase-1") -> dict[str, str]:
    return {**api.admin_headers, "Idempotency-Key": key}


async def test_pos_answers_show_the_phone_masked_never_whole(api: Api) -> None:
    till = await api.open_till()
    enrolled = await till.post("/v1/pos/members", {"phone": PHONE})
    member_id = enrolled.json()["member_id"]
    looked_up = await api.client.get(
        "/v1/pos/members/lookup", params={"phone": PHONE}, headers=till.headers()
    )
    by_card = await api.client.get(
        "/v1/pos/members/lookup",
        params={"card_number": enrolled.json()["card_number"]},
        headers=till.headers(),
    )
    quote = await till.post("/v1/pos/quote", {"member_id": member_id, "lines": LINES})
    sale = await till.sell("R1", LINES, member_id=member_id)
    refund = await till.refund(sale.json()["sale_id"], {"refund_id": "F1", "amount": 100})

    answers = [enrolled, looked_up, by_card, quote, sale, refund]
    assert [a.status_code for a in answers] == [201, 200, 200, 200, 201, 201]
    for answer in answers:
        assert "13800138000" not in answer.text
        assert "38000" not in answer.text.replace(member_id, "")
    assert looked_up.json()["display_name"] == "+86*******8000"


async def test_the_export_holds_every_row_of_every_table_that_names_the_member(
    api: Api, clean_db: str
) -> None:
    member_id, _ = await a_member_with_a_history(api, clean_db)

    response = await api.client.get(
        f"/v1/admin/members/{member_id}/export", headers=api.admin_headers
    )

    assert response.status_code == 200, response.text
    export = response.json()
    assert export["member_id"] == member_id
    assert export["erased"] is False
    tables = export["tables"]
    assert tables["members"][0]["phone"] == PHONE
    assert tables["members"][0]["name"] == "Li Lei"
    assert tables["members"][0]["email"] == "li.lei@example.com"
    assert tables["members"][0]["birthday"] == "1990-05-17"
    assert [c["customer_id"] for c in tables["shop_customers"]] == ["SHOP-C77"]
    assert tables["feedback"][0]["text"] == "Call me at 13800138000 please"
    assert sorted(e["entry_type"] for e in tables["points_entries"]) == [
        "adjust",
        "earn",
        "reverse",
    ]
    # Every table with a member_id column: as many rows exported as the database holds.
    catalogue = await query(
        clean_db,
        "SELECT table_name FROM information_schema.columns "
        "WHERE table_schema = 'public' AND column_name = 'member_id'",
    )
    for row in catalogue:
        name = row["table_name"]
        held = await query(
            clean_db, f'SELECT count(*) FROM "{name}" WHERE member_id = $1', member_id
        )
        phone_keyed = name == "outbox"  # login codes asked for by phone, before a member id
        assert len(tables.get(name, [])) == held[0][0] or phone_keyed, name
    assert [o["kind"] for o in tables["outbox"]] == ["login_code", "login_code"]
    assert [c["phone"] for c in tables["login_challenges"]] == [PHONE]
    assert "code_hash" not in tables["login_challenges"][0]  # secrets are withheld
    assert all("token_hash" not in t for t in tables["refresh_tokens"])
    assert {"points_entries", "points_lots", "sales", "member_cards", "points_accounts"} <= {
        name for name, rows in tables.items() if rows
    }


async def test_erasure_removes_personal_data_and_keeps_the_ledger_and_its_chain(
    api: Api, clean_db: str
) -> None:
    member_id, member = await a_member_with_a_history(api, clean_db)
    ledger_sql = (
        "SELECT seq, entry_type, points, reference, entry_hash, prev_hash "
        "FROM points_entries WHERE member_id = $1 ORDER BY seq"
    )
    ledger_before = await query(clean_db, ledger_sql, member_id)
    balance_before = (
        await api.client.get(f"/v1/admin/members/{member_id}", headers=api.admin_headers)
    ).json()["points"]

    erased = await api.client.post(
        f"/v1/admin/members/{member_id}/erase", headers=erase_headers(api)
    )

    assert erased.status_code == 200, erased.text
    changed = erased.json()["changed"]
    assert {k: changed[k] for k in ("members", "shop_customers", "feedback")} == {
        "members": 1,
        "shop_customers": 1,
        "feedback": 1,
    }
    assert changed["refresh_tokens"] >= 1
    assert changed["by_phone"] >= 1  # the login challenge and the rate-limit counters
    export = await api.client.get(
        f"/v1/admin/members/{member_id}/export", headers=api.admin_headers
    )
    text = json.dumps(export.json())
    for personal in ("13800138000", "Li Lei", "li.lei@example.com", "1990-05-17", "SHOP-C77"):
        assert personal not in text, personal
    assert export.json()["erased"] is True
    assert await query(clean_db, ledger_sql, member_id) == ledger_before
    overview = await api.client.get(f"/v1/admin/members/{member_id}", headers=api.admin_headers)
    assert overview.json()["points"] == balance_before
    report = await verify_ledger_at(clean_db)
    assert report.ok, report.mismatches
    assert report.entries == len(ledger_before)
    till = await api.open_till()
    lookup = await api.client.get(
        "/v1/pos/members/lookup", params={"phone": PHONE}, headers=till.headers()
    )
    assert lookup.status_code == 404
    by_card = await api.client.get(
        "/v1/pos/members/lookup",
        params={"card_number": member["card_number"]},
        headers=till.headers(),
    )
    assert "Li Lei" not in by_card.text
    audit = await query(
        clean_db, "SELECT actor, details FROM audit_log WHERE action = 'member.erased'"
    )
    assert [(a["actor"], json.loads(a["details"])) for a in audit] == [
        ("admin:test-admin", changed)
    ]
    refresh = await api.client.post(
        "/v1/auth/refresh", json={"refresh_token": member["refresh_token"]}
    )
    assert refresh.status_code == 401


async def test_the_same_phone_can_enrol_again_after_erasure_as_a_new_member(
    api: Api, clean_db: str
) -> None:
    member_id, _ = await a_member_with_a_history(api, clean_db)
    await api.client.post(f"/v1/admin/members/{member_id}/erase", headers=erase_headers(api))
    till = await api.open_till()

    again = await till.post("/v1/pos/members", {"phone": PHONE})

    assert again.status_code == 201, again.text
    assert again.json()["member_id"] != member_id


async def test_an_erasure_retried_with_its_key_replays_and_a_new_one_changes_nothing(
    api: Api, clean_db: str
) -> None:
    member_id, _ = await a_member_with_a_history(api, clean_db)
    path = f"/v1/admin/members/{member_id}/erase"

    first = await api.client.post(path, headers=erase_headers(api))
    retried = await api.client.post(path, headers=erase_headers(api))
    again = await api.client.post(path, headers=erase_headers(api, "erase-2"))

    assert retried.status_code == first.status_code == 200
    assert retried.json() == first.json()
    assert set(again.json()["changed"].values()) == {0}


async def test_export_and_erase_of_an_unknown_member_are_404_and_erase_needs_a_key(
    api: Api,
) -> None:
    unknown = "00000000-0000-4000-8000-000000000000"

    export = await api.client.get(f"/v1/admin/members/{unknown}/export", headers=api.admin_headers)
    erase = await api.client.post(f"/v1/admin/members/{unknown}/erase", headers=erase_headers(api))
    keyless = await api.client.post(f"/v1/admin/members/{unknown}/erase", headers=api.admin_headers)

    assert (export.status_code, export.json()["code"]) == (404, "member_not_found")
    assert (erase.status_code, erase.json()["code"]) == (404, "member_not_found")
    assert (keyless.status_code, keyless.json()["code"]) == (400, "idempotency_key_invalid")
