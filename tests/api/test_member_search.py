"""Finding a member in the back office: by phone in any form the till takes, card number,
e-mail, part of a name or an external id; paged; never an erased member."""

from __future__ import annotations

from typing import Any

import asyncpg

from tests.api.client import Api

MEMBERS = "/v1/admin/members"


async def find(api: Api, **params: Any) -> Any:
    response = await api.client.get(MEMBERS, params=params, headers=api.admin_headers)
    return response


async def ids(api: Api, **params: Any) -> list[str]:
    response = await find(api, **params)
    assert response.status_code == 200, response.text
    return [m["member_id"] for m in response.json()["items"]]


async def test_a_member_is_found_by_phone_in_any_form_the_till_accepts(api: Api) -> None:
    till = await api.open_till()
    member = await till.enrol("13800138000", name="Li Wei", email="li.wei@example.com")
    await till.enrol("13900139000")

    forms = ["13800138000", "+8613800138000", "+86 138 0013 8000", "138-0013-8000"]
    found = [await ids(api, phone=form) for form in forms]

    assert found == [[member["member_id"]]] * len(forms)
    response = await find(api, phone="13800138000")
    [item] = response.json()["items"]
    assert item == {
        "member_id": member["member_id"],
        "phone": "+8613800138000",
        "name": "Li Wei",
        "email": "li.wei@example.com",
        "card_number": member["card_number"],
        "tier_code": item["tier_code"],
        "enrolled_at": item["enrolled_at"],
    }


async def test_a_phone_the_till_would_refuse_is_refused_the_same_way(api: Api) -> None:
    response = await find(api, phone="12345")

    assert (response.status_code, response.json()["code"]) == (422, "invalid_phone_number")


async def test_a_member_is_found_by_any_of_their_cards_and_by_email_whatever_the_case(
    api: Api,
) -> None:
    till = await api.open_till()
    member = await till.enrol("13800138000", email="Li.Wei@Example.com")
    replaced = await api.admin_post(f"{MEMBERS}/{member['member_id']}/card/replace", {})
    new_card = replaced.json()["card_number"]

    by_old_card = await ids(api, card_number=member["card_number"])
    by_new_card = await ids(api, card_number=" ".join([new_card[:4], new_card[4:]]))
    by_email = await ids(api, email="li.wei@EXAMPLE.com")
    by_upper = await ids(api, email="LI.WEI@example.com")
    nobody = await ids(api, email="someone@example.com")

    assert by_old_card == by_new_card == [member["member_id"]]
    assert by_email == by_upper == [member["member_id"]]
    assert nobody == []


async def test_a_name_is_found_by_any_part_of_it_whatever_the_case(api: Api) -> None:
    till = await api.open_till()
    li = await till.enrol("13800138001", name="Li Wei")
    wang = await till.enrol("13800138002", name="Wang Li")
    zhang = await till.enrol("13800138003", name="张伟")
    await till.enrol("13800138004", name="Chen Jie")
    await till.enrol("13800138005")  # no name
    await till.enrol("13800138006", name="100% Li_x")

    assert sorted(await ids(api, name="li")) == sorted(
        [li["member_id"], wang["member_id"], (await ids(api, name="100%"))[0]]
    )
    assert await ids(api, name="  WANG   li ") == [wang["member_id"]]
    assert await ids(api, name="伟") == [zhang["member_id"]]
    assert await ids(api, name="%") == await ids(api, name="100%")  # a '%' is a '%'
    assert await ids(api, name="w_") == []  # and a "_" is a "_" (not the "we" of "wei")
    assert len(await ids(api, name="_")) == 1


async def test_a_member_is_found_by_an_id_in_another_system(api: Api, clean_db: str) -> None:
    till = await api.open_till()
    imported = await till.enrol("13800138001")
    shopper = await till.enrol("13800138002")
    connection = await asyncpg.connect(clean_db)
    try:
        await connection.execute(
            "INSERT INTO member_external_ids (member_id, source, external_id) "
            "VALUES ($1, 'online-retail', '17850')",
            imported["member_id"],
        )
        await connection.execute(
            "INSERT INTO shop_customers (customer_id, member_id) VALUES ('cus_42', $1)",
            shopper["member_id"],
        )
    finally:
        await connection.close()

    assert await ids(api, external_id="17850") == [imported["member_id"]]
    assert await ids(api, external_id="cus_42") == [shopper["member_id"]]
    assert await ids(api, external_id="1785") == []


async def test_the_search_is_paged_by_member_id(api: Api) -> None:
    till = await api.open_till()
    enrolled = [(await till.enrol(f"1380013800{n}", name=f"Li {n}"))["member_id"] for n in range(5)]

    first = await find(api, name="li", limit=2)
    second = await find(api, name="li", limit=2, cursor=first.json()["next_cursor"])
    third = await find(api, name="li", limit=2, cursor=second.json()["next_cursor"])

    pages = [first.json(), second.json(), third.json()]
    listed = [m["member_id"] for page in pages for m in page["items"]]
    assert listed == sorted(enrolled)
    assert third.json()["next_cursor"] is None


async def test_exactly_one_criterion_is_needed(api: Api) -> None:
    none = await find(api)
    two = await find(api, phone="13800138000", name="li")

    assert (none.status_code, none.json()["code"]) == (422, "validation_error")
    assert (two.status_code, two.json()["code"]) == (422, "validation_error")


async def test_an_erased_member_is_found_by_none_of_their_former_data(
    api: Api, clean_db: str
) -> None:
    till = await api.open_till()
    member = await till.enrol("13800138000", name="Li Wei", email="li.wei@example.com")
    kept = await till.enrol("13900139000", name="Li Na")
    connection = await asyncpg.connect(clean_db)
    try:
        await connection.execute(
            "INSERT INTO member_external_ids (member_id, source, external_id) "
            "VALUES ($1, 'online-retail', '17850')",
            member["member_id"],
        )
    finally:
        await connection.close()
    erased = await api.client.post(
        f"{MEMBERS}/{member['member_id']}/erase",
        headers={**api.admin_headers, "Idempotency-Key": "erase-1"},
    )
    assert erased.status_code == 200, erased.text

    assert await ids(api, phone="13800138000") == []
    assert await ids(api, name="li wei") == []
    assert await ids(api, name="li") == [kept["member_id"]]
    assert await ids(api, email="li.wei@example.com") == []
    assert await ids(api, card_number=member["card_number"]) == []
    assert await ids(api, external_id="17850") == []


async def test_text_that_is_not_utf8_is_refused_not_searched_for(api: Api) -> None:
    for query in ("name=Li%ED%A0%80", "email=a%FF%FE@example.com", "external_id=%C0%80"):
        response = await api.client.get(f"{MEMBERS}?{query}", headers=api.admin_headers)
        assert (response.status_code, response.json()["code"]) == (422, "validation_error")
