"""Rows the API would refuse today, written straight into the database as an older version or
a hand edit left them: the service keeps serving everything else, and says which rows.

Before: one draw campaign stored from -infinity (a POST with starts_at 0001-01-01 did it)
made the configuration unreadable, and every sale, GET /v1/admin/program and /tiers,
/v1/me/tier and every report answered 500 at every till; a sale stored at -infinity made the
lifecycle report and segment previews 500s for everyone; lots or coupons stored with an
infinite time made sales, quotes and coupon lists 500s for their member.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from adapters.persistence.tables import ALL_TABLES
from app.settings import Settings
from app.wiring.asgi import create_app
from tests.api.client import Api, Till
from tests.api.test_coupon_templates_api import TEN_OFF, create_template, issue_one
from tests.api.test_draws_api import CAMPAIGNS, create_campaign

LINES = [{"sku": "SHEET", "quantity": 1, "unit_price": 20000}]
NOW = datetime.now(UTC)


async def execute(db_url: str, sql: str, *args: Any) -> None:
    """As a bad old version or a hand edit would: raw SQL, past every check of the API."""
    connection = await asyncpg.connect(db_url)
    try:
        await connection.execute(sql, *args)
    finally:
        await connection.close()


async def fetchval(db_url: str, sql: str, *args: Any) -> Any:
    connection = await asyncpg.connect(db_url)
    try:
        return await connection.fetchval(sql, *args)
    finally:
        await connection.close()


async def health(client: AsyncTestClient[Any]) -> dict[str, Any]:
    response = await client.get("/health")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def refused(body: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {(r["table"], r["row"]): r["reason"] for r in body["configuration"]["refused"]}


async def member_of(till: Till, n: int = 1) -> str:
    member_id: str = (await till.enrol(f"+86139{n:08d}"))["member_id"]
    return member_id


async def answers_of(api: Api, member_id: str) -> dict[str, int]:
    """The status of every read a till, the app and the back office make all day."""
    admin = api.admin_headers
    me = api.member_headers(member_id)
    paths = {
        "/v1/admin/program": admin,
        "/v1/admin/tiers": admin,
        CAMPAIGNS: admin,
        f"/v1/admin/members/{member_id}": admin,
        "/v1/admin/reports/rfm": admin,
        "/v1/admin/reports/lifecycle": admin,
        "/v1/admin/reports/churn-risk": admin,
        "/v1/admin/reports/regions": admin,
        "/v1/admin/reports/points-liability": admin,
        "/v1/admin/segments/preview?lifecycle=dormant": admin,
        "/v1/admin/segments/preview?rfm=champions": admin,
        "/v1/me": me,
        "/v1/me/tier": me,
        "/v1/me/ledger": me,
        "/v1/me/coupons": me,
        "/v1/me/draws": me,
    }
    return {path: (await api.client.get(path, headers=h)).status_code for path, h in paths.items()}


async def test_a_campaign_stored_from_minus_infinity_stops_no_till_and_health_names_it(
    api: Api, client: AsyncTestClient[Any], clean_db: str
) -> None:
    till = await api.open_till()
    member_id = await member_of(till)
    good = await create_campaign(api, name="Good draw")
    bad = await create_campaign(api, name="Bad draw")
    await execute(
        clean_db, "UPDATE draw_campaigns SET starts_at = '-infinity' WHERE id = $1", UUID(bad["id"])
    )

    sale = await till.sell("R-1", LINES, member_id=member_id)
    answers = await answers_of(api, member_id)
    body = await health(client)

    assert sale.status_code == 201, sale.text
    assert sale.json()["draw_chances"] == 1  # from the good campaign only
    assert answers == dict.fromkeys(answers, 200)
    assert body["status"] == "degraded"
    assert body["configuration"]["usable"] is True
    assert list(refused(body)) == [("draw_campaigns", bad["id"])]
    assert "starts_at" in refused(body)[("draw_campaigns", bad["id"])]
    assert good["id"] not in {row for _, row in refused(body)}

    await execute(
        clean_db,
        "UPDATE draw_campaigns SET starts_at = $2 WHERE id = $1",
        UUID(bad["id"]),
        NOW - timedelta(days=1),
    )
    repaired = await till.sell("R-2", LINES, member_id=member_id)
    assert repaired.json()["draw_chances"] == 2
    assert (await health(client))["status"] == "ok"


@pytest.mark.parametrize(
    ("sql", "table", "row"),
    [
        ("UPDATE draw_prizes SET code = 'not a code!'", "draw_prizes", "{campaign}/0"),
        ("UPDATE draw_campaigns SET ends_at = 'infinity'", "draw_campaigns", "{campaign}"),
        ("UPDATE draw_campaigns SET name = ''", "draw_campaigns", "{campaign}"),
        ("UPDATE tiers SET rank = 5000", "tiers", "member"),
        ("UPDATE program_settings SET time_zone = 'Mars/Olympus'", "program_settings", "1"),
        ("UPDATE program_settings SET earn_rate = 5000", "program_settings", "1"),
    ],
    ids=["a prize", "a campaign's end", "a campaign's name", "a tier", "a zone", "a rate"],
)
async def test_a_bad_configuration_row_is_refused_and_sales_go_on(
    api: Api, client: AsyncTestClient[Any], clean_db: str, sql: str, table: str, row: str
) -> None:
    till = await api.open_till()
    member_id = await member_of(till)
    campaign = await create_campaign(api)
    # Read once while good: this process's fallback for a refused programme or ladder.
    assert (await till.sell("R-0", LINES, member_id=member_id)).status_code == 201
    await execute(clean_db, sql)

    sale = await till.sell("R-1", LINES, member_id=member_id)
    answers = await answers_of(api, member_id)
    body = await health(client)

    assert sale.status_code == 201, sale.text
    assert answers == dict.fromkeys(answers, 200)
    assert body["status"] == "degraded"
    assert body["configuration"]["usable"] is True
    assert (table, row.format(campaign=campaign["id"])) in refused(body)
    if table.startswith("draw_"):  # a campaign is run whole or not at all
        assert ("draw_campaigns", campaign["id"]) in refused(body)
        assert sale.json()["draw_chances"] == 0
    else:
        assert sale.json()["draw_chances"] == 1


async def test_a_process_that_never_read_a_good_programme_answers_503_and_health_says_why(
    api: Api, clean_db: str
) -> None:
    till = await api.open_till()
    member_id = await member_of(till)
    await execute(clean_db, "UPDATE program_settings SET time_zone = 'Mars/Olympus'")
    fresh: Litestar = create_app(Settings(db_pool_min=1, db_pool_max=2), database_url=clean_db)
    # A second app binds the tables to its own engine when it starts: give them back after.
    bound = {table: table._meta._db for table in ALL_TABLES}
    try:
        async with AsyncTestClient(app=fresh, raise_server_exceptions=False) as other:
            sale = await other.post(
                "/v1/pos/sales",
                json={"receipt_id": "R-1", "member_id": member_id, "lines": LINES},
                headers=till.headers(),
            )
            lookup = await other.get(f"/v1/admin/members/{member_id}", headers=api.admin_headers)
            card = await other.get("/v1/me/card-token", headers=api.member_headers(member_id))
            body = await health(other)
    finally:
        for table, db in bound.items():
            table._meta._db = db

    assert sale.status_code == 503, sale.text
    assert sale.json()["code"] == "configuration_unavailable"
    assert sale.headers["retry-after"]
    assert lookup.status_code == 503  # the 360 view shows tiers and local days
    assert card.status_code == 200, card.text  # what needs no configuration is served
    assert body["status"] == "degraded"
    assert body["configuration"]["usable"] is False
    assert "Mars/Olympus" in refused(body)[("program_settings", "1")]
    assert await fetchval(clean_db, "SELECT count(*) FROM sales") == 0


async def test_a_template_stored_with_infinite_validity_keeps_working_and_health_names_it(
    api: Api, client: AsyncTestClient[Any], clean_db: str
) -> None:
    till = await api.open_till()
    member_id = await member_of(till)
    window = {**TEN_OFF, "valid_days": None}
    template = await create_template(
        api, **window, valid_from=NOW.isoformat(), valid_until=(NOW + timedelta(days=9)).isoformat()
    )
    await execute(clean_db, "UPDATE coupon_templates SET valid_until = 'infinity'")
    code = await issue_one(api, template["id"], member_id)

    listed = await api.client.get("/v1/admin/coupon-templates", headers=api.admin_headers)
    mine = await api.client.get("/v1/me/coupons", headers=api.member_headers(member_id))
    quoted = await till.post(
        "/v1/pos/quote", {"member_id": member_id, "lines": LINES, "coupon_codes": [code]}
    )
    body = await health(client)

    assert listed.status_code == 200, listed.text
    assert mine.status_code == 200, mine.text
    assert quoted.status_code == 200, quoted.text
    assert quoted.json()["applied_coupons"] == [code]
    assert body["status"] == "degraded"
    assert "infinity" in refused(body)[("coupon_templates", template["id"])]
    # What the coupon was issued with is finite: the clamp, never the infinity, is copied.
    assert await fetchval(clean_db, "SELECT bool_and(isfinite(expires_at)) FROM coupons")


@pytest.fixture
async def member_with_bad_history(api: Api, clean_db: str) -> tuple[Till, str]:
    """A member whose only sale, lots and coupon an older version stored at +-infinity."""
    till = await api.open_till()
    member_id = await member_of(till)
    other = await member_of(till, 2)
    template = await create_template(api)
    await issue_one(api, template["id"], member_id)
    sale = await till.sell("R-OLD", LINES, member_id=member_id)
    assert sale.status_code == 201, sale.text
    assert (await till.sell("R-OTHER", LINES, member_id=other)).status_code == 201
    await execute(clean_db, "UPDATE sales SET occurred_at = '-infinity' WHERE receipt_id = 'R-OLD'")
    await execute(
        clean_db,
        "UPDATE points_lots SET expires_at = 'infinity' WHERE member_id = $1",
        UUID(member_id),
    )
    await execute(clean_db, "UPDATE coupons SET expires_at = 'infinity'")
    return till, member_id


async def test_reports_and_reads_answer_over_times_stored_at_infinity(
    api: Api, member_with_bad_history: tuple[Till, str]
) -> None:
    _, member_id = member_with_bad_history

    answers = await answers_of(api, member_id)
    lifecycle = await api.client.get("/v1/admin/reports/lifecycle", headers=api.admin_headers)
    view = await api.client.get(f"/v1/admin/members/{member_id}", headers=api.admin_headers)

    assert answers == dict.fromkeys(answers, 200)
    # -infinity reads as the floor of what the service computes with: long ago.
    assert view.json()["crm"]["lifecycle"] == "churned"
    assert lifecycle.json()["at_end"]["churned"] == 1


async def test_the_member_can_still_buy_spend_points_and_be_adjusted(
    api: Api, member_with_bad_history: tuple[Till, str]
) -> None:
    till, member_id = member_with_bad_history

    quoted = await till.post(
        "/v1/pos/quote", {"member_id": member_id, "lines": LINES, "redeem_points": 10}
    )
    spent = await till.sell("R-NEW", LINES, member_id=member_id, redeem_points=10)
    adjusted = await api.admin_post(
        f"/v1/admin/members/{member_id}/adjustments", {"points": -1, "reason": "goodwill"}
    )

    assert quoted.status_code == 200, quoted.text
    assert spent.status_code == 201, spent.text
    assert adjusted.status_code == 201, adjusted.text
