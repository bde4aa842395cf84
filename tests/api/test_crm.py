"""CRM over HTTP: the reports, the segment preview, follow-up calls, the 360 view's CRM block,
and the lifecycle thresholds in the programme settings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from adapters.persistence.crm_reports import snapshot_rfm
from adapters.persistence.follow_ups import schedule_due_follow_ups
from tests.api.client import Api, Till

pytestmark = pytest.mark.db

SHANGHAI = ZoneInfo("Asia/Shanghai")
LINE = [{"sku": "TOWEL", "quantity": 1, "unit_price": 12_500}]


async def sell(till: Till, receipt: str, member_id: str, **extra: Any) -> dict[str, Any]:
    response = await till.sell(receipt, LINE, member_id=member_id, **extra)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def get(api: Api, path: str, **params: Any) -> Any:
    return await api.client.get(path, params=params, headers=api.admin_headers)


def assert_problem(response: Any, status: int, code: str, field: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == code
    if field is not None:
        assert any(e.get("field") == field for e in body.get("errors", [])), body


async def score_rfm(url: str) -> None:
    connection = await asyncpg.connect(url)
    try:
        await snapshot_rfm(
            connection, zone="Asia/Shanghai", as_of=datetime.now(SHANGHAI).date(),
            window_days=365, now=datetime.now(UTC),
        )  # fmt: skip
    finally:
        await connection.close()


async def test_rfm_scores_buyers_and_the_360_view_shows_each_members_scores(
    api: Api, clean_db: str
) -> None:
    till = await api.open_till()
    loyal = await till.enrol("+8613800138001")
    once = await till.enrol("+8613800138002")
    await till.enrol("+8613800138003")  # never buys: not scored
    for n in range(3):
        await sell(till, f"L{n}", loyal["member_id"])
    await sell(till, "O1", once["member_id"])

    response = await get(api, "/v1/admin/reports/rfm")

    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["members_scored"], report["window_days"]) == (2, 365)
    assert len(report["segments"]) == 11
    counts = {s["segment"]: s["members"] for s in report["segments"] if s["members"]}
    # Both bought today (R ties: 1); F: 1 sale ranks 1 -> 1, 3 sales rank 2 of 2 -> 3.
    assert counts == {"lost": 1, "at_risk": 1}
    unscored = (await get(api, f"/v1/admin/members/{loyal['member_id']}")).json()
    assert (unscored["crm"]["rfm"], unscored["crm"]["lifecycle"]) == (None, "new")
    await score_rfm(clean_db)
    overview = (await get(api, f"/v1/admin/members/{loyal['member_id']}")).json()
    assert overview["crm"]["rfm"] == {
        "recency_days": 0,
        "frequency": 3,
        "monetary": 37_500,
        "r": 1,
        "f": 3,
        "m": 3,
        "segment": "at_risk",
    }
    assert overview["crm"]["lifecycle"] == "new"


async def test_report_parameters_are_validated(api: Api) -> None:
    assert_problem(
        await get(api, "/v1/admin/reports/rfm", window_days=0),
        422,
        "validation_error",
        "window_days",
    )
    assert_problem(
        await get(api, "/v1/admin/reports/rfm", as_of="10/12/2011"),
        422,
        "validation_error",
        "as_of",
    )
    assert_problem(
        await get(api, "/v1/admin/reports/lifecycle", **{"from": "2024-02-01", "to": "2024-01-01"}),
        422,
        "validation_error",
    )
    assert_problem(
        await get(api, "/v1/admin/reports/churn-risk", cursor="not-ours"), 422, "validation_error"
    )
    assert_problem(
        await get(api, "/v1/admin/reports/regions", **{"from": "2024-02-01", "to": "2024-02-01"}),
        422,
        "validation_error",
    )


async def test_crm_endpoints_are_for_admins_only(api: Api) -> None:
    till = await api.open_till()
    for path in (
        "/v1/admin/reports/rfm",
        "/v1/admin/reports/lifecycle",
        "/v1/admin/reports/churn-risk",
        "/v1/admin/reports/regions",
        "/v1/admin/segments/preview?tier=member",
        "/v1/admin/follow-ups",
    ):
        assert (await api.client.get(path, headers=till.headers())).status_code == 403, path
        assert (await api.client.get(path)).status_code == 401, path


async def test_lifecycle_regions_and_churn_risk_answer(api: Api) -> None:
    till = await api.open_till()
    buyer = await till.enrol("+8613800138001")
    await till.enrol("+8613800138002")
    await sell(till, "R1", buyer["member_id"])

    lifecycle = (await get(api, "/v1/admin/reports/lifecycle")).json()
    assert lifecycle["at_end"] == {"prospect": 1, "new": 1, "active": 0, "dormant": 0, "churned": 0}
    assert {(f["from"], f["to"]) for f in lifecycle["flows"]} <= {
        (None, "new"),
        (None, "prospect"),
        ("prospect", "new"),
    }
    regions = (await get(api, "/v1/admin/reports/regions")).json()
    assert regions["regions"] == [
        {"region": None, "members": 2, "buyers": 1, "sales": 1, "net_spend": 12_500}
    ]
    churn = (await get(api, "/v1/admin/reports/churn-risk")).json()
    assert (churn["items"], churn["next_cursor"]) == ([], None)


async def test_a_segment_preview_says_how_many_members_it_reaches(api: Api) -> None:
    till = await api.open_till()
    buyer = await till.enrol("+8613800138001")
    await till.enrol("+8613800138002")
    await sell(till, "R1", buyer["member_id"])

    by_tier = (await get(api, "/v1/admin/segments/preview", tier="member")).json()
    assert by_tier == {"segment": {"tier": "member"}, "members": 2}
    new = (await get(api, "/v1/admin/segments/preview", lifecycle="new")).json()
    assert new["members"] == 1
    assert set(new["segment"]) == {"lifecycle", "as_of"}
    lost = (await get(api, "/v1/admin/segments/preview", rfm="lost", as_of="2026-01-01")).json()
    assert lost == {
        "segment": {"rfm": "lost", "as_of": "2026-01-01", "window_days": 365},
        "members": 0,
    }

    assert_problem(await get(api, "/v1/admin/segments/preview"), 422, "validation_error")
    assert_problem(
        await get(api, "/v1/admin/segments/preview", rfm="lost", tier="member"),
        422,
        "validation_error",
    )
    assert_problem(
        await get(api, "/v1/admin/segments/preview", rfm="best"), 422, "validation_error", "rfm"
    )
    assert_problem(
        await get(api, "/v1/admin/segments/preview", tier="diamond"),
        422,
        "validation_error",
        "tier",
    )


async def scheduled(url: str) -> int:
    # The app's pool lives on the test client's loop: the job gets a connection of its own.
    connection = await asyncpg.connect(url)
    try:
        return (await schedule_due_follow_ups(connection, datetime.now(UTC))).scheduled
    finally:
        await connection.close()


async def test_a_follow_up_call_is_listed_once_and_its_outcome_recorded(
    api: Api, clean_db: str
) -> None:
    till = await api.open_till()
    member = await till.enrol("+8613800138001")
    week_ago = datetime.now(UTC) - timedelta(days=7)
    sale = await sell(till, "F1", member["member_id"], occurred_at=week_ago.isoformat())
    await sell(till, "F2", member["member_id"])  # today: not due yet

    assert (await scheduled(clean_db), await scheduled(clean_db)) == (1, 0)

    page = (await get(api, "/v1/admin/follow-ups", status="pending")).json()
    [item] = page["items"]
    assert (item["sale_id"], item["receipt_id"], item["amount"], item["status"]) == (
        sale["sale_id"],
        "F1",
        12_500,
        "pending",
    )
    path = f"/v1/admin/follow-ups/{item['id']}"

    wrong = await api.client.patch(
        path, json={"status": "unreachable", "satisfaction": 4}, headers=api.admin_headers
    )
    assert_problem(wrong, 422, "validation_error")
    answered = await api.client.patch(
        path,
        json={"status": "reached", "satisfaction": 4, "outcome": "likes the towels"},
        headers=api.admin_headers,
    )
    assert answered.status_code == 200, answered.text
    body = answered.json()
    assert (body["status"], body["satisfaction"], body["outcome"], body["called_by"]) == (
        "reached",
        4,
        "likes the towels",
        "admin:test-admin",
    )
    assert (await get(api, "/v1/admin/follow-ups", status="pending")).json()["items"] == []
    missing = await api.client.patch(
        "/v1/admin/follow-ups/999999", json={"status": "declined"}, headers=api.admin_headers
    )
    assert_problem(missing, 404, "follow_up_not_found")
    unknown_field = await api.client.patch(
        path, json={"status": "reached", "mood": "fine"}, headers=api.admin_headers
    )
    assert unknown_field.status_code in (400, 422)


async def test_lifecycle_thresholds_are_programme_settings(api: Api) -> None:
    program = (await get(api, "/v1/admin/program")).json()
    program.pop("version")

    program["crm"] = {"new_days": 14, "dormant_days": 60, "churned_days": 120, "follow_up_days": 3}
    saved = await api.client.put("/v1/admin/program", json=program, headers=api.admin_headers)
    assert saved.status_code == 200, saved.text
    assert (await get(api, "/v1/admin/program")).json()["crm"] == program["crm"]

    program["crm"] = {"new_days": 14, "dormant_days": 200, "churned_days": 120}
    refused = await api.client.put("/v1/admin/program", json=program, headers=api.admin_headers)
    assert_problem(refused, 422, "validation_error")
