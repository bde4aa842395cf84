"""What a member sees in the app: their card, balance and ledger, page by page."""

from __future__ import annotations

from uuid import uuid4

from tests.api.client import Api


async def test_the_ledger_pages_newest_first_with_a_cursor(api: Api) -> None:
    till = await api.open_till()
    member = await till.enrol()
    for n in range(5):
        line = {"sku": "A", "quantity": 1, "unit_price": 1000 * (n + 1)}
        assert (await till.sell(f"R-{n}", [line], member_id=member["member_id"])).status_code == 201
    headers = api.member_headers(member["member_id"])

    pages = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        response = await api.client.get("/v1/me/ledger", params=params, headers=headers)
        assert response.status_code == 200
        pages.append([item["points"] for item in response.json()["items"]])
        cursor = response.json()["next_cursor"]
        if cursor is None:
            break

    assert pages == [[50, 40], [30, 20], [10]]


async def test_a_cursor_that_was_not_given_out_is_refused(api: Api) -> None:
    till = await api.open_till()
    member = await till.enrol()

    response = await api.client.get(
        "/v1/me/ledger",
        params={"cursor": "bm9wZQ"},
        headers=api.member_headers(member["member_id"]),
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "cursor"


async def test_limits_outside_1_to_200_are_refused(api: Api) -> None:
    till = await api.open_till()
    member = await till.enrol()
    headers = api.member_headers(member["member_id"])

    for limit in (0, 201):
        response = await api.client.get("/v1/me/ledger", params={"limit": limit}, headers=headers)
        assert response.status_code == 422


async def test_a_token_for_a_member_who_does_not_exist_finds_nothing(api: Api) -> None:
    response = await api.client.get("/v1/me", headers=api.member_headers(str(uuid4())))

    assert response.status_code == 404
    assert response.json()["code"] == "member_not_found"
