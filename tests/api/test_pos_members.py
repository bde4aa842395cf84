"""Enrolling at the counter and finding the member again by card or phone."""

from __future__ import annotations

import asyncio

from domain.cards import is_luhn_valid
from tests.api.client import Api


async def test_enrolment_normalises_the_phone_and_issues_a_valid_card(api: Api) -> None:
    till = await api.open_till()
    member = await till.enrol("138 0013 8000", name="  Li Wei ", email="LI@Example.COM")

    assert len(member["card_number"]) == 16
    assert is_luhn_valid(member["card_number"])
    assert member["display_name"] == "Li Wei"
    assert member["coupons"] == []
    by_phone = await api.client.get(
        "/v1/pos/members/lookup", params={"phone": "+86 138-0013-8000"}, headers=till.headers()
    )
    assert by_phone.status_code == 200
    assert by_phone.json()["member_id"] == member["member_id"]


async def test_a_member_without_a_name_is_shown_with_a_masked_phone(api: Api) -> None:
    till = await api.open_till()
    member = await till.enrol("+8613800138000")

    assert member["display_name"] == "+86*******8000"
    assert "13800138000" not in str(member)


async def test_the_same_phone_in_another_format_is_the_same_member(api: Api) -> None:
    till = await api.open_till()
    await till.enrol("13800138000")

    again = await till.post("/v1/pos/members", {"phone": "+86 138 0013 8000"})

    assert again.status_code == 409
    assert again.json()["code"] == "member_exists"


async def test_two_tills_enrolling_one_phone_make_one_member(api: Api) -> None:
    north = await api.open_till("north")
    south = await api.open_till("south")

    responses = await asyncio.gather(
        north.post("/v1/pos/members", {"phone": "13900139000"}),
        south.post("/v1/pos/members", {"phone": "13900139000"}),
    )

    assert sorted(r.status_code for r in responses) == [201, 409]


async def test_invalid_contact_details_are_refused_with_their_own_codes(api: Api) -> None:
    till = await api.open_till()

    bad_phone = await till.post("/v1/pos/members", {"phone": "12345"})
    bad_email = await till.post(
        "/v1/pos/members", {"phone": "13800138001", "email": "not-an-email"}
    )
    future = await till.post("/v1/pos/members", {"phone": "13800138002", "birthday": "2999-01-01"})

    assert (bad_phone.status_code, bad_phone.json()["code"]) == (422, "invalid_phone_number")
    assert (bad_email.status_code, bad_email.json()["code"]) == (422, "invalid_email")
    assert (future.status_code, future.json()["code"]) == (422, "validation_error")
    assert future.json()["errors"][0]["field"] == "birthday"


async def test_lookup_by_card_number_accepts_spaces(api: Api) -> None:
    till = await api.open_till()
    member = await till.enrol()
    spaced = " ".join(member["card_number"][i : i + 4] for i in range(0, 16, 4))

    response = await api.client.get(
        "/v1/pos/members/lookup", params={"card_number": spaced}, headers=till.headers()
    )

    assert response.status_code == 200
    assert response.json()["member_id"] == member["member_id"]
