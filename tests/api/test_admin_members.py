"""What a service agent sees of a member, and replacing a lost card."""

from __future__ import annotations

from tests.api.client import Api


async def test_the_360_view_shows_profile_cards_balances_lots_ledger_and_sales(api: Api) -> None:
    till = await api.open_till()
    member = await till.enrol("13800138000", name="Li Wei")
    sale = await till.sell(
        "R-1", [{"sku": "A", "quantity": 1, "unit_price": 12345}], member_id=member["member_id"]
    )

    response = await api.client.get(
        f"/v1/admin/members/{member['member_id']}", headers=api.admin_headers
    )

    assert response.status_code == 200, response.text
    view = response.json()
    assert view["profile"]["phone"] == "+8613800138000"
    assert view["profile"]["name"] == "Li Wei"
    assert view["cards"] == [
        {
            "card_number": member["card_number"],
            "status": "active",
            "issued_at": view["cards"][0]["issued_at"],
        }
    ]
    assert view["points"] == {"available": 123, "pending": 0}
    assert view["debt"] == 0
    assert [(lot["points"], lot["remaining"]) for lot in view["lots"]] == [(123, 123)]
    assert [(e["type"], e["points"]) for e in view["ledger"]] == [("earn", 123)]
    assert [s["sale_id"] for s in view["sales"]] == [sale.json()["sale_id"]]


async def test_a_replaced_card_is_blocked_and_the_new_one_finds_the_member(api: Api) -> None:
    till = await api.open_till()
    member = await till.enrol()

    replaced = await api.admin_post(f"/v1/admin/members/{member['member_id']}/card/replace", {})
    new_number = replaced.json()["card_number"]
    old = await api.client.get(
        "/v1/pos/members/lookup",
        params={"card_number": member["card_number"]},
        headers=till.headers(),
    )
    new = await api.client.get(
        "/v1/pos/members/lookup", params={"card_number": new_number}, headers=till.headers()
    )

    assert replaced.status_code == 201, replaced.text
    assert new_number != member["card_number"]
    assert (old.status_code, old.json()["code"]) == (404, "card_blocked")
    assert new.json()["member_id"] == member["member_id"]
    view = await api.client.get(
        f"/v1/admin/members/{member['member_id']}", headers=api.admin_headers
    )
    assert [c["status"] for c in view.json()["cards"]] == ["active", "blocked"]


async def test_unknown_members_are_404_for_the_view_and_the_card(api: Api) -> None:
    nobody = "00000000-0000-4000-8000-000000000000"
    view = await api.client.get(f"/v1/admin/members/{nobody}", headers=api.admin_headers)
    card = await api.admin_post(f"/v1/admin/members/{nobody}/card/replace", {})

    assert (view.status_code, view.json()["code"]) == (404, "member_not_found")
    assert (card.status_code, card.json()["code"]) == (404, "member_not_found")
