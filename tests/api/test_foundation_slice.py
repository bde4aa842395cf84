"""The foundation's promise: a till enrols a member, sells 250.00, and both see the points."""

from __future__ import annotations

from tests.api.client import Api

TOWELS = [{"sku": "TOWEL-BATH", "category": "bath", "quantity": 2, "unit_price": 12500}]


async def test_a_terminal_enrols_a_member_sells_250_and_member_sees_the_same_points(
    api: Api,
) -> None:
    till = await api.open_till()
    member = await till.enrol("13800138000", name="Li Wei")
    assert member["points"] == {"available": 0, "pending": 0}
    assert member["tier"] == {"code": "member", "name": "Member"}

    sale = await till.sell("R-0001", TOWELS, member_id=member["member_id"])

    assert sale.status_code == 201, sale.text
    body = sale.json()
    assert body["subtotal"] == 25000
    assert body["payable"] == 25000
    assert body["points_earned"] == 250
    assert body["points"] == {"available": 250, "pending": 0}
    assert body["receipt_id"] == "R-0001"

    lookup = await api.client.get(
        "/v1/pos/members/lookup",
        params={"card_number": member["card_number"]},
        headers=till.headers(),
    )
    assert lookup.json()["points"]["available"] == 250

    me = await api.client.get("/v1/me", headers=api.member_headers(member["member_id"]))
    assert me.status_code == 200, me.text
    assert me.json()["points"] == {"available": 250, "pending": 0, "expiring": []}
    assert me.json()["card_number"] == member["card_number"]

    ledger = await api.client.get("/v1/me/ledger", headers=api.member_headers(member["member_id"]))
    [entry] = ledger.json()["items"]
    assert entry["type"] == "earn"
    assert entry["points"] == 250
    assert entry["reference"] == f"sale:{body['sale_id']}"
    assert ledger.json()["next_cursor"] is None
