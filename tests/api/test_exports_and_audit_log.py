"""The back office's lists as CSV downloads, the audit log, and the age of the 360 view's
RFM snapshot."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from httpx import Response

from adapters.http.csv_export import CHUNK_BYTES, cell, csv_download
from adapters.http.schemas.audit import AuditEntryOut
from tests.api.client import Api, Till
from tests.api.test_crm import get, score_rfm, sell

pytestmark = pytest.mark.db

BOM = "\ufeff"


def rows_of(response: Response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith("attachment;")
    text = response.content.decode("utf-8")
    assert text.startswith(BOM)
    return list(csv.DictReader(io.StringIO(text[1:], newline="")))


async def buyers(api: Api, till: Till, names: list[str]) -> list[dict[str, Any]]:
    members = []
    for n, name in enumerate(names):
        member = await till.enrol(f"+86138001390{n:02d}", name=name)
        for s in range(n + 1):
            await sell(till, f"R{n}-{s}", member["member_id"])
        members.append(member)
    return members


async def test_rfm_members_download_as_csv_with_chinese_names_and_no_formulas(
    api: Api,
) -> None:
    till = await api.open_till()
    members = await buyers(api, till, ["张伟", '=HYPERLINK("http://x")', "@SUM(A1)"])

    rows = rows_of(await get(api, "/v1/admin/reports/rfm/members/csv"))

    assert list(rows[0]) == [
        "member_id", "name", "tier_code", "recency_days", "frequency", "monetary",
        "r", "f", "m", "segment",
    ]  # fmt: skip
    assert [r["member_id"] for r in rows] == [m["member_id"] for m in reversed(members)]
    names = {r["name"] for r in rows}
    assert names == {"张伟", '\'=HYPERLINK("http://x")', "'@SUM(A1)"}
    assert [r["frequency"] for r in rows] == ["3", "2", "1"]
    one = rows_of(await get(api, "/v1/admin/reports/rfm/members/csv", segment=rows[0]["segment"]))
    assert {r["segment"] for r in one} == {rows[0]["segment"]}


async def test_a_segment_churn_risk_feedback_and_follow_ups_download_as_csv(api: Api) -> None:
    till = await api.open_till()
    members = await buyers(api, till, ["李娜", "王芳"])
    for member in members:
        sent = await api.client.post(
            "/v1/me/feedback",
            json={"kind": "complaint", "text": "-1 star: 太慢"},
            headers=api.member_headers(member["member_id"]),
        )
        assert sent.status_code == 201, sent.text

    segment = rows_of(await get(api, "/v1/admin/segments/preview/csv", tier="member"))
    churn = rows_of(await get(api, "/v1/admin/reports/churn-risk/csv"))
    feedback = rows_of(await get(api, "/v1/admin/feedback/csv"))
    follow_ups = rows_of(await get(api, "/v1/admin/follow-ups/csv"))

    assert sorted(r["member_id"] for r in segment) == sorted(m["member_id"] for m in members)
    assert {r["name"] for r in segment} == {"李娜", "王芳"}
    assert churn == []  # nobody is dormant yet: the header alone
    assert [r["text"] for r in feedback] == ["'-1 star: 太慢"] * 2
    assert feedback[0]["member_id"] == members[1]["member_id"]  # newest first
    assert follow_ups == []


async def test_a_csv_download_refuses_bad_parameters_as_a_problem_before_streaming(
    api: Api,
) -> None:
    for path, params, field in (
        ("/v1/admin/segments/preview/csv", {"tier": "platinum"}, "tier"),
        ("/v1/admin/reports/rfm/members/csv", {"segment": "kings"}, "segment"),
        ("/v1/admin/audit-log/csv", {"from": "2026-12-07", "to": "2026-12-01"}, "from"),
    ):
        response = await get(api, path, **params)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert any(e["field"] == field for e in response.json()["errors"]), response.json()


async def test_a_long_list_streams_in_chunks_and_page_by_page(api: Api, clean_db: str) -> None:
    connection = await asyncpg.connect(clean_db)
    try:
        await connection.execute(
            "INSERT INTO audit_log (actor, action, subject, details) "
            "SELECT 'admin:bulk', 'test.bulk', 'thing:' || n, jsonb_build_object('n', n) "
            "FROM generate_series(1, 2500) n"
        )
    finally:
        await connection.close()

    response = await get(api, "/v1/admin/audit-log/csv")

    rows = rows_of(response)
    assert len(rows) == 2500  # three pages of 1000
    assert [r["subject"] for r in rows[:2]] == ["thing:2500", "thing:2499"]
    assert rows[0]["details"] == '{"n":2500}'


async def test_a_csv_goes_out_chunk_by_chunk_as_its_rows_come() -> None:
    pulled = 0

    async def rows() -> AsyncIterator[AuditEntryOut]:
        nonlocal pulled
        for n in range(5000):
            pulled += 1
            yield AuditEntryOut(
                id=n, at=datetime.now(UTC), actor="a", action="b", subject="c", details={}
            )

    stream = csv_download(AuditEntryOut, rows(), "x.csv")
    chunks = stream.iterator.__aiter__()
    first = await anext(chunks)

    assert first.startswith(BOM.encode())
    assert CHUNK_BYTES <= len(first) < 2 * CHUNK_BYTES
    assert pulled < 5000  # the first chunk left before the last row was read
    assert len([first, *[c async for c in chunks]]) > 2


async def audited(api: Api) -> None:
    """Three audited changes by two admins: a store, the programme, the tiers."""
    assert (
        await api.admin_post("/v1/admin/stores", {"code": "S1", "name": "一号店"})
    ).status_code == 201
    other = {"Authorization": f"Bearer {api.tokens.issue_admin_token('alice').token}"}
    program = (await get(api, "/v1/admin/program")).json()
    put = await api.client.put("/v1/admin/program", json=program, headers=other)
    assert put.status_code == 200
    tiers = (await get(api, "/v1/admin/tiers")).json()
    assert (await api.client.put("/v1/admin/tiers", json=tiers, headers=other)).status_code == 200


async def test_the_audit_log_lists_changes_newest_first_with_filters_and_pages(
    api: Api,
) -> None:
    await audited(api)

    everything = (await get(api, "/v1/admin/audit-log")).json()
    by_alice = (await get(api, "/v1/admin/audit-log", actor="admin:alice")).json()
    programme = (await get(api, "/v1/admin/audit-log", action="program.updated")).json()
    stores = (await get(api, "/v1/admin/audit-log", entity="store")).json()
    one_store = (
        await get(
            api, "/v1/admin/audit-log", entity="store",
            entity_id=stores["items"][0]["subject"].split(":", 1)[1],
        )
    ).json()  # fmt: skip
    first = (await get(api, "/v1/admin/audit-log", limit=2)).json()
    second = (await get(api, "/v1/admin/audit-log", limit=2, cursor=first["next_cursor"])).json()
    long_ago = (await get(api, "/v1/admin/audit-log", to="2020-01-01")).json()

    assert [e["action"] for e in everything["items"]] == [
        "tiers.updated", "program.updated", "store.created",
    ]  # fmt: skip
    assert everything["next_cursor"] is None
    assert [e["action"] for e in by_alice["items"]] == ["tiers.updated", "program.updated"]
    assert [e["actor"] for e in programme["items"]] == ["admin:alice"]
    assert programme["items"][0]["details"]["to"]["version"] == 2
    assert [e["action"] for e in stores["items"]] == ["store.created"]
    assert stores["items"][0]["details"] == {"code": "S1"}
    assert one_store["items"] == stores["items"]
    assert [e["action"] for e in first["items"] + second["items"]] == [
        "tiers.updated", "program.updated", "store.created",
    ]  # fmt: skip
    assert second["next_cursor"] is None
    assert long_ago["items"] == []


async def test_the_audit_log_refuses_bad_filters_and_is_for_admins_only(api: Api) -> None:
    till = await api.open_till()
    for params, field in (
        ({"entity_id": "x"}, "entity_id"),
        ({"entity": "Member!"}, "entity"),
        ({"cursor": "nonsense"}, "cursor"),
        ({"limit": "0"}, "limit"),
    ):
        response = await get(api, "/v1/admin/audit-log", **params)
        assert response.status_code == 422, (params, response.text)
        assert response.json()["errors"][0]["field"] == field
    for path in ("/v1/admin/audit-log", "/v1/admin/audit-log/csv"):
        refused = await api.client.get(path, headers={"Authorization": f"Bearer {till.token}"})
        assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")


async def test_the_audit_log_downloads_as_csv_with_the_lists_filters(api: Api) -> None:
    await audited(api)

    rows = rows_of(await get(api, "/v1/admin/audit-log/csv", actor="admin:alice"))

    assert list(rows[0]) == ["id", "at", "actor", "action", "subject", "details"]
    assert [r["action"] for r in rows] == ["tiers.updated", "program.updated"]


async def test_the_360_view_says_how_old_its_rfm_snapshot_is(api: Api, clean_db: str) -> None:
    till = await api.open_till()
    [member] = await buyers(api, till, ["赵敏"])
    before = (await get(api, f"/v1/admin/members/{member['member_id']}")).json()["crm"]
    await score_rfm(clean_db)
    connection = await asyncpg.connect(clean_db)
    try:
        await connection.execute(
            "UPDATE member_rfm_scores SET as_of = as_of - 3, computed_at = computed_at - "
            "interval '3 days'"
        )
    finally:
        await connection.close()

    after = (await get(api, f"/v1/admin/members/{member['member_id']}")).json()["crm"]

    assert (before["rfm"], before["rfm_age_days"], before["rfm_computed_at"]) == (None, None, None)
    assert after["rfm"]["frequency"] == 1
    assert after["rfm_age_days"] == 3
    assert after["rfm_computed_at"] is not None


def test_a_text_cell_that_a_spreadsheet_would_run_as_a_formula_is_quoted() -> None:
    for formula in ("=1+1", "+A1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"):
        assert cell(formula) == "'" + formula
    for plain in ("-5", "+1.5", "张伟", "a=b", -5, 12):
        assert cell(plain) == str(plain)


async def test_audit_log_filters_refuse_text_that_cannot_be_stored(api: Api) -> None:
    for query in ("actor=admin%3A%ED%A0%80", "entity=member&entity_id=%FF", "action=Program!"):
        response = await api.client.get(f"/v1/admin/audit-log?{query}", headers=api.admin_headers)
        assert response.status_code == 422, (query, response.text)
