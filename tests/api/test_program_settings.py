"""Programme and tier settings: GET round-trips into PUT, versions guard against lost
updates (ETag / If-Match or the body's version), and PATCH changes only what it names."""

from __future__ import annotations

import json
from typing import Any

import asyncpg
from httpx import Response

from tests.api.client import Api

MERGE_PATCH = "application/merge-patch+json"


async def get_program(api: Api) -> Response:
    return await api.client.get("/v1/admin/program", headers=api.admin_headers)


async def patch_program(
    api: Api, body: Any, *, content_type: str = MERGE_PATCH, **headers: str
) -> Response:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return await api.client.patch(
        "/v1/admin/program",
        content=raw,
        headers={**api.admin_headers, "Content-Type": content_type, **headers},
    )


async def test_what_get_answers_for_the_programme_is_accepted_by_put_as_it_is(api: Api) -> None:
    shown = await get_program(api)
    assert shown.headers["ETag"] == '"1"'

    saved = await api.client.put("/v1/admin/program", json=shown.json(), headers=api.admin_headers)

    assert saved.status_code == 200, saved.text
    assert saved.json() == {**shown.json(), "version": 2}
    assert saved.headers["ETag"] == '"2"'


async def test_a_put_based_on_an_old_version_is_refused_and_changes_nothing(api: Api) -> None:
    first = (await get_program(api)).json()
    assert (
        await api.client.put(
            "/v1/admin/program", json={**first, "earn_rate": "2"}, headers=api.admin_headers
        )
    ).status_code == 200

    by_body = await api.client.put(
        "/v1/admin/program", json={**first, "earn_rate": "3"}, headers=api.admin_headers
    )
    by_header = await api.client.put(
        "/v1/admin/program",
        json={k: v for k, v in first.items() if k != "version"} | {"earn_rate": "3"},
        headers={**api.admin_headers, "If-Match": '"1"'},
    )

    for refused in (by_body, by_header):
        assert refused.status_code == 409, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["code"] == "program_changed"
    now = (await get_program(api)).json()
    assert (now["version"], now["earn_rate"]) == (2, "2.0000")


async def test_a_put_with_the_current_etag_in_if_match_is_saved(api: Api) -> None:
    shown = await get_program(api)
    body = {k: v for k, v in shown.json().items() if k != "version"}

    saved = await api.client.put(
        "/v1/admin/program",
        json={**body, "pending_days": 3},
        headers={**api.admin_headers, "If-Match": shown.headers["ETag"]},
    )

    assert saved.status_code == 200, saved.text
    assert saved.json()["pending_days"] == 3


async def test_an_if_match_that_is_no_etag_or_disagrees_with_the_body_is_a_validation_error(
    api: Api,
) -> None:
    body = (await get_program(api)).json()
    for if_match, field in (("version 1", "If-Match"), ('"2"', "version")):
        refused = await api.client.put(
            "/v1/admin/program", json=body, headers={**api.admin_headers, "If-Match": if_match}
        )
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["field"] == field


async def test_patching_the_earn_rate_keeps_the_crm_settings_and_everything_else(
    api: Api, clean_db: str
) -> None:
    crm = {"new_days": 20, "dormant_days": 60, "churned_days": 120, "follow_up_days": 3}
    first = (await get_program(api)).json()
    assert (
        await api.client.put(
            "/v1/admin/program", json={**first, "crm": crm}, headers=api.admin_headers
        )
    ).status_code == 200

    patched = await patch_program(api, {"earn_rate": "2.5", "crm": {"follow_up_days": 5}})

    assert patched.status_code == 200, patched.text
    assert patched.json() == {
        **first,
        "earn_rate": "2.5",
        "crm": {**crm, "follow_up_days": 5},
        "version": 3,
    }
    assert patched.headers["ETag"] == '"3"'
    connection = await asyncpg.connect(clean_db)
    try:
        actions = await connection.fetch("SELECT action FROM audit_log ORDER BY id")
    finally:
        await connection.close()
    assert [r["action"] for r in actions] == ["program.updated", "program.updated"]


async def test_a_merge_patch_null_removes_the_expiry_count_and_refuses_a_required_setting(
    api: Api,
) -> None:
    days = await patch_program(api, {"points_expiry": {"kind": "days", "count": 30}})
    assert days.json()["points_expiry"] == {"kind": "days", "count": 30}

    never = await patch_program(api, {"points_expiry": {"kind": "never", "count": None}})
    assert never.status_code == 200, never.text
    assert never.json()["points_expiry"] == {"kind": "never", "count": None}

    refused = await patch_program(api, {"earn_rate": None})
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "earn_rate"


