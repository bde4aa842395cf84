"""Refunds give money back and claw back points pro rata, never more than the sale."""

from __future__ import annotations

import asyncio

from tests.api.client import Api, Till

# 3 x 33.33 + 1 x 0.01: an awkward total that makes rounding visible.
LINES = [
    {"sku": "PILLOW", "quantity": 3, "unit_price": 3333},
    {"sku": "TAG", "quantity": 1, "unit_price": 1},
]


async def _sale(till: Till, member_id: str | None = None, lines: list | None = None) -> dict:
    response = await till.sell("R-REF", lines or LINES, member_id=member_id)
    assert response.status_code == 201, response.text
    return response.json()


async def test_a_partial_refund_by_amount_reverses_points_pro_rata(api: Api) -> None:
    till = await api.open_till()
    member = await till.enrol()
    sale = await _sale(
        till, member["member_id"], [{"sku": "A", "quantity": 1, "unit_price": 25000}]
    )

    response = await till.refund(sale["sale_id"], {"refund_id": "F1", "amount": 10000})

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["amount"] == 10000
    assert body["points_reversed"] == 100
    assert body["points"] == {"available": 150, "pending": 0}
    assert body["points_restored"] == 0
    assert body["coupons_restored"] == []
    assert body["draw_chances_revoked"] == 0


async def test_a_sale_refunded_in_three_pieces_gives_back_exactly_what_was_paid_and_earned(
    api: Api,
) -> None:
    till = await api.open_till()
    member = await till.enrol()
    sale = await _sale(till, member["member_id"])
    assert sale["payable"] == 10000
    assert sale["points_earned"] == 100

    pieces = [
        await till.refund(sale["sale_id"], {"refund_id": "F1", "amount": 3333}),
        await till.refund(
            sale["sale_id"], {"refund_id": "F2", "lines": [{"sku": "PILLOW", "quantity": 1}]}
        ),
        await till.refund(
            sale["sale_id"],
            {
                "refund_id": "F3",
                "lines": [{"sku": "PILLOW", "quantity": 2}, {"sku": "TAG", "quantity": 1}],
            },
        ),
    ]

    assert [p.status_code for p in pieces] == [201, 201, 201]
    assert sum(p.json()["amount"] for p in pieces) == 10000
    assert sum(p.json()["points_reversed"] for p in pieces) == 100
    assert pieces[-1].json()["points"] == {"available": 0, "pending": 0}


async def test_a_refund_by_lines_pays_back_the_lines_share(api: Api) -> None:
    till = await api.open_till()
    sale = await _sale(till)

    response = await till.refund(
        sale["sale_id"], {"refund_id": "F1", "lines": [{"sku": "PILLOW", "quantity": 1}]}
    )

    assert response.status_code == 201
    assert response.json()["amount"] == 3333
    assert response.json()["points"] is None  # a guest sale has no points to touch


async def test_refunding_more_than_is_left_is_refused(api: Api) -> None:
    till = await api.open_till()
    sale = await _sale(till)
    await till.refund(sale["sale_id"], {"refund_id": "F1", "amount": 9000})

    too_much = await till.refund(sale["sale_id"], {"refund_id": "F2", "amount": 1001})
    too_many = await till.refund(
        sale["sale_id"], {"refund_id": "F3", "lines": [{"sku": "TAG", "quantity": 2}]}
    )
    unknown_sku = await till.refund(
        sale["sale_id"], {"refund_id": "F4", "lines": [{"sku": "NOPE", "quantity": 1}]}
    )

    for response in (too_much, too_many):
        assert response.status_code == 422
        assert response.json()["code"] == "refund_exceeds_sale"
    assert unknown_sku.status_code == 422
    assert unknown_sku.json()["code"] == "sku_not_on_sale"


async def test_two_refunds_that_together_exceed_the_sale_cannot_both_pass(
    api: Api,
) -> None:
    till = await api.open_till()
    member = await till.enrol()
    sale = await _sale(till, member["member_id"])

    first, second = await asyncio.gather(
        till.refund(sale["sale_id"], {"refund_id": "F1", "amount": 6000}),
        till.refund(sale["sale_id"], {"refund_id": "F2", "amount": 6000}),
    )

    assert sorted([first.status_code, second.status_code]) == [201, 422]
    ok = first if first.status_code == 201 else second
    assert ok.json()["points"]["available"] == 40


async def test_a_refund_id_is_used_once_per_sale(api: Api) -> None:
    till = await api.open_till()
    sale = await _sale(till)
    first = await till.refund(sale["sale_id"], {"refund_id": "F1", "amount": 100}, key="a")
    replay = await till.refund(sale["sale_id"], {"refund_id": "F1", "amount": 100}, key="a")
    reused = await till.refund(sale["sale_id"], {"refund_id": "F1", "amount": 100}, key="b")

    assert first.status_code == replay.status_code == 201
    assert replay.json() == first.json()
    assert reused.status_code == 409
    assert reused.json()["code"] == "duplicate_refund"


async def test_a_refund_names_lines_or_an_amount(api: Api) -> None:
    till = await api.open_till()
    sale = await _sale(till)

    both = await till.refund(
        sale["sale_id"],
        {"refund_id": "F1", "amount": 100, "lines": [{"sku": "TAG", "quantity": 1}]},
    )
    neither = await till.refund(sale["sale_id"], {"refund_id": "F2"})

    assert both.status_code == neither.status_code == 422
    assert both.json()["code"] == neither.json()["code"] == "validation_error"


async def test_another_stores_sale_cannot_be_refunded(api: Api) -> None:
    """When the programme takes returns only at the store of the sale (by default any store
    of the retailer takes them: tests/api/test_pos_returns.py)."""
    north = await api.open_till("north")
    south = await api.open_till("south")
    sale = await _sale(north)
    program = (await api.client.get("/v1/admin/program", headers=api.admin_headers)).json()
    del program["version"]
    changed = await api.client.put(
        "/v1/admin/program",
        json={**program, "refunds_at_any_store": False},
        headers=api.admin_headers,
    )
    assert changed.status_code == 200, changed.text

    response = await south.refund(sale["sale_id"], {"refund_id": "F1", "amount": 100})

    assert response.status_code == 403
    assert response.json()["code"] == "other_store_returns_disabled"


async def test_an_unknown_sale_is_404(api: Api) -> None:
    till = await api.open_till()
    response = await till.refund(
        "00000000-0000-4000-8000-000000000000", {"refund_id": "F1", "amount": 1}
    )
    malformed = await till.refund("not-a-uuid", {"refund_id": "F1", "amount": 1})

    assert response.status_code == 404
    assert response.json()["code"] == "sale_not_found"
    assert malformed.status_code == 404
