"""The member edits their own profile in the app (issue #17, item 7): name, e-mail, birthday
once, language, marketing consent per channel with its history; staff correct the birthday
(audited) and read the history; logging out ends the refresh-token family."""

from __future__ import annotations

from typing import Any

import asyncpg

from tests.api.client import Api
from tests.api.test_member_login import login


async def rows(db_url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(db_url)
    try:
        return list(await connection.fetch(sql, *args))
    finally:
        await connection.close()


async def a_member(api: Api) -> tuple[str, dict[str, str]]:
    till = await api.open_till()
    member = await till.enrol()
    return member["member_id"], api.member_headers(member["member_id"])


async def test_a_member_changes_name_email_and_language_and_get_me_shows_them(
    api: Api,
) -> None:
    _, headers = await a_member(api)

    patched = await api.client.patch(
        "/v1/me",
        json={"name": "  Li Wei ", "email": "Li.Wei@Example.COM", "preferred_language": "zh-CN"},
        headers=headers,
    )

    assert patched.status_code == 200, patched.text
    me = (await api.client.get("/v1/me", headers=headers)).json()
    assert patched.json() == me
    assert (me["name"], me["email"], me["preferred_language"]) == (
        "Li Wei",
        "Li.Wei@example.com",  # the domain normalised by email-validator
        "zh-CN",
    )
    assert me["marketing_consent"] == {"sms": False, "email": False, "push": False}


async def test_a_field_left_out_is_kept_and_a_field_sent_as_null_is_cleared(api: Api) -> None:
    _, headers = await a_member(api)
    first = {"name": "Li Wei", "email": "li@example.com", "preferred_language": "en"}
    await api.client.patch("/v1/me", json=first, headers=headers)

    patched = await api.client.patch("/v1/me", json={"email": None}, headers=headers)

    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert (body["name"], body["email"], body["preferred_language"]) == ("Li Wei", None, "en")


async def test_an_invalid_email_or_language_is_refused_and_nothing_changes(api: Api) -> None:
    _, headers = await a_member(api)

    bad_email = await api.client.patch(
        "/v1/me", json={"name": "X", "email": "not-an-address"}, headers=headers
    )
    bad_language = await api.client.patch(
        "/v1/me", json={"preferred_language": "english please"}, headers=headers
    )

    assert (bad_email.status_code, bad_email.json()["code"]) == (422, "invalid_email")
    assert bad_email.json()["errors"][0]["field"] == "email"
    assert (bad_language.status_code, bad_language.json()["code"]) == (422, "validation_error")
    assert bad_language.json()["errors"][0]["field"] == "preferred_language"
    me = (await api.client.get("/v1/me", headers=headers)).json()
    assert (me["name"], me["email"], me["preferred_language"]) == (None, None, None)


async def test_nul_oversize_unknown_fields_and_wrong_types_are_refused(api: Api) -> None:
    _, headers = await a_member(api)

    for body, field in (
        ({"name": "Li\u0000Wei"}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"email": "a" * 250 + "@example.com"}, "email"),
        ({"preferred_language": "zh-" + "a" * 40}, "preferred_language"),
        ({"nickname": "Wei"}, "nickname"),
        ({"marketing_consent": {"sms": "yes"}}, "marketing_consent.sms"),
        ({"marketing_consent": {"fax": True}}, "marketing_consent.fax"),
        ({"birthday": "1990-02-30"}, "birthday"),
    ):
        response = await api.client.patch("/v1/me", json=body, headers=headers)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["code"] == "validation_error", body
        assert response.json()["errors"][0]["field"] == field, (body, response.text)


async def test_the_member_sets_the_birthday_once_and_cannot_change_or_remove_it(
    api: Api,
) -> None:
    _, headers = await a_member(api)

    first = await api.client.patch("/v1/me", json={"birthday": "1990-05-17"}, headers=headers)
    again = await api.client.patch("/v1/me", json={"birthday": "1990-05-17"}, headers=headers)
    moved = await api.client.patch("/v1/me", json={"birthday": "1990-06-17"}, headers=headers)
    removed = await api.client.patch("/v1/me", json={"birthday": None}, headers=headers)
    future = await api.client.patch("/v1/me", json={"birthday": "2099-01-01"}, headers=headers)

    assert first.status_code == 200, first.text
    assert first.json()["birthday"] == "1990-05-17"
    assert again.status_code == 200  # the same date: a retry, not a change
    assert (moved.status_code, moved.json()["code"]) == (409, "birthday_locked")
    assert (removed.status_code, removed.json()["code"]) == (409, "birthday_locked")
    assert future.status_code in (409, 422)
    me = (await api.client.get("/v1/me", headers=headers)).json()
    assert me["birthday"] == "1990-05-17"


