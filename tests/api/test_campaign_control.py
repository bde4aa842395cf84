"""Campaign control in the back office: retiring a coupon template, voiding an issued coupon,
editing a draw campaign before it starts and ending one early, and who a segment campaign
reached and left out."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.api.client import Api
from tests.api.test_coupon_templates_api import (
    ISSUE,
    count,
    create_template,
    iso,
    issue,
    members,
)
from tests.api.test_draws_api import CAMPAIGNS, a_member, campaign_body, sell

TEMPLATES = "/v1/admin/coupon-templates"
RECIPIENTS = "/v1/admin/coupons/campaign-recipients"
SKIPS = "/v1/admin/coupons/campaign-skips"


async def audit(db: str, action: str) -> list[dict[str, Any]]:
    rows = await count(
        db,
        "SELECT coalesce(json_agg(json_build_object('actor', actor, 'subject', subject, "
        "'details', details) ORDER BY id), '[]') FROM audit_log WHERE action = $1",
        action,
    )
    found: list[dict[str, Any]] = json.loads(rows)
    return found


# Retiring a template -------------------------------------------------------------------------


async def test_a_retired_template_issues_nothing_more_and_its_coupons_stay_usable(
    api: Api, clean_db: str
) -> None:
    till = await api.open_till()
    [member_id] = await members(till, 1)
    template = await create_template(api)
    [coupon] = (await issue(api, template["id"], member_id))["issued"]

    retired = await api.admin_post(
        f"{TEMPLATES}/{template['id']}/retire", {"reason": "summer is over"}
    )
    again = await api.admin_post(f"{TEMPLATES}/{template['id']}/retire", {})
    refused = await api.admin_post(
        ISSUE, {"template_id": template["id"], "member_ids": [member_id]}
    )
    segment = await api.admin_post(
        ISSUE,
        {"template_id": template["id"], "segment": {"tier": "member"}, "campaign_key": "k"},
    )
    sale = await till.sell(
        "R-1",
        [{"sku": "A", "quantity": 1, "unit_price": 5000}],
        member_id=member_id,
        coupon_codes=[coupon["code"]],
    )

    assert retired.status_code == 200, retired.text
    assert retired.json()["active"] is False
    assert retired.json()["retired_at"]
    assert again.json()["retired_at"] == retired.json()["retired_at"]
    assert (refused.status_code, refused.json()["code"]) == (409, "coupon_template_retired")
    assert (segment.status_code, segment.json()["code"]) == (409, "coupon_template_retired")
    assert sale.status_code == 201, sale.text
    assert sale.json()["applied_coupons"] == [coupon["code"]]
    [entry] = await audit(clean_db, "coupon_template.retired")
    assert entry["details"]["reason"] == "summer is over"


async def test_a_retired_prize_template_drops_out_of_a_draw_and_cannot_be_a_new_prize(
    api: Api,
) -> None:
    template = await create_template(api)
    campaign = await api.admin_post(
        CAMPAIGNS,
        campaign_body(
            prizes=[{"code": "c", "name": "10 off", "weight": 1, "template_id": template["id"]}]
        ),
    )
    await api.admin_post(f"{TEMPLATES}/{template['id']}/retire", {})

    odds = await api.client.get(f"/v1/draw-campaigns/{campaign.json()['id']}/odds")
    another = await api.admin_post(
        CAMPAIGNS,
        campaign_body(
            prizes=[{"code": "c", "name": "10 off", "weight": 1, "template_id": template["id"]}]
        ),
    )

    assert {p["code"]: p["probability"] for p in odds.json()["prizes"]} == {"c": "0"}
    assert (another.status_code, another.json()["code"]) == (409, "coupon_template_retired")


async def test_retiring_an_unknown_template_is_404(api: Api) -> None:
    response = await api.admin_post(f"{TEMPLATES}/00000000-0000-4000-8000-000000000000/retire", {})

    assert (response.status_code, response.json()["code"]) == (404, "coupon_template_not_found")


# Voiding a coupon ----------------------------------------------------------------------------


async def test_a_voided_coupon_is_refused_at_the_till_and_the_void_is_audited(
    api: Api, clean_db: str
) -> None:
    till = await api.open_till()
    [member_id] = await members(till, 1)
    template = await create_template(api)
    [coupon] = (await issue(api, template["id"], member_id))["issued"]

    voided = await api.admin_post(
        f"/v1/admin/coupons/{coupon['coupon_id']}/void", {"reason": "issued by mistake"}
    )
    sale = await till.sell(
        "R-1",
        [{"sku": "A", "quantity": 1, "unit_price": 5000}],
        member_id=member_id,
        coupon_codes=[coupon["code"]],
    )
    mine = await api.client.get(
        "/v1/me/coupons", params={"status": "voided"}, headers=api.member_headers(member_id)
    )

    assert voided.status_code == 200, voided.text
    assert voided.json()["status"] == "voided"
    assert "code" not in voided.json()
    assert sale.status_code == 422
    assert sale.json()["code"] == "coupon_not_redeemable"
    assert [c["status"] for c in mine.json()["items"]] == ["voided"]
    [entry] = await audit(clean_db, "coupon.voided")
    assert entry["subject"] == f"coupon:{coupon['coupon_id']}"
    assert entry["details"]["reason"] == "issued by mistake"
    assert entry["details"]["member_id"] == member_id


async def test_a_redeemed_or_voided_coupon_cannot_be_voided(api: Api) -> None:
    till = await api.open_till()
    [member_id] = await members(till, 1)
    template = await create_template(api)
    first, second = (await issue(api, template["id"], member_id, member_id))["issued"] + (
        await issue(api, template["id"], member_id)
    )["issued"]
    await till.sell(
        "R-1",
        [{"sku": "A", "quantity": 1, "unit_price": 5000}],
        member_id=member_id,
        coupon_codes=[first["code"]],
    )
    await api.admin_post(f"/v1/admin/coupons/{second['coupon_id']}/void", {"reason": "x"})

    redeemed = await api.admin_post(
        f"/v1/admin/coupons/{first['coupon_id']}/void", {"reason": "too late"}
    )
    twice = await api.admin_post(
        f"/v1/admin/coupons/{second['coupon_id']}/void", {"reason": "again"}
    )
    unknown = await api.admin_post(
        "/v1/admin/coupons/00000000-0000-4000-8000-000000000000/void", {"reason": "x"}
    )
    no_reason = await api.admin_post(f"/v1/admin/coupons/{second['coupon_id']}/void", {})

    assert (redeemed.status_code, redeemed.json()["code"]) == (409, "coupon_not_voidable")
    assert "redeemed" in redeemed.json()["detail"]
    assert (twice.status_code, twice.json()["code"]) == (409, "coupon_not_voidable")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "coupon_not_found")
    assert (no_reason.status_code, no_reason.json()["code"]) == (422, "validation_error")


# Draw campaigns ------------------------------------------------------------------------------


def _later(days: int) -> str:
    return iso(datetime.now(UTC) + timedelta(days=days))


async def test_a_campaign_that_has_not_started_can_be_edited_and_the_edit_is_audited(
    api: Api, clean_db: str
) -> None:
    created = await api.admin_post(CAMPAIGNS, campaign_body(starts_at=_later(2), ends_at=_later(9)))
    campaign_id = created.json()["id"]

    edited = await api.client.put(
        f"{CAMPAIGNS}/{campaign_id}",
        json=campaign_body(
            name="Autumn draw",
            threshold=20000,
            starts_at=_later(3),
            ends_at=_later(10),
            prizes=[
                {"code": "mug", "name": "A mug", "weight": 2, "stock": 5},
                {"code": "pen", "name": "A pen", "weight": 8},
            ],
        ),
        headers=api.admin_headers,
    )
    shown = await api.client.get(f"{CAMPAIGNS}/{campaign_id}", headers=api.admin_headers)

    assert edited.status_code == 200, edited.text
    assert shown.json()["name"] == "Autumn draw"
    assert shown.json()["threshold"] == 20000
    assert [(p["code"], p["weight"], p["stock"]) for p in shown.json()["prizes"]] == [
        ("mug", 2, 5),
        ("pen", 8, None),
    ]
    [entry] = await audit(clean_db, "draw_campaign.edited")
    assert entry["details"]["name"] == "Autumn draw"


async def test_a_started_campaign_cannot_be_edited(api: Api) -> None:
    created = await api.admin_post(CAMPAIGNS, campaign_body())  # started yesterday

    edited = await api.client.put(
        f"{CAMPAIGNS}/{created.json()['id']}",
        json=campaign_body(name="Renamed"),
        headers=api.admin_headers,
    )

    assert (edited.status_code, edited.json()["code"]) == (409, "draw_campaign_started")


async def test_an_edit_is_checked_like_a_new_campaign(api: Api) -> None:
    created = await api.admin_post(CAMPAIGNS, campaign_body(starts_at=_later(2), ends_at=_later(9)))

    backwards = await api.client.put(
        f"{CAMPAIGNS}/{created.json()['id']}",
        json=campaign_body(starts_at=_later(9), ends_at=_later(2)),
        headers=api.admin_headers,
    )
    unknown = await api.client.put(
        f"{CAMPAIGNS}/00000000-0000-4000-8000-000000000000",
        json=campaign_body(),
        headers=api.admin_headers,
    )

    assert (backwards.status_code, backwards.json()["code"]) == (422, "validation_error")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "draw_campaign_not_found")


async def test_a_campaign_ended_early_grants_no_more_chances_and_its_chances_stay_playable(
    api: Api, clean_db: str
) -> None:
    till = await api.open_till()
    member_id = await a_member(api, till)
    created = await api.admin_post(CAMPAIGNS, campaign_body())
    campaign_id = created.json()["id"]
    before = await sell(till, "R-1", member_id, 35000)

    ended = await api.admin_post(f"{CAMPAIGNS}/{campaign_id}/end", {"reason": "stock gone"})
    after = await sell(till, "R-2", member_id, 35000)
    again = await api.admin_post(f"{CAMPAIGNS}/{campaign_id}/end", {})
    draws = await api.client.get("/v1/me/draws", headers=api.member_headers(member_id))
    [chance] = draws.json()["items"]
    played = await api.client.post(
        f"/v1/me/draws/{chance['chance_id']}/play",
        headers={**api.member_headers(member_id), "Idempotency-Key": "play-1"},
    )

    assert ended.status_code == 200, ended.text
    assert datetime.fromisoformat(ended.json()["ends_at"]) <= datetime.now(UTC)
    assert (before["draw_chances"], after["draw_chances"]) == (1, 0)
    assert (again.status_code, again.json()["code"]) == (409, "draw_campaign_not_running")
    assert played.status_code == 200, played.text
    [entry] = await audit(clean_db, "draw_campaign.ended")
    assert entry["details"]["reason"] == "stock gone"


async def test_a_campaign_that_has_not_started_cannot_be_ended(api: Api) -> None:
    created = await api.admin_post(CAMPAIGNS, campaign_body(starts_at=_later(2), ends_at=_later(9)))

    ended = await api.admin_post(f"{CAMPAIGNS}/{created.json()['id']}/end", {})

    assert (ended.status_code, ended.json()["code"]) == (409, "draw_campaign_not_running")


# Who a segment campaign reached --------------------------------------------------------------


async def test_a_segment_campaign_lists_its_recipients_and_who_it_skipped_and_why(
    api: Api, clean_db: str
) -> None:
    till = await api.open_till()
    reached = await members(till, 3)
    template = await create_template(api, total_limit=3)
    first = await api.admin_post(
        ISSUE,
        {"template_id": template["id"], "segment": {"tier": "member"}, "campaign_key": "spring"},
    )
    late = await members(till, 2, first=10)
    second = await api.admin_post(
        ISSUE,
        {"template_id": template["id"], "segment": {"tier": "member"}, "campaign_key": "spring"},
    )

    page = await api.client.get(
        RECIPIENTS, params={"campaign_key": "spring", "limit": 2}, headers=api.admin_headers
    )
    rest = await api.client.get(
        RECIPIENTS,
        params={"campaign_key": "spring", "limit": 2, "cursor": page.json()["next_cursor"]},
        headers=api.admin_headers,
    )
    skips = await api.client.get(
        SKIPS, params={"campaign_key": "spring"}, headers=api.admin_headers
    )
    other = await api.client.get(
        RECIPIENTS, params={"campaign_key": "autumn"}, headers=api.admin_headers
    )

    assert (first.json()["issued_count"], second.json()["issued_count"]) == (3, 0)
    listed = page.json()["items"] + rest.json()["items"]
    assert sorted(i["member_id"] for i in listed) == sorted(reached)
    assert all(i["status"] == "available" for i in listed)
    assert rest.json()["next_cursor"] is None
    assert sorted((s["member_id"], s["reason"]) for s in skips.json()["items"]) == sorted(
        (m, "total_limit_reached") for m in late
    )
    assert other.json() == {"items": [], "next_cursor": None}


async def test_a_member_reached_by_a_later_sending_is_no_longer_listed_as_skipped(
    api: Api,
) -> None:
    till = await api.open_till()
    await members(till, 2)
    template = await create_template(api, per_member_limit=1)
    [held] = await members(till, 1, first=10)
    # This member already holds a coupon of the template: the campaign skips them.
    await issue(api, template["id"], held)
    body = {"template_id": template["id"], "segment": {"tier": "member"}, "campaign_key": "k"}
    await api.admin_post(ISSUE, body)
    skipped = await api.client.get(SKIPS, params={"campaign_key": "k"}, headers=api.admin_headers)
    assert [(s["member_id"], s["reason"]) for s in skipped.json()["items"]] == [
        (held, "per_member_limit_reached")
    ]

    raised = await api.client.put(
        f"{TEMPLATES}/{template['id']}",
        json={
            "name": "10 off",
            "kind": "fixed",
            "value": 1000,
            "valid_days": 30,
            "per_member_limit": 2,
        },
        headers=api.admin_headers,
    )
    assert raised.status_code == 200, raised.text
    await api.admin_post(ISSUE, body)

    skipped = await api.client.get(SKIPS, params={"campaign_key": "k"}, headers=api.admin_headers)
    recipients = await api.client.get(
        RECIPIENTS, params={"campaign_key": "k"}, headers=api.admin_headers
    )
    assert skipped.json()["items"] == []
    assert held in [r["member_id"] for r in recipients.json()["items"]]


async def test_the_campaign_lists_need_a_campaign_key(api: Api) -> None:
    response = await api.client.get(RECIPIENTS, headers=api.admin_headers)

    assert (response.status_code, response.json()["code"]) == (422, "validation_error")


async def test_a_campaign_key_that_is_not_utf8_is_refused(api: Api) -> None:
    for path in (RECIPIENTS, SKIPS):
        response = await api.client.get(
            f"{path}?campaign_key=spring%ED%A0%80", headers=api.admin_headers
        )
        assert (response.status_code, response.json()["code"]) == (422, "validation_error")
