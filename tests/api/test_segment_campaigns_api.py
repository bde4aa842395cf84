"""Coupons to a segment: everyone in it once per campaign key, newcomers on a resend."""

from __future__ import annotations

from typing import Any

from tests.api.client import Api
from tests.api.test_coupon_templates_api import ISSUE, count, create_template, members


async def campaign(api: Api, template_id: str, **extra: Any) -> Any:
    return await api.admin_post(
        ISSUE,
        {"template_id": template_id, "segment": {"tier": "member"}, "campaign_key": "spring"}
        | extra,
    )


async def test_a_segment_campaign_reaches_each_member_once_and_newcomers_on_a_resend(
    api: Api, clean_db: str
) -> None:
    till = await api.open_till()
    first = await members(till, 3)
    template = await create_template(api)
    preview = await api.client.get(
        "/v1/admin/segments/preview", params={"tier": "member"}, headers=api.admin_headers
    )
    assert preview.json()["members"] == 3

    sent = await campaign(api, template["id"])
    assert sent.status_code == 201, sent.text
    assert (sent.json()["issued_count"], sent.json()["skipped_count"]) == (3, 0)

    [newcomer] = await members(till, 1, first=10)
    again = await campaign(api, template["id"])
    assert (again.json()["issued_count"], again.json()["skipped_count"]) == (1, 3)
    held = await count(
        clean_db,
        "SELECT array_agg(member_id::text ORDER BY member_id) FROM coupons "
        "WHERE source = 'campaign' AND source_ref = 'spring'",
    )
    assert sorted(held) == sorted([*first, newcomer])


async def test_a_segment_campaign_needs_a_campaign_key_and_a_valid_segment(api: Api) -> None:
    template = await create_template(api)
    no_key = await api.admin_post(
        ISSUE, {"template_id": template["id"], "segment": {"tier": "member"}}
    )
    assert no_key.status_code == 422
    assert no_key.json()["code"] == "validation_error"
    unknown = await campaign(api, template["id"], segment={"rfm": "royalty"})
    assert unknown.status_code == 422
    both = await campaign(api, template["id"], member_ids=["00000000-0000-0000-0000-000000000001"])
    assert both.status_code == 422


async def test_a_segment_campaign_stops_at_the_templates_total_limit(api: Api) -> None:
    till = await api.open_till()
    await members(till, 4)
    template = await create_template(api, total_limit=2)
    sent = await campaign(api, template["id"])
    assert (sent.json()["issued_count"], sent.json()["skipped_count"]) == (2, 2)
