"""Bad input is answered with a 4xx problem and a stable code: never a 500, never a write."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from tests.api.client import Api

GOOD_LINE = {"sku": "A", "quantity": 1, "unit_price": 100}


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"receipt_id": "R", "lines": [{**GOOD_LINE, "quantity": -2}]}, 422, "validation_error"),
        ({"receipt_id": "R", "lines": [{**GOOD_LINE, "quantity": 0}]}, 422, "validation_error"),
        ({"receipt_id": "R", "lines": [{**GOOD_LINE, "unit_price": -1}]}, 422, "validation_error"),
        ({"receipt_id": "R", "lines": [{**GOOD_LINE, "unit_price": 10**30}]}, 422, None),
        ({"receipt_id": "R", "lines": [{**GOOD_LINE, "quantity": 10**6}]}, 422, None),
        (
            {
                "receipt_id": "R",
                "lines": [{**GOOD_LINE, "quantity": 100_000, "unit_price": 10**12}],
            },
            422,
            "amount_too_large",
        ),
        ({"receipt_id": "R", "lines": [{**GOOD_LINE, "quantity": "two"}]}, 422, None),
        ({"receipt_id": "R", "lines": [{**GOOD_LINE, "quantity": 1.5}]}, 422, None),
        ({"receipt_id": "R", "lines": [{**GOOD_LINE, "unit_price": 99.99}]}, 422, None),
        ({"receipt_id": "R", "lines": [GOOD_LINE], "surprise": True}, 422, None),
        ({"receipt_id": "R", "lines": []}, 422, None),
        ({"lines": [GOOD_LINE]}, 422, None),
        ({"receipt_id": "", "lines": [GOOD_LINE]}, 422, None),
        ({"receipt_id": "R", "lines": [{**GOOD_LINE, "sku": ""}]}, 422, None),
        (
            {"receipt_id": "R", "lines": [GOOD_LINE], "occurred_at": "2026-01-01T10:00:00"},
            422,
            None,
        ),
        ({"receipt_id": "R", "lines": [GOOD_LINE], "occurred_at": "yesterday"}, 422, None),
        ({"receipt_id": "R", "lines": [GOOD_LINE], "member_id": "not-a-uuid"}, 422, None),
        (
            {
                "receipt_id": "R",
                "lines": [GOOD_LINE],
                "member_id": "00000000-0000-4000-8000-0000000000aa",
            },
            404,
            "member_not_found",
        ),
        ({"receipt_id": "R", "lines": [GOOD_LINE], "redeem_points": -5}, 422, None),
        (
            {"receipt_id": "R", "lines": [GOOD_LINE], "redeem_points": 10},
            422,
            "redemption_needs_member",
        ),
        ([1, 2, 3], 422, None),
        ("just a string", 422, None),
    ],
)
async def test_a_bad_sale_is_a_problem_and_writes_nothing(
    api: Api, clean_db: str, body: Any, status: int, code: str | None
) -> None:
    till = await api.open_till()

    response = await till.post("/v1/pos/sales", body)

    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["code"] == (code or "validation_error")
    assert {"type", "title", "status", "detail", "code"} <= problem.keys()
    assert "Traceback" not in response.text
    connection = await asyncpg.connect(clean_db)
    try:
        assert await connection.fetchval("SELECT count(*) FROM sales") == 0
    finally:
        await connection.close()


async def test_malformed_json_is_a_400_problem(api: Api) -> None:
    till = await api.open_till()
    response = await api.client.post(
        "/v1/pos/sales",
        content=b'{"receipt_id": "R", "lines": [',
        headers={**till.headers(), "Content-Type": "application/json"},
    )

    assert response.status_code == 400
    assert response.json()["code"] == "malformed_request"


async def test_a_body_over_the_size_limit_is_413(api: Api) -> None:
    till = await api.open_till()
    response = await api.client.post(
        "/v1/pos/sales",
        content=b'{"receipt_id": "' + b"x" * 2_000_000 + b'"}',
        headers={**till.headers(), "Content-Type": "application/json"},
    )

    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


async def test_an_unknown_route_is_a_404_problem(api: Api) -> None:
    response = await api.client.get("/v1/nothing-here")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


async def test_a_wrong_method_is_a_405_problem(api: Api) -> None:
    response = await api.client.delete("/v1/admin/program", headers=api.admin_headers)

    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({}, 422, "validation_error"),
        ({"phone": "13800138000", "card_number": "8000000000000000"}, 422, "validation_error"),
        ({"card_number": "8000000000000001"}, 422, "invalid_card_number"),
        ({"card_number": "abc"}, 422, "invalid_card_number"),
        ({"phone": "12"}, 422, "invalid_phone_number"),
        ({"phone": "+8613900000000"}, 404, "member_not_found"),
    ],
)
async def test_a_bad_lookup_is_a_problem(
    api: Api, params: dict[str, str], status: int, code: str
) -> None:
    till = await api.open_till()
    response = await api.client.get("/v1/pos/members/lookup", params=params, headers=till.headers())

    assert response.status_code == status, response.text
    assert response.json()["code"] == code