async def test_a_patch_based_on_an_old_version_is_refused(api: Api) -> None:
    assert (await patch_program(api, {"pending_days": 1})).status_code == 200

    stale = await patch_program(api, {"pending_days": 2}, **{"If-Match": '"1"'})
    stale_body = await patch_program(api, {"pending_days": 2, "version": 1})
    current = await patch_program(api, {"pending_days": 2, "version": 2})

    assert (stale.status_code, stale.json()["code"]) == (409, "program_changed")
    assert (stale_body.status_code, stale_body.json()["code"]) == (409, "program_changed")
    assert current.status_code == 200, current.text


async def test_a_patch_goes_through_the_strict_json_boundary(api: Api) -> None:
    as_json = await patch_program(api, {"pending_days": 1}, content_type="application/json")
    duplicate = await patch_program(api, b'{"pending_days": 1, "pending_days": 2}')
    too_deep = await patch_program(api, b'{"crm":' * 70 + b"1" + b"}" * 70)
    as_string = await patch_program(api, {"pending_days": "1"})
    unknown = await patch_program(api, {"crm": {"new_dayz": 3}})
    nul = await patch_program(api, {"time_zone": "Asia/Shang\u0000hai"})

    assert (as_json.status_code, as_json.json()["code"]) == (415, "unsupported_media_type")
    assert (duplicate.status_code, duplicate.json()["code"]) == (400, "duplicate_key")
    assert (too_deep.status_code, too_deep.json()["code"]) == (400, "nesting_too_deep")
    for refused, field in (
        (as_string, "pending_days"),
        (unknown, "crm.new_dayz"),
        (nul, "time_zone"),
    ):
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["field"] == field
    assert (await get_program(api)).json()["version"] == 1


async def test_what_get_answers_for_the_tier_policy_is_accepted_by_put_as_it_is(
    api: Api,
) -> None:
    shown = await api.client.get("/v1/admin/tiers", headers=api.admin_headers)
    assert shown.headers["ETag"] == f'"{shown.json()["version"]}"'

    saved = await api.client.put("/v1/admin/tiers", json=shown.json(), headers=api.admin_headers)

    assert saved.status_code == 200, saved.text
    assert saved.json()["version"] == shown.json()["version"] + 1
    assert saved.headers["ETag"] == f'"{saved.json()["version"]}"'


async def test_a_tier_policy_put_based_on_an_old_version_is_refused(api: Api) -> None:
    shown = await api.client.get("/v1/admin/tiers", headers=api.admin_headers)
    body = shown.json()
    assert (
        await api.client.put(
            "/v1/admin/tiers", json={**body, "grace_days": 10}, headers=api.admin_headers
        )
    ).status_code == 200

    stale = await api.client.put(
        "/v1/admin/tiers",
        json={**body, "grace_days": 20},
        headers={**api.admin_headers, "If-Match": shown.headers["ETag"]},
    )

    assert (stale.status_code, stale.json()["code"]) == (409, "tier_policy_changed")
    now = (await api.client.get("/v1/admin/tiers", headers=api.admin_headers)).json()
    assert now["grace_days"] == 10


async def patch_tiers(api: Api, body: Any, **headers: str) -> Response:
    return await api.client.patch(
        "/v1/admin/tiers",
        content=json.dumps(body).encode(),
        headers={**api.admin_headers, "Content-Type": MERGE_PATCH, **headers},
    )


async def test_patching_the_grace_keeps_the_tier_ladder_and_window(api: Api) -> None:
    ladder = {
        "window_days": 180,
        "grace_days": 30,
        "tiers": [
            {"code": "member", "name": "会员", "rank": 0, "threshold": 0, "earn_multiplier": "1"},
            {"code": "gold", "name": "金卡", "rank": 1, "threshold": 50_000,
             "earn_multiplier": "1.5"},
        ],
    }  # fmt: skip
    saved = await api.client.put("/v1/admin/tiers", json=ladder, headers=api.admin_headers)
    assert saved.status_code == 200, saved.text

    shown = (await api.client.get("/v1/admin/tiers", headers=api.admin_headers)).json()
    patched = await patch_tiers(api, {"grace_days": 14})
    stale = await patch_tiers(api, {"grace_days": 7}, **{"If-Match": saved.headers["ETag"]})
    null = await patch_tiers(api, {"window_days": None})

    assert patched.status_code == 200, patched.text
    assert patched.json() == {
        **shown,
        "grace_days": 14,
        "version": saved.json()["version"] + 1,
    }
    assert patched.headers["ETag"] == f'"{patched.json()["version"]}"'
    assert (stale.status_code, stale.json()["code"]) == (409, "tier_policy_changed")
    assert (null.status_code, null.json()["errors"][0]["field"]) == (422, "window_days")
