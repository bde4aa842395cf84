"""Member feedback: sent from the app, worked through by admins, shown in the 360 view."""

from __future__ import annotations

from typing import Any

import asyncpg
from httpx import Response

from tests.api.client import Api


async def submit(api: Api, member_id: str, body: dict[str, Any]) -> Response:
    return await api.client.post(
        "/v1/me/feedback", json=body, headers=api.member_headers(member_id)
    )


async def update(api: Api, feedback_id: str, body: dict[str, Any]) -> Response:
    return await api.client.patch(
        f"/v1/admin/feedback/{feedback_id}", json=body, headers=api.admin_headers
    )


async def a_member(api: Api, phone: str = "+8613800138000") -> str:
    till = await api.open_till()
    member = await till.enrol(phone)
    member_id: str = member["member_id"]
    return member_id


async def test_a_member_sends_a_complaint_and_it_starts_as_new(api: Api) -> None:
    member_id = await a_member(api)

    sent = await submit(
        api, member_id, {"kind": "complaint", "text": " Late delivery ", "order_ref": "O1"}
    )

    assert sent.status_code == 201, sent.text
    body = sent.json()
    assert (body["kind"], body["text"], body["order_ref"], body["status"]) == (
        "complaint",
        "Late delivery",
        "O1",
        "new",
    )
    mine = await api.client.get("/v1/me/feedback", headers=api.member_headers(member_id))
    assert [f["feedback_id"] for f in mine.json()["items"]] == [body["feedback_id"]]


async def test_feedback_of_an_unknown_kind_or_without_text_is_refused(api: Api) -> None:
    member_id = await a_member(api)

    odd = await submit(api, member_id, {"kind": "rant", "text": "x"})
    blank = await submit(api, member_id, {"kind": "praise", "text": "   "})

    assert (odd.status_code, odd.json()["code"]) == (422, "validation_error")
    assert (blank.status_code, blank.json()["code"]) == (422, "validation_error")


async def test_admins_move_feedback_forward_with_a_note_and_it_is_audited(
    api: Api, clean_db: str
) -> None:
    member_id = await a_member(api)
    feedback_id = (
        await submit(api, member_id, {"kind": "suggestion", "text": "Gift wrap"})
    ).json()["feedback_id"]

    acknowledged = await update(api, feedback_id, {"status": "acknowledged", "note": "Asked"})
    resolved = await update(api, feedback_id, {"status": "resolved"})
    back = await update(api, feedback_id, {"status": "new"})

    assert acknowledged.status_code == 200, acknowledged.text
    assert (resolved.json()["status"], resolved.json()["admin_note"]) == ("resolved", "Asked")
    assert resolved.json()["updated_by"] == "admin:test-admin"
    assert (back.status_code, back.json()["code"]) == (409, "feedback_transition_not_allowed")
    connection = await asyncpg.connect(clean_db)
    try:
        audited = await connection.fetch(
            "SELECT actor, details->>'to' AS status FROM audit_log "
            "WHERE action = 'feedback.updated' ORDER BY id"
        )
    finally:
        await connection.close()
    assert [(r["actor"], r["status"]) for r in audited] == [
        ("admin:test-admin", "acknowledged"),
        ("admin:test-admin", "resolved"),
    ]


async def test_updating_unknown_feedback_is_a_404(api: Api) -> None:
    missing = await update(api, "00000000-0000-0000-0000-000000000001", {"status": "resolved"})

    assert (missing.status_code, missing.json()["code"]) == (404, "feedback_not_found")


async def test_admins_list_feedback_newest_first_filtered_and_page_by_cursor(api: Api) -> None:
    member_id = await a_member(api)
    for n, kind in enumerate(["praise", "complaint", "complaint", "complaint"]):
        await submit(api, member_id, {"kind": kind, "text": f"note {n}"})

    first = await api.client.get(
        "/v1/admin/feedback",
        params={"kind": "complaint", "status": "new", "limit": 2},
        headers=api.admin_headers,
    )
    second = await api.client.get(
        "/v1/admin/feedback",
        params={"kind": "complaint", "limit": 2, "cursor": first.json()["next_cursor"]},
        headers=api.admin_headers,
    )
    bad_cursor = await api.client.get(
        "/v1/admin/feedback", params={"cursor": "zzz"}, headers=api.admin_headers
    )

    assert [f["text"] for f in first.json()["items"]] == ["note 3", "note 2"]
    assert [f["text"] for f in second.json()["items"]] == ["note 1"]
    assert second.json()["next_cursor"] is None
    assert bad_cursor.status_code == 422


async def test_the_members_feedback_shows_in_the_360_view(api: Api) -> None:
    member_id = await a_member(api)
    await submit(api, member_id, {"kind": "praise", "text": "Lovely towels"})

    overview = await api.client.get(f"/v1/admin/members/{member_id}", headers=api.admin_headers)

    assert [(f["kind"], f["text"]) for f in overview.json()["feedback"]] == [
        ("praise", "Lovely towels")
    ]


async def test_only_members_send_feedback_and_only_admins_work_on_it(api: Api) -> None:
    member_id = await a_member(api)

    as_admin = await api.client.post(
        "/v1/me/feedback", json={"kind": "praise", "text": "x"}, headers=api.admin_headers
    )
    as_member = await api.client.get("/v1/admin/feedback", headers=api.member_headers(member_id))

    assert (as_admin.status_code, as_member.status_code) == (403, 403)
