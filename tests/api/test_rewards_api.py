"""The automatic rewards' settings over HTTP: a coupon for a good review, one for a birthday.

What they issue is pinned on PostgreSQL in tests/integration/test_coupon_jobs.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.client import Api
from tests.api.test_coupon_templates_api import create_template

REVIEW = "/v1/admin/review-reward"
BIRTHDAY = "/v1/admin/birthday-reward"
UNKNOWN = "00000000-0000-4000-8000-000000000000"


async def put(api: Api, path: str, body: dict[str, Any]) -> Any:
    return await api.client.put(path, json=body, headers=api.admin_headers)


async def get(api: Api, path: str) -> Any:
    return await api.client.get(path, headers=api.admin_headers)


# Review reward -------------------------------------------------------------------------------


async def test_the_review_reward_is_off_until_an_admin_turns_it_on(api: Api) -> None:
    response = await get(api, REVIEW)

    assert response.status_code == 200, response.text
    assert response.json() == {"enabled": False, "min_rating": 5, "template_id": None}


async def test_the_review_reward_is_saved_and_read_back(api: Api) -> None:
    template = await create_template(api)
    body = {"enabled": True, "min_rating": 4, "template_id": template["id"]}

    saved = await put(api, REVIEW, body)

    assert saved.status_code == 200, saved.text
    assert saved.json() == body
    assert (await get(api, REVIEW)).json() == body
    off = await put(api, REVIEW, {**body, "enabled": False})
    assert off.json() == {**body, "enabled": False}


async def test_a_review_reward_with_an_unknown_template_is_404(api: Api) -> None:
    response = await put(api, REVIEW, {"enabled": True, "min_rating": 4, "template_id": UNKNOWN})

    assert response.status_code == 404
    assert response.json()["code"] == "coupon_template_not_found"
    assert (await get(api, REVIEW)).json()["enabled"] is False


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"enabled": True, "min_rating": 4}, "template_id"),
        ({"enabled": False, "min_rating": 0}, "min_rating"),
        ({"enabled": False, "min_rating": 6}, "min_rating"),
        ({"enabled": False, "bonus": 1}, "bonus"),
    ],
    ids=["enabled-without-template", "rating-0", "rating-6", "unknown-field"],
)
async def test_an_invalid_review_reward_is_422(api: Api, body: dict[str, Any], field: str) -> None:
    response = await put(api, REVIEW, body)

    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "validation_error"
    assert any(
        (e["field"] or "").startswith(field) or f"`{field}`" in (e["message"] or "")
        for e in problem["errors"]
    ), problem


async def test_the_review_reward_is_for_admins_only(api: Api) -> None:
    till = await api.open_till()
    member = await till.enrol()

    assert (await api.client.get(REVIEW)).status_code == 401
    member_view = await api.client.get(REVIEW, headers=api.member_headers(member["member_id"]))
    assert member_view.status_code == 403


# Birthday reward -----------------------------------------------------------------------------


async def test_the_birthday_reward_is_off_until_an_admin_turns_it_on(api: Api) -> None:
    response = await get(api, BIRTHDAY)

    assert response.status_code == 200, response.text
    assert response.json() == {"enabled": False, "template_id": None, "days_ahead": 7}


async def test_the_birthday_reward_is_saved_and_read_back(api: Api) -> None:
    template = await create_template(api)
    body = {"enabled": True, "template_id": template["id"], "days_ahead": 0}

    saved = await put(api, BIRTHDAY, body)

    assert saved.status_code == 200, saved.text
    assert saved.json() == body
    assert (await get(api, BIRTHDAY)).json() == body


async def test_a_birthday_reward_with_an_unknown_template_is_404(api: Api) -> None:
    response = await put(api, BIRTHDAY, {"enabled": True, "template_id": UNKNOWN})

    assert response.status_code == 404
    assert response.json()["code"] == "coupon_template_not_found"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"enabled": True}, "template_id"),
        ({"enabled": False, "days_ahead": -1}, "days_ahead"),
        ({"enabled": False, "days_ahead": 61}, "days_ahead"),
        ({"enabled": "yes"}, "enabled"),
    ],
    ids=["enabled-without-template", "days-ahead-negative", "days-ahead-61", "not-a-boolean"],
)
async def test_an_invalid_birthday_reward_is_422(
    api: Api, body: dict[str, Any], field: str
) -> None:
    response = await put(api, BIRTHDAY, body)

    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "validation_error"
    assert any((e["field"] or "").startswith(field) for e in problem["errors"]), problem
    assert (await get(api, BIRTHDAY)).json()["enabled"] is False
