"""Coupon templates and issuing them: what admins define, version and hand out over HTTP."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from tests.api.client import Api, Till, new_key

CODE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}$")
TEMPLATES = "/v1/admin/coupon-templates"
ISSUE = "/v1/admin/coupons/issue"

TEN_OFF = {"name": "10 off", "kind": "fixed", "value": 1000, "valid_days": 30}


def iso(moment: datetime) -> str:
    return moment.isoformat()


def phone(n: int) -> str:
    return f"+86138{n:08d}"


async def create_template(api: Api, **fields: Any) -> dict[str, Any]:
    response = await api.admin_post(TEMPLATES, {**TEN_OFF, **fields})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def issue(api: Api, template_id: str, *member_ids: str, **extra: Any) -> dict[str, Any]:
    response = await api.admin_post(
        ISSUE, {"template_id": template_id, "member_ids": list(member_ids), **extra}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def issue_one(api: Api, template_id: str, member_id: str) -> str:
    """Issues one coupon of the template to the member; returns its code as printed."""
    body = await issue(api, template_id, member_id)
    [issued] = body["issued"]
    code: str = issued["code"]
    return code


async def members(till: Till, count: int, *, first: int = 1) -> list[str]:
    return [(await till.enrol(phone(n)))["member_id"] for n in range(first, first + count)]


async def count(db_url: str, sql: str, *args: Any) -> Any:
    connection = await asyncpg.connect(db_url)
    try:
        return await connection.fetchval(sql, *args)
    finally:
        await connection.close()


# Creating, reading, revising -----------------------------------------------------------------


async def test_a_created_template_echoes_its_fields_at_version_1(api: Api) -> None:
    response = await api.admin_post(
        TEMPLATES,
        {
            "name": "Spring 15%",
            "kind": "percent",
            "value": 15,
            "min_spend": 10000,
            "valid_days": 14,
            "per_member_limit": 2,
            "total_limit": 500,
            "channels": ["pos"],
            "stackable": True,
            "categories": ["bedding", "bath"],
        },
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["version"] == 1
    assert {k: body[k] for k in ("name", "kind", "value", "min_spend", "valid_days")} == {
        "name": "Spring 15%",
        "kind": "percent",
        "value": 15,
        "min_spend": 10000,
        "valid_days": 14,
    }
    assert body["valid_from"] is None
    assert body["valid_until"] is None
    assert (body["per_member_limit"], body["total_limit"]) == (2, 500)
    assert body["channels"] == ["pos"]
    assert body["stackable"] is True
    assert body["categories"] == ["bath", "bedding"]
    assert (body["issued"], body["remaining"]) == (0, 500)

    shown = await api.client.get(f"{TEMPLATES}/{body['id']}", headers=api.admin_headers)
    assert shown.status_code == 200
    assert shown.json() == body


async def test_a_fixed_window_template_keeps_its_dates(api: Api) -> None:
    start = datetime(2030, 1, 1, tzinfo=UTC)
    body = await create_template(
        api, valid_days=None, valid_from=iso(start), valid_until=iso(start + timedelta(days=7))
    )

    assert body["valid_days"] is None
    assert datetime.fromisoformat(body["valid_from"]) == start
    assert datetime.fromisoformat(body["valid_until"]) == start + timedelta(days=7)


async def test_templates_are_listed_page_by_page_with_a_cursor(api: Api) -> None:
    created = {(await create_template(api, name=f"T{n}"))["id"] for n in range(5)}

    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = await api.client.get(TEMPLATES, params=params, headers=api.admin_headers)
        assert page.status_code == 200, page.text
        body = page.json()
        assert len(body["items"]) <= 2
        seen += [item["id"] for item in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
        assert pages < 10

    assert len(seen) == len(set(seen)) == 5
    assert set(seen) == created
    assert pages >= 3


async def test_an_unknown_template_is_404(api: Api) -> None:
    response = await api.client.get(
        f"{TEMPLATES}/00000000-0000-4000-8000-000000000000", headers=api.admin_headers
    )

    assert response.status_code == 404
    assert response.json()["code"] == "coupon_template_not_found"
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_revising_an_unknown_template_is_404(api: Api) -> None:
    response = await api.client.put(
        f"{TEMPLATES}/00000000-0000-4000-8000-000000000000",
        json=TEN_OFF,
        headers=api.admin_headers,
    )

    assert response.status_code == 404
    assert response.json()["code"] == "coupon_template_not_found"


async def test_a_revision_is_version_2_and_a_coupon_from_version_1_keeps_its_terms(
    api: Api,
) -> None:
    till = await api.open_till()
    member = await till.enrol()
    template = await create_template(api, value=1000, min_spend=5000)
    code = await issue_one(api, template["id"], member["member_id"])

    revised = await api.client.put(
        f"{TEMPLATES}/{template['id']}",
        json={**TEN_OFF, "name": "20 off", "value": 2000, "min_spend": 20000},
        headers=api.admin_headers,
    )

    assert revised.status_code == 200, revised.text
    assert revised.json()["version"] == 2
    assert (revised.json()["value"], revised.json()["min_spend"]) == (2000, 20000)
    shown = await api.client.get(f"{TEMPLATES}/{template['id']}", headers=api.admin_headers)
    assert shown.json()["version"] == 2
    assert shown.json()["issued"] == 1

    wallet = await api.client.get("/v1/me/coupons", headers=api.member_headers(member["member_id"]))
    [coupon] = wallet.json()["items"]
    assert (coupon["code"], coupon["value"], coupon["min_spend"]) == (code, 1000, 5000)
    assert coupon["title"] == "10 off"

    # At the till the old terms hold: 60.00 meets the old minimum (50.00), not the new one,
    # and 10.00 comes off, not 20.00.
    quote = await till.post(
        "/v1/pos/quote",
        {
            "member_id": member["member_id"],
            "lines": [{"sku": "MUG", "quantity": 1, "unit_price": 6000}],
            "coupon_codes": [code],
        },
    )
    assert quote.status_code == 200, quote.text
    assert quote.json()["applied_coupons"] == [code]
    assert quote.json()["discount_total"] == 1000

    # A coupon issued now has the new terms.
    new_code = await issue_one(api, template["id"], member["member_id"])
    wallet = await api.client.get("/v1/me/coupons", headers=api.member_headers(member["member_id"]))
    by_code = {c["code"]: c for c in wallet.json()["items"]}
    assert (by_code[new_code]["value"], by_code[new_code]["min_spend"]) == (2000, 20000)
    assert (by_code[code]["value"], by_code[code]["min_spend"]) == (1000, 5000)


# Validation ----------------------------------------------------------------------------------

NOW = datetime(2030, 6, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"kind": "percent", "value": 0}, "value"),
        ({"kind": "percent", "value": 101}, "value"),
        ({"kind": "fixed", "value": 0}, "value"),
        (
            {
                "valid_days": None,
                "valid_from": iso(NOW),
                "valid_until": iso(NOW - timedelta(days=1)),
            },
            "valid_until",
        ),
        (
            {"valid_days": None, "valid_from": iso(NOW), "valid_until": iso(NOW)},
            "valid_until",
        ),
        (
            {
                "valid_days": 7,
                "valid_from": iso(NOW),
                "valid_until": iso(NOW + timedelta(days=1)),
            },
            "valid_days",
        ),
        ({"valid_days": None}, "valid_days"),
        ({"channels": ["pos", "fax"]}, "channels"),
        ({"colour": "red"}, "colour"),
    ],
    ids=[
        "percent-0",
        "percent-101",
        "fixed-0",
        "until-before-from",
        "until-equals-from",
        "days-and-dates",
        "neither",
        "unknown-channel",
        "unknown-field",
    ],
)
async def test_an_invalid_template_is_422_naming_the_field(
    api: Api, change: dict[str, Any], field: str, clean_db: str
) -> None:
    body = {**TEN_OFF, **change}
    body = {k: v for k, v in body.items() if v is not None}

    response = await api.admin_post(TEMPLATES, body)

    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "validation_error"
    # Schema errors name the field in `field` (``channels[1]``); an unknown field is named
    # in the message of the body's error (msgspec reports it against `data`).
    assert any(
        (e["field"] or "").startswith(field) or f"`{field}`" in (e["message"] or "")
        for e in problem["errors"]
    ), problem
    assert await count(clean_db, "SELECT count(*) FROM coupon_templates") == 0


async def test_creating_a_template_needs_an_idempotency_key(api: Api) -> None:
    response = await api.client.post(TEMPLATES, json=TEN_OFF, headers=api.admin_headers)

    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "idempotency_key_invalid"


async def test_a_repeated_key_with_the_same_body_returns_the_same_template(
    api: Api, clean_db: str
) -> None:
    key = new_key()
    first = await api.admin_post(TEMPLATES, TEN_OFF, key=key)
    second = await api.admin_post(TEMPLATES, TEN_OFF, key=key)
    other_body = await api.admin_post(TEMPLATES, {**TEN_OFF, "value": 999}, key=key)

    assert (first.status_code, second.status_code) == (201, 201)
    assert second.json() == first.json()
    assert await count(clean_db, "SELECT count(*) FROM coupon_templates") == 1
    assert other_body.status_code == 409
    assert other_body.json()["code"] == "idempotency_key_reused"


# Issuing -------------------------------------------------------------------------------------


async def test_issuing_gives_each_listed_member_one_coupon_with_a_readable_code(
    api: Api,
) -> None:
    till = await api.open_till()
    listed = await members(till, 3)
    template = await create_template(api)

    body = await issue(api, template["id"], *listed)

    assert body["template_id"] == template["id"]
    assert body["template_version"] == 1
    assert body["skipped"] == []
    assert sorted(c["member_id"] for c in body["issued"]) == sorted(listed)
    codes = [c["code"] for c in body["issued"]]
    assert all(CODE.match(code) for code in codes), codes
    assert len(set(codes)) == 3
    for member_id in listed:
        wallet = await api.client.get("/v1/me/coupons", headers=api.member_headers(member_id))
        [coupon] = wallet.json()["items"]
        assert coupon["status"] == "available"
        assert coupon["code"] in codes
    shown = await api.client.get(f"{TEMPLATES}/{template['id']}", headers=api.admin_headers)
    assert shown.json()["issued"] == 3


async def test_an_unknown_member_is_skipped_and_the_others_get_theirs(api: Api) -> None:
    till = await api.open_till()
    [known] = await members(till, 1)
    template = await create_template(api)
    unknown = "00000000-0000-4000-8000-000000000001"

    body = await issue(api, template["id"], unknown, known)

    assert [c["member_id"] for c in body["issued"]] == [known]
    assert body["skipped"] == [{"member_id": unknown, "reason": "member_not_found"}]


async def test_the_per_member_limit_skips_members_who_hold_enough(api: Api) -> None:
    till = await api.open_till()
    first, second = await members(till, 2)
    template = await create_template(api, per_member_limit=2)

    await issue(api, template["id"], first)
    await issue(api, template["id"], first)
    third = await issue(api, template["id"], first, second)

    assert [c["member_id"] for c in third["issued"]] == [second]
    assert third["skipped"] == [{"member_id": first, "reason": "per_member_limit_reached"}]


async def test_the_total_limit_skips_whoever_comes_after_it_ran_out(api: Api) -> None:
    till = await api.open_till()
    listed = await members(till, 5)
    template = await create_template(api, total_limit=3)

    first = await issue(api, template["id"], *listed[:2])
    second = await issue(api, template["id"], *listed[2:])

    assert len(first["issued"]) == 2
    assert [c["member_id"] for c in second["issued"]] == [listed[2]]
    assert second["skipped"] == [
        {"member_id": m, "reason": "total_limit_reached"} for m in listed[3:]
    ]
    shown = await api.client.get(f"{TEMPLATES}/{template['id']}", headers=api.admin_headers)
    assert (shown.json()["issued"], shown.json()["remaining"]) == (3, 0)


async def test_a_campaign_key_gives_each_member_one_coupon_across_requests(api: Api) -> None:
    till = await api.open_till()
    first, second = await members(till, 2)
    template = await create_template(api)

    one = await issue(api, template["id"], first, campaign_key="spring-2030")
    two = await issue(api, template["id"], first, second, campaign_key="spring-2030")
    other = await issue(api, template["id"], first, campaign_key="summer-2030")

    assert [c["member_id"] for c in one["issued"]] == [first]
    assert [c["member_id"] for c in two["issued"]] == [second]
    assert two["skipped"] == [{"member_id": first, "reason": "already_issued"}]
    assert [c["member_id"] for c in other["issued"]] == [first]
    wallet = await api.client.get("/v1/me/coupons", headers=api.member_headers(first))
    assert len(wallet.json()["items"]) == 2


async def test_a_template_whose_window_has_ended_cannot_be_issued(api: Api) -> None:
    till = await api.open_till()
    [member_id] = await members(till, 1)
    template = await create_template(
        api,
        valid_days=None,
        valid_from="2020-01-01T00:00:00+00:00",
        valid_until="2021-01-01T00:00:00+00:00",
    )

    response = await api.admin_post(
        ISSUE, {"template_id": template["id"], "member_ids": [member_id]}
    )

    assert response.status_code == 409
    assert response.json()["code"] == "coupon_template_closed"


async def test_issuing_an_unknown_template_is_404(api: Api) -> None:
    till = await api.open_till()
    [member_id] = await members(till, 1)

    response = await api.admin_post(
        ISSUE,
        {"template_id": "00000000-0000-4000-8000-000000000000", "member_ids": [member_id]},
    )

    assert response.status_code == 404
    assert response.json()["code"] == "coupon_template_not_found"


async def test_a_repeated_issue_key_answers_the_first_issue_and_issues_nothing_more(
    api: Api, clean_db: str
) -> None:
    till = await api.open_till()
    listed = await members(till, 2)
    template = await create_template(api)
    body = {"template_id": template["id"], "member_ids": listed}
    key = new_key()

    first = await api.admin_post(ISSUE, body, key=key)
    second = await api.admin_post(ISSUE, body, key=key)

    assert (first.status_code, second.status_code) == (201, 201)
    assert second.json() == first.json()
    assert await count(clean_db, "SELECT count(*) FROM coupons") == 2


async def test_issuing_needs_a_member_list_of_at_most_1000(api: Api) -> None:
    template = await create_template(api)
    too_many = [f"00000000-0000-4000-8000-{n:012d}" for n in range(1001)]

    missing = await api.admin_post(ISSUE, {"template_id": template["id"]})
    empty = await api.admin_post(ISSUE, {"template_id": template["id"], "member_ids": []})
    over = await api.admin_post(ISSUE, {"template_id": template["id"], "member_ids": too_many})

    for response in (missing, empty, over):
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "validation_error"
        assert any((e["field"] or "").startswith("member_ids") for e in response.json()["errors"])


async def test_lowering_the_total_limit_below_what_was_issued_is_refused_not_a_500(
    api: Api,
) -> None:
    till = await api.open_till()
    listed = await members(till, 3)
    template = await create_template(api, total_limit=5)
    await issue(api, template["id"], *listed)

    response = await api.client.put(
        f"{TEMPLATES}/{template['id']}",
        json={**TEN_OFF, "total_limit": 2},
        headers=api.admin_headers,
    )

    assert response.status_code in (409, 422), response.text
    shown = await api.client.get(f"{TEMPLATES}/{template['id']}", headers=api.admin_headers)
    assert (shown.json()["version"], shown.json()["total_limit"]) == (1, 5)


async def test_a_member_listed_twice_gets_one_coupon(api: Api, clean_db: str) -> None:
    till = await api.open_till()
    [member_id] = await members(till, 1)
    template = await create_template(api)

    body = await issue(api, template["id"], member_id, member_id)

    assert [c["member_id"] for c in body["issued"]] == [member_id]
    assert body["skipped"] == []
    assert await count(clean_db, "SELECT count(*) FROM coupons") == 1