async def test_an_admin_corrects_the_birthday_with_a_reason_and_the_audit_log_records_it(
    api: Api, clean_db: str
) -> None:
    member_id, headers = await a_member(api)
    await api.client.patch("/v1/me", json={"birthday": "1990-05-17"}, headers=headers)

    corrected = await api.admin_post(
        f"/v1/admin/members/{member_id}/birthday",
        {"birthday": "1990-07-17", "reason": "ID card shows July"},
    )
    no_reason = await api.admin_post(
        f"/v1/admin/members/{member_id}/birthday", {"birthday": "1990-07-17", "reason": " "}
    )
    by_member = await api.client.post(
        f"/v1/admin/members/{member_id}/birthday",
        json={"birthday": "1990-01-01", "reason": "me"},
        headers={**headers, "Idempotency-Key": "k"},
    )

    assert corrected.status_code == 200, corrected.text
    assert corrected.json() == {"member_id": member_id, "birthday": "1990-07-17"}
    assert (no_reason.status_code, no_reason.json()["code"]) == (422, "validation_error")
    assert (by_member.status_code, by_member.json()["code"]) == (403, "forbidden")
    me = (await api.client.get("/v1/me", headers=headers)).json()
    assert me["birthday"] == "1990-07-17"
    audit = await rows(
        clean_db,
        "SELECT actor, action, subject, details::text AS details FROM audit_log "
        "WHERE action = 'member.birthday_corrected'",
    )
    assert len(audit) == 1
    assert audit[0]["subject"] == f"member:{member_id}"
    assert audit[0]["actor"].startswith("admin:")
    assert "ID card shows July" in audit[0]["details"]
    assert "1990" not in audit[0]["details"]  # no personal data in the append-only log


async def test_consent_changes_are_kept_with_time_and_source_and_an_admin_reads_them(
    api: Api, clean_db: str
) -> None:
    member_id, headers = await a_member(api)

    granted = await api.client.patch(
        "/v1/me", json={"marketing_consent": {"sms": True, "email": True}}, headers=headers
    )
    unchanged = await api.client.patch(
        "/v1/me", json={"marketing_consent": {"sms": True}}, headers=headers
    )
    withdrawn = await api.client.patch(
        "/v1/me", json={"marketing_consent": {"sms": False}}, headers=headers
    )

    assert granted.status_code == unchanged.status_code == withdrawn.status_code == 200
    assert withdrawn.json()["marketing_consent"] == {"sms": False, "email": True, "push": False}
    history = await api.client.get(
        f"/v1/admin/members/{member_id}/consents", headers=api.admin_headers
    )
    assert history.status_code == 200, history.text
    items = history.json()["items"]
    assert [(i["channel"], i["granted"], i["source"]) for i in items] == [
        ("sms", False, "member_app"),
        ("email", True, "member_app"),
        ("sms", True, "member_app"),
    ]
    assert all(i["changed_at"] for i in items)
    assert history.json()["next_cursor"] is None
    paged = await api.client.get(
        f"/v1/admin/members/{member_id}/consents",
        params={"limit": 2},
        headers=api.admin_headers,
    )
    rest = await api.client.get(
        f"/v1/admin/members/{member_id}/consents",
        params={"limit": 2, "cursor": paged.json()["next_cursor"]},
        headers=api.admin_headers,
    )
    assert [i["channel"] for i in paged.json()["items"] + rest.json()["items"]] == [
        "sms",
        "email",
        "sms",
    ]
    overview = await api.client.get(f"/v1/admin/members/{member_id}", headers=api.admin_headers)
    assert overview.json()["profile"]["marketing_consent"] == {
        "sms": False,
        "email": True,
        "push": False,
    }
    stored = await rows(clean_db, "SELECT count(*) AS n FROM member_consent_changes")
    assert stored[0]["n"] == 3
    members = await api.client.get(f"/v1/admin/members/{member_id}/consents", headers=headers)
    assert members.status_code == 403


async def test_the_consent_history_of_an_unknown_member_is_member_not_found(api: Api) -> None:
    response = await api.client.get(
        "/v1/admin/members/00000000-0000-0000-0000-000000000404/consents",
        headers=api.admin_headers,
    )

    assert (response.status_code, response.json()["code"]) == (404, "member_not_found")


async def test_a_refresh_after_logout_is_refused_and_logging_out_again_is_accepted(
    api: Api, clean_db: str
) -> None:
    session = await login(api, clean_db)
    rotated = await api.client.post(
        "/v1/auth/refresh", json={"refresh_token": session["refresh_token"]}
    )
    assert rotated.status_code == 200, rotated.text
    latest = rotated.json()["refresh_token"]

    logged_out = await api.client.post("/v1/auth/logout", json={"refresh_token": latest})
    again = await api.client.post("/v1/auth/logout", json={"refresh_token": latest})
    refreshed = await api.client.post("/v1/auth/refresh", json={"refresh_token": latest})

    assert logged_out.status_code == 204, logged_out.text
    assert again.status_code == 204
    assert (refreshed.status_code, refreshed.json()["code"]) == (401, "invalid_refresh_token")
    live = await rows(clean_db, "SELECT count(*) AS n FROM refresh_tokens WHERE revoked_at IS NULL")
    assert live[0]["n"] == 0


async def test_logout_ends_only_its_own_login_and_refuses_an_unknown_token(
    api: Api, clean_db: str
) -> None:
    phone_one = await login(api, clean_db)
    phone_two = await login(api, clean_db)  # the same member on a second device

    logged_out = await api.client.post(
        "/v1/auth/logout", json={"refresh_token": phone_one["refresh_token"]}
    )
    unknown = await api.client.post("/v1/auth/logout", json={"refresh_token": "x" * 43})
    other_device = await api.client.post(
        "/v1/auth/refresh", json={"refresh_token": phone_two["refresh_token"]}
    )

    assert logged_out.status_code == 204
    assert (unknown.status_code, unknown.json()["code"]) == (401, "invalid_refresh_token")
    assert other_device.status_code == 200, other_device.text
