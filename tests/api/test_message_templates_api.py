# ruff: noqa: RUF001 (Chinese text uses full-width punctuation)
"""Admins edit the message templates (issue #20, item 4): every kind in zh-CN and en shipped,
an override checked in the sandbox before it is saved (422 when it reaches outside its
placeholders), a preview with sample data, a reset to the default; and the member export
carries the consent history (item 5)."""

from __future__ import annotations

from tests.api.client import Api
from tests.api.test_member_profile import a_member

BASE = "/v1/admin/message-templates"


async def test_every_kind_is_listed_in_both_languages_with_the_shipped_text(api: Api) -> None:
    response = await api.client.get(BASE, headers=api.admin_headers)

    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert {(t["kind"], t["language"]) for t in items} == {
        (kind, language)
        for kind in (
            "login_code",
            "tier_changed",
            "points_expiring",
            "coupon_issued",
            "birthday",
            "reward_redeemed",
        )
        for language in ("zh-CN", "en")
    }
    assert not any(t["overridden"] for t in items)
    login = next(t for t in items if (t["kind"], t["language"]) == ("login_code", "en"))
    assert login["placeholders"] == ["code", "minutes"]


async def test_an_override_is_saved_previewed_and_reset_to_the_default(api: Api) -> None:
    path = f"{BASE}/points_expiring/zh-CN"
    body = "{{ name }}，您的{{ points|number }}积分（{{ worth|money }}）{{ expires_on|date }}到期"

    saved = await api.client.put(
        path, json={"subject": "积分提醒", "body": body}, headers=api.admin_headers
    )
    preview = await api.client.post(f"{path}/preview", json={}, headers=api.admin_headers)
    shown = await api.client.get(path, headers=api.admin_headers)
    reset = await api.client.delete(path, headers=api.admin_headers)

    assert saved.status_code == 200, saved.text
    assert (saved.json()["overridden"], saved.json()["updated_by"]) == (True, "admin:test-admin")
    assert shown.json()["body"] == body
    assert preview.status_code == 200, preview.text
    assert preview.json() == {
        "subject": "积分提醒",
        "body": "Li Lei，您的1,250积分（¥12.50）2026年12月31日到期",
    }
    assert reset.status_code == 200
    assert reset.json()["overridden"] is False
    assert reset.json()["body"].startswith("您有{{ points|number }}积分")


async def test_a_draft_is_previewed_without_being_saved(api: Api) -> None:
    path = f"{BASE}/birthday/en"

    preview = await api.client.post(
        f"{path}/preview",
        json={"body": "Hi {{ name|upper }}, {{ title }} until {{ expires_at|datetime }}"},
        headers=api.admin_headers,
    )

    assert preview.status_code == 200, preview.text
    assert (
        preview.json()["body"] == "Hi LI LEI, Birthday treat until Dec 31, 2026, 11:59:59\u202fPM"
    )
    assert preview.json()["subject"] == "Happy birthday"
    shown = await api.client.get(path, headers=api.admin_headers)
    assert shown.json()["overridden"] is False


async def test_a_template_reaching_for_class_internals_is_refused_with_422_and_not_saved(
    api: Api,
) -> None:
    path = f"{BASE}/login_code/en"
    for body in (
        "{{ code.__class__.__mro__ }}",
        "{{ code['__globals__'] }}",
        "{% for x in range(10) %}{{ code }}{% endfor %}",
        "{{ nothing_like_this }}",
    ):
        saved = await api.client.put(
            path, json={"subject": "Code", "body": body}, headers=api.admin_headers
        )
        previewed = await api.client.post(
            f"{path}/preview", json={"body": body}, headers=api.admin_headers
        )

        assert saved.status_code == 422, body
        assert saved.json()["code"] == "message_template_invalid"
        assert previewed.status_code == 422, body
    shown = await api.client.get(path, headers=api.admin_headers)
    assert shown.json()["overridden"] is False


async def test_an_unknown_kind_or_language_is_404_and_members_may_not_edit(api: Api) -> None:
    _, member_headers = await a_member(api)

    kind = await api.client.get(f"{BASE}/newsletter/en", headers=api.admin_headers)
    language = await api.client.put(
        f"{BASE}/login_code/fr", json={"subject": "s", "body": "b"}, headers=api.admin_headers
    )
    member = await api.client.get(BASE, headers=member_headers)

    assert (kind.status_code, kind.json()["code"]) == (404, "message_template_not_found")
    assert language.status_code == 404
    assert member.status_code == 403


async def test_the_member_export_carries_the_consent_history(api: Api) -> None:
    member_id, headers = await a_member(api)
    for consents in ({"sms": True, "email": True}, {"email": False}):
        changed = await api.client.patch(
            "/v1/me", json={"marketing_consent": consents}, headers=headers
        )
        assert changed.status_code == 200, changed.text

    export = await api.client.get(
        f"/v1/admin/members/{member_id}/export", headers=api.admin_headers
    )

    assert export.status_code == 200, export.text
    history = export.json()["tables"]["member_consent_changes"]
    assert [(c["channel"], c["granted"], c["source"]) for c in history] == [
        ("sms", True, "member_app"),
        ("email", True, "member_app"),
        ("email", False, "member_app"),
    ]
