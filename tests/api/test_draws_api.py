"""Prize draws over HTTP: campaigns, chances earned at the till, plays, odds, and refunds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any

import pytest

from tests.api.client import Api, Till, new_key
from tests.api.test_coupon_templates_api import create_template, iso

CAMPAIGNS = "/v1/admin/draw-campaigns"
NOW = datetime.now(UTC)


def line(amount: int) -> list[dict[str, Any]]:
    return [{"sku": "SHEET", "category": "bedding", "quantity": 1, "unit_price": amount}]


def campaign_body(**fields: Any) -> dict[str, Any]:
    return {
        "name": "Spring draw",
        "threshold": 10000,
        "chances": "one",
        "chance_valid_days": 30,
        "starts_at": iso(NOW - timedelta(days=1)),
        "ends_at": iso(NOW + timedelta(days=1)),
        "prizes": [{"code": "mug", "name": "A mug", "weight": 1}],
        **fields,
    }


async def create_campaign(api: Api, **fields: Any) -> dict[str, Any]:
    response = await api.admin_post(CAMPAIGNS, campaign_body(**fields))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def chances(api: Api, member_id: str) -> list[dict[str, Any]]:
    response = await api.client.get("/v1/me/draws", headers=api.member_headers(member_id))
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def play(api: Api, member_id: str, chance_id: str, key: str | None = None) -> Any:
    headers = {**api.member_headers(member_id), "Idempotency-Key": key or new_key()}
    return await api.client.post(f"/v1/me/draws/{chance_id}/play", headers=headers)


async def a_member(api: Api, till: Till, n: int = 1) -> str:
    member_id: str = (await till.enrol(f"+86139{n:08d}"))["member_id"]
    return member_id


async def sell(till: Till, receipt: str, member_id: str, amount: int, **extra: Any) -> Any:
    response = await till.sell(receipt, line(amount), member_id=member_id, **extra)
    assert response.status_code == 201, response.text
    return response.json()


# Campaigns -----------------------------------------------------------------------------------


async def test_a_created_campaign_echoes_its_terms_and_prizes(api: Api) -> None:
    template = await create_template(api)
    body = campaign_body(
        chances="per_multiple",
        prizes=[
            {"code": "ten-off", "name": "10 off", "weight": 3, "template_id": template["id"]},
            {"code": "mug", "name": "A mug", "weight": 1, "stock": 5},
        ],
    )

    response = await api.admin_post(CAMPAIGNS, body)

    assert response.status_code == 201, response.text
    created = response.json()
    assert (created["name"], created["threshold"], created["chances"]) == (
        "Spring draw",
        10000,
        "per_multiple",
    )
    assert created["chance_valid_days"] == 30
    assert created["prizes"] == [
        {
            "code": "ten-off",
            "name": "10 off",
            "weight": 3,
            "template_id": template["id"],
            "stock": None,
        },
        {"code": "mug", "name": "A mug", "weight": 1, "template_id": None, "stock": 5},
    ]
    shown = await api.client.get(f"{CAMPAIGNS}/{created['id']}", headers=api.admin_headers)
    assert shown.json() == created
    listed = await api.client.get(CAMPAIGNS, headers=api.admin_headers)
    assert [c["id"] for c in listed.json()["items"]] == [created["id"]]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"ends_at": iso(NOW - timedelta(days=1))}, "ends_at"),
        ({"ends_at": iso(NOW - timedelta(days=2))}, "ends_at"),
        (
            {
                "prizes": [
                    {"code": "mug", "name": "A mug", "weight": 1},
                    {"code": "mug", "name": "Another mug", "weight": 2},
                ]
            },
            "prizes",
        ),
        ({"prizes": [{"code": "mug", "name": "A mug", "weight": 0}]}, "prizes"),
    ],
    ids=["ends-at-start", "ends-before-start", "duplicate-prize-codes", "weight-0"],
)
async def test_an_invalid_campaign_is_422(api: Api, change: dict[str, Any], field: str) -> None:
    response = await api.admin_post(CAMPAIGNS, campaign_body(**change))

    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "validation_error"
    assert any((e["field"] or "").startswith(field) for e in problem["errors"]), problem
    listed = await api.client.get(CAMPAIGNS, headers=api.admin_headers)
    assert listed.json()["items"] == []


async def test_a_prize_naming_an_unknown_template_is_404(api: Api) -> None:
    prizes = [
        {
            "code": "ghost",
            "name": "Nothing real",
            "weight": 1,
            "template_id": "00000000-0000-4000-8000-000000000000",
        }
    ]

    response = await api.admin_post(CAMPAIGNS, campaign_body(prizes=prizes))

    assert response.status_code == 404
    assert response.json()["code"] == "coupon_template_not_found"


async def test_an_unknown_campaign_is_404(api: Api) -> None:
    unknown = "00000000-0000-4000-8000-000000000000"

    shown = await api.client.get(f"{CAMPAIGNS}/{unknown}", headers=api.admin_headers)
    odds = await api.client.get(f"/v1/draw-campaigns/{unknown}/odds")

    assert (shown.status_code, shown.json()["code"]) == (404, "draw_campaign_not_found")
    assert (odds.status_code, odds.json()["code"]) == (404, "draw_campaign_not_found")


# Chances -------------------------------------------------------------------------------------


async def test_a_purchase_reaching_the_threshold_earns_one_chance(api: Api) -> None:
    till = await api.open_till()
    member_id = await a_member(api, till)
    campaign = await create_campaign(api, chances="one")

    quoted = await till.post("/v1/pos/quote", {"member_id": member_id, "lines": line(35000)})
    reached = await sell(till, "R-1", member_id, 35000)
    exact = await sell(till, "R-2", member_id, 10000)
    below = await sell(till, "R-3", member_id, 9999)

    assert quoted.json()["draw_chances"] == 1
    assert (reached["draw_chances"], exact["draw_chances"], below["draw_chances"]) == (1, 1, 0)
    listed = await chances(api, member_id)
    assert len(listed) == 2
    assert {c["campaign_id"] for c in listed} == {campaign["id"]}
    for chance in listed:
        expires = datetime.fromisoformat(chance["expires_at"])
        assert timedelta(days=29) < expires - datetime.now(UTC) <= timedelta(days=30)


async def test_per_multiple_earns_a_chance_per_whole_multiple_of_the_threshold(api: Api) -> None:
    till = await api.open_till()
    member_id = await a_member(api, till)
    await create_campaign(api, chances="per_multiple")

    sale = await sell(till, "R-1", member_id, 35000)

    assert sale["draw_chances"] == 3
    assert len(await chances(api, member_id)) == 3


async def test_chances_are_earned_on_what_is_paid_after_coupons(api: Api) -> None:
    till = await api.open_till()
    member_id = await a_member(api, till)
    template = await create_template(api, value=1000)
    issued = await api.admin_post(
        "/v1/admin/coupons/issue", {"template_id": template["id"], "member_ids": [member_id]}
    )
    code = issued.json()["issued"][0]["code"]
    await create_campaign(api)

    sale = await sell(till, "R-1", member_id, 10500, coupon_codes=[code])

    assert sale["payable"] == 9500
    assert sale["draw_chances"] == 0


async def test_a_purchase_outside_the_window_or_by_a_guest_earns_nothing(api: Api) -> None:
    till = await api.open_till()
    member_id = await a_member(api, till)
    await create_campaign(api)

    before = await sell(
        till, "R-1", member_id, 50000, occurred_at=iso(NOW - timedelta(days=2))
    )  # a till syncing a purchase made before the campaign began
    guest = await till.sell("R-2", line(50000))

    assert before["draw_chances"] == 0
    assert guest.json()["draw_chances"] == 0
    assert await chances(api, member_id) == []


async def test_a_campaign_that_has_not_started_gives_no_chances(api: Api) -> None:
    till = await api.open_till()
    member_id = await a_member(api, till)
    await create_campaign(
        api,
        starts_at=iso(NOW + timedelta(days=1)),
        ends_at=iso(NOW + timedelta(days=2)),
    )

    assert (await sell(till, "R-1", member_id, 50000))["draw_chances"] == 0


# Playing -------------------------------------------------------------------------------------


async def test_playing_draws_a_prize_with_its_coupon_and_replaying_gives_the_same(
    api: Api,
) -> None:
    till = await api.open_till()
    member_id = await a_member(api, till)
    template = await create_template(api, name="Prize 10 off")
    campaign = await create_campaign(
        api,
        prizes=[{"code": "ten-off", "name": "10 off", "weight": 1, "template_id": template["id"]}],
    )
    await sell(till, "R-1", member_id, 20000)
    [chance] = await chances(api, member_id)

    first = await play(api, member_id, chance["chance_id"])
    second = await play(api, member_id, chance["chance_id"])

    assert first.status_code == 200, first.text
    body = first.json()
    assert body["chance_id"] == chance["chance_id"]
    assert (body["prize"]["code"], body["prize"]["name"]) == ("ten-off", "10 off")
    won = body["prize"]["coupon"]
    assert won["title"] == "Prize 10 off"
    assert second.status_code == 200, second.text
    assert second.json() == body
    assert await chances(api, member_id) == []
    wallet = await api.client.get("/v1/me/coupons", headers=api.member_headers(member_id))
    assert [(c["code"], c["status"]) for c in wallet.json()["items"]] == [
        (won["code"], "available")
    ]
    shown = await api.client.get(f"{CAMPAIGNS}/{campaign['id']}", headers=api.admin_headers)
    assert shown.json()["prizes"][0]["stock"] is None


async def test_a_prize_without_a_template_gives_no_coupon(api: Api) -> None:
    till = await api.open_till()
    member_id = await a_member(api, till)
    await create_campaign(api, prizes=[{"code": "hug", "name": "A hug", "weight": 1}])
    await sell(till, "R-1", member_id, 20000)
    [chance] = await chances(api, member_id)

    response = await play(api, member_id, chance["chance_id"])

    assert response.status_code == 200, response.text
    assert response.json()["prize"]["code"] == "hug"
    assert response.json()["prize"].get("coupon") is None


async def test_playing_another_members_chance_is_403_and_an_unknown_one_404(api: Api) -> None:
    till = await api.open_till()
    owner = await a_member(api, till, 1)
    other = await a_member(api, till, 2)
    await create_campaign(api)
    await sell(till, "R-1", owner, 20000)
    [chance] = await chances(api, owner)

    stolen = await play(api, other, chance["chance_id"])
    unknown = await play(api, owner, "00000000-0000-4000-8000-000000000000")

    assert stolen.status_code == 403
    assert stolen.json()["code"] == "forbidden"
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "chance_not_found"
    assert len(await chances(api, owner)) == 1  # still unplayed


async def test_playing_needs_an_idempotency_key(api: Api) -> None:
    till = await api.open_till()
    member_id = await a_member(api, till)
    await create_campaign(api)
    await sell(till, "R-1", member_id, 20000)
    [chance] = await chances(api, member_id)

    response = await api.client.post(
        f"/v1/me/draws/{chance['chance_id']}/play", headers=api.member_headers(member_id)
    )

    assert response.status_code == 400
    assert response.json()["code"] == "idempotency_key_invalid"


# Odds ----------------------------------------------------------------------------------------


async def test_the_odds_are_exact_fractions_that_sum_to_one_and_need_no_login(api: Api) -> None:
    campaign = await create_campaign(
        api,
        prizes=[
            {"code": "small", "name": "Small", "weight": 1},
            {"code": "medium", "name": "Medium", "weight": 2, "stock": 10},
            {"code": "gone", "name": "Sold out", "weight": 50, "stock": 0},
            {"code": "large", "name": "Large", "weight": 4},
        ],
    )

    response = await api.client.get(f"/v1/draw-campaigns/{campaign['id']}/odds")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["campaign_id"] == campaign["id"]
    odds = {p["code"]: p["probability"] for p in body["prizes"]}
    assert odds == {"small": "1/7", "medium": "2/7", "gone": "0", "large": "4/7"}
    assert sum(Fraction(p) for p in odds.values()) == 1
    percent = {p["code"]: p["percent"] for p in body["prizes"]}
    assert percent == {
        "small": "14.2857",
        "medium": "28.5714",
        "gone": "0.0000",
        "large": "57.1429",
    }


# Refunds -------------------------------------------------------------------------------------


async def test_a_refund_below_the_threshold_revokes_the_chance(api: Api) -> None:
    till = await api.open_till()
    member_id = await a_member(api, till)
    await create_campaign(api)
    sale = await sell(till, "R-1", member_id, 15000)
    assert len(await chances(api, member_id)) == 1

    small = await till.refund(sale["sale_id"], {"refund_id": "F-1", "amount": 5000})
    below = await till.refund(sale["sale_id"], {"refund_id": "F-2", "amount": 1})

    assert small.status_code == 201, small.text
    assert small.json()["draw_chances_revoked"] == 0  # 100.00 still reaches the threshold
    assert below.status_code == 201, below.text
    assert below.json()["draw_chances_revoked"] == 1
    assert await chances(api, member_id) == []


async def test_a_refund_takes_back_only_the_chances_no_longer_earned(api: Api) -> None:
    till = await api.open_till()
    member_id = await a_member(api, till)
    await create_campaign(api, chances="per_multiple")
    sale = await sell(till, "R-1", member_id, 35000)

    refund = await till.refund(sale["sale_id"], {"refund_id": "F-1", "amount": 10000})

    assert refund.json()["draw_chances_revoked"] == 1
    assert len(await chances(api, member_id)) == 2


async def test_a_refund_after_playing_voids_the_unused_prize_coupon(api: Api) -> None:
    till = await api.open_till()
    member_id = await a_member(api, till)
    template = await create_template(api, name="Prize 10 off")
    await create_campaign(
        api,
        prizes=[{"code": "ten-off", "name": "10 off", "weight": 1, "template_id": template["id"]}],
    )
    sale = await sell(till, "R-1", member_id, 20000)
    [chance] = await chances(api, member_id)
    won = (await play(api, member_id, chance["chance_id"])).json()["prize"]["coupon"]

    refund = await till.refund(sale["sale_id"], {"refund_id": "F-1", "amount": 20000})

    assert refund.status_code == 201, refund.text
    assert refund.json()["draw_chances_revoked"] == 1
    wallet = await api.client.get("/v1/me/coupons", headers=api.member_headers(member_id))
    assert [(c["code"], c["status"]) for c in wallet.json()["items"]] == [(won["code"], "voided")]
    quote = await till.post(
        "/v1/pos/quote",
        {"member_id": member_id, "lines": line(20000), "coupon_codes": [won["code"]]},
    )
    assert quote.json()["rejected_coupons"] == [{"code": won["code"], "code_reason": "voided"}]


async def test_a_revoked_chance_cannot_be_played(api: Api) -> None:
    till = await api.open_till()
    member_id = await a_member(api, till)
    await create_campaign(api)
    sale = await sell(till, "R-1", member_id, 15000)
    [chance] = await chances(api, member_id)
    await till.refund(sale["sale_id"], {"refund_id": "F-1", "amount": 15000})

    response = await play(api, member_id, chance["chance_id"])

    assert response.status_code == 409
    assert response.json()["code"] == "chance_not_playable"


async def test_per_multiple_chances_are_capped_at_100_per_purchase(api: Api) -> None:
    till = await api.open_till()
    member_id = await a_member(api, till)
    await create_campaign(api, chances="per_multiple", threshold=100)

    sale = await sell(till, "R-1", member_id, 1_000_000)

    assert sale["draw_chances"] == 100
    page = await api.client.get(
        "/v1/me/draws", params={"limit": 200}, headers=api.member_headers(member_id)
    )
    assert len(page.json()["items"]) == 100


async def test_a_refund_takes_back_unplayed_chances_before_played_ones(api: Api) -> None:
    till = await api.open_till()
    member_id = await a_member(api, till)
    template = await create_template(api, name="Prize 10 off")
    await create_campaign(
        api,
        chances="per_multiple",
        prizes=[{"code": "ten-off", "name": "10 off", "weight": 1, "template_id": template["id"]}],
    )
    sale = await sell(till, "R-1", member_id, 30000)
    played, *_ = await chances(api, member_id)
    won = (await play(api, member_id, played["chance_id"])).json()["prize"]["coupon"]

    refund = await till.refund(sale["sale_id"], {"refund_id": "F-1", "amount": 10000})

    assert refund.json()["draw_chances_revoked"] == 1
    assert len(await chances(api, member_id)) == 1  # one unplayed left, the played one kept
    wallet = await api.client.get("/v1/me/coupons", headers=api.member_headers(member_id))
    assert [(c["code"], c["status"]) for c in wallet.json()["items"]] == [
        (won["code"], "available")
    ]


async def test_a_prize_whose_coupon_template_has_closed_never_strands_a_chance(
    api: Api,
) -> None:
    till = await api.open_till()
    member_id = await a_member(api, till)
    closed = await create_template(
        api,
        valid_days=None,
        valid_from="2020-01-01T00:00:00+00:00",
        valid_until="2021-01-01T00:00:00+00:00",
    )
    created = await api.admin_post(
        CAMPAIGNS,
        campaign_body(
            prizes=[{"code": "old", "name": "Old coupon", "weight": 1, "template_id": closed["id"]}]
        ),
    )
    if created.status_code != 201:  # refusing such a campaign up front is fine too
        assert created.json()["code"] == "coupon_template_closed"
        return
    await sell(till, "R-1", member_id, 20000)
    [chance] = await chances(api, member_id)

    response = await play(api, member_id, chance["chance_id"])

    assert response.status_code == 200, response.text
