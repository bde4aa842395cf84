"""The console's owner, marketing and analyst pages (issue #18) through the HTTP app: each a
real operation through the use cases, refused by the server to roles that lack it."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from app.container import Container
from domain.staff import StaffRole
from tests.api.client import Api
from tests.support.console import console_login, csrf_of, make_staff

# The programme form's other fields, as the page fills them for a new programme.
SETTINGS_REST = {
    "guest_claim_days": "30",
    "expiry_kind": "never",
    "expiry_count": "",
    "crm_new_days": "30",
    "crm_dormant_days": "90",
    "crm_churned_days": "180",
    "crm_follow_up_days": "7",
}
TEN_OFF = {"name": "10 off", "kind": "fixed", "value": 1000, "valid_days": 30}


@pytest.fixture
def service(client: AsyncTestClient[Any], app: Litestar) -> Container:
    container: Container = app.state.container
    return container


@pytest.fixture
async def console(client: AsyncTestClient[Any], api: Api) -> AsyncIterator[AsyncTestClient[Any]]:
    client.cookies.clear()
    client.follow_redirects = False
    try:
        yield client
    finally:
        client.follow_redirects = True
        client.cookies.clear()


async def _as(console: Any, service: Container, role: StaffRole) -> str:
    """Logs a new staff member of ``role`` in; returns a CSRF token of the session."""
    console.cookies.clear()
    email = f"{role.value}.manage@example.com"
    make_staff(service, email, role, client=console)
    assert (await console_login(console, email)).status_code == 303
    return csrf_of((await console.get("/console")).text)


def _ladder(version: int, silver_threshold: str = "100") -> dict[str, str]:
    return {
        "version": str(version),
        "window_days": "365",
        "grace_days": "30",
        "code_0": "member", "name_0": "Member", "rank_0": "0", "threshold_0": "0",
        "multiplier_0": "1",
        "code_1": "silver", "name_1": "Silver", "rank_1": "1",
        "threshold_1": silver_threshold, "multiplier_1": "1.5",
    }  # fmt: skip


async def test_an_owner_changes_the_settings_and_a_stale_form_is_refused(
    console: Any, service: Container
) -> None:
    token = await _as(console, service, StaffRole.OWNER)
    page = await console.get("/console/programme")
    assert page.status_code == 200
    version = int(re.search(r'name="version" value="(\d+)"', page.text).group(1))  # type: ignore[union-attr]
    form = {
        "_csrf": token,
        "version": str(version),
        "earn_rate": "2",
        "point_value": "1",
        "pending_days": "7",
        "time_zone": "Asia/Shanghai",
        "refunds_at_any_store": "on",
        **SETTINGS_REST,
    }
    saved = await console.post("/console/programme", data=form)
    assert saved.status_code == 200, saved.text
    assert f'name="version" value="{version + 1}"' in saved.text
    stale = await console.post("/console/programme", data={**form, "earn_rate": "3"})
    assert stale.status_code == 409
    assert 'id="stale"' in stale.text
    program = await console.get("/console/programme")
    assert 'value="2"' in program.text  # the stale change was not saved over it


async def test_an_owner_sets_points_expiry_claims_and_lifecycle_thresholds_in_the_console(
    console: Any, service: Container, api: Api
) -> None:
    async def program() -> dict[str, Any]:
        answer = await console.get("/v1/admin/program", headers=api.admin_headers)
        assert answer.status_code == 200, answer.text
        return answer.json()  # type: ignore[no-any-return]

    token = await _as(console, service, StaffRole.OWNER)
    page = await console.get("/console/programme")
    version = int(re.search(r'name="version" value="(\d+)"', page.text).group(1))  # type: ignore[union-attr]
    form = {
        "_csrf": token,
        "version": str(version),
        "earn_rate": "1",
        "point_value": "1",
        "pending_days": "14",
        "time_zone": "Asia/Shanghai",
        **SETTINGS_REST,
        "guest_claim_days": "10",
        "expiry_kind": "days",
        "expiry_count": "",
        "crm_new_days": "20",
        "crm_dormant_days": "60",
        "crm_churned_days": "120",
        "crm_follow_up_days": "3",
    }
    # Expiring after N days needs the N: refused, nothing saved.
    refused = await console.post("/console/programme", data=form)
    assert refused.status_code == 422
    saved = await console.post("/console/programme", data={**form, "expiry_count": "365"})
    assert saved.status_code == 200, saved.text
    saved_program = await program()
    assert saved_program["version"] == version + 1
    assert saved_program["points_expiry"] == {"kind": "days", "count": 365}
    assert saved_program["guest_claim_days"] == 10
    assert saved_program["crm"] == {
        "new_days": 20, "dormant_days": 60, "churned_days": 120, "follow_up_days": 3,
    }  # fmt: skip
    # "Never" ignores a count left in the field; thresholds out of order are refused.
    never = {**form, "version": str(version + 1), "expiry_kind": "never", "expiry_count": "30"}
    assert (await console.post("/console/programme", data=never)).status_code == 200
    assert (await program())["points_expiry"] == {"kind": "never", "count": None}
    disorder = {**never, "version": str(version + 2), "crm_dormant_days": "200"}
    assert (await console.post("/console/programme", data=disorder)).status_code == 422
    assert (await program())["crm"]["dormant_days"] == 60


async def test_an_owner_reads_the_simulation_then_saves_the_ladder(
    console: Any, service: Container, api: Api
) -> None:
    till = await api.open_till()
    member = (await till.enrol("+8613800000001"))["member_id"]
    sold = await till.sell(
        "R-1", [{"sku": "A", "quantity": 1, "unit_price": 20000}], member_id=member
    )
    assert sold.status_code == 201, sold.text
    token = await _as(console, service, StaffRole.OWNER)
    page = await console.get("/console/tiers")
    version = int(re.search(r'name="version" value="(\d+)"', page.text).group(1))  # type: ignore[union-attr]
    simulated = await console.post(
        "/console/tiers/simulate", data={"_csrf": token, **_ladder(version)}
    )
    assert simulated.status_code == 200, simulated.text
    assert 'id="simulation"' in simulated.text
    assert re.search(r'id="moving-up">1<', simulated.text), simulated.text
    assert re.search(r'id="up-silver">1<', simulated.text), simulated.text
    assert (await console.get("/console/tiers")).text.count("silver") == 0  # nothing saved yet
    saved = await console.post("/console/tiers", data={"_csrf": token, **_ladder(version)})
    assert saved.status_code == 200, saved.text
    assert 'id="saved"' in saved.text
    assert "tiers.updated" not in saved.text
    assert "silver" in saved.text
    stale = await console.post("/console/tiers", data={"_csrf": token, **_ladder(version, "200")})
    assert stale.status_code == 409
    assert 'id="stale"' in stale.text
    # The member, now silver, would fall below it on a higher threshold: into grace first.
    higher = await console.post(
        "/console/tiers/simulate", data={"_csrf": token, **_ladder(version + 1, "500")}
    )
    assert re.search(r'id="down-member">1<', higher.text), higher.text
    assert 'id="grace-note"' in higher.text


async def test_marketing_previews_issues_a_segment_campaign_and_lists_its_recipients(
    console: Any, service: Container, api: Api
) -> None:
    till = await api.open_till()
    for n in range(3):
        await till.enrol(f"+861380000010{n}")
    template = (await api.admin_post("/v1/admin/coupon-templates", TEN_OFF)).json()
    token = await _as(console, service, StaffRole.MARKETING)
    preview = await console.post(
        "/console/campaigns/preview",
        data={"_csrf": token, "template_id": template["id"], "segment": "tier:member"},
    )
    assert preview.status_code == 200, preview.text
    assert "3 members" in preview.text
    issued = await console.post(
        "/console/campaigns/issue",
        data={
            "_csrf": token,
            "template_id": template["id"],
            "segment": "tier:member",
            "campaign_key": "spring-2026",
        },
    )
    assert issued.status_code == 303, issued.text
    sent = await console.get(issued.headers["location"])
    assert sent.status_code == 200
    assert 'id="recipient-count">3<' in sent.text
    # Retiring the template: the next sending is refused with the reason.
    retired = await console.post(
        f"/console/coupon-templates/{template['id']}/retire", data={"_csrf": token}
    )
    assert retired.status_code == 200
    again = await console.post(
        "/console/campaigns/issue",
        data={
            "_csrf": token,
            "template_id": template["id"],
            "segment": "tier:member",
            "campaign_key": "spring-2026b",
        },
    )
    assert again.status_code == 422


async def test_an_analyst_forging_a_tier_save_or_a_campaign_gets_403(
    console: Any, service: Container
) -> None:
    token = await _as(console, service, StaffRole.ANALYST)
    assert (await console.get("/console/tiers")).status_code == 200  # reading is allowed
    for path, form in (
        ("/console/tiers", _ladder(1)),
        ("/console/tiers/simulate", _ladder(1)),
        ("/console/programme", {"version": "1"}),
        ("/console/campaigns/issue", {"segment": "tier:member", "campaign_key": "x"}),
        ("/console/campaigns/preview", {"segment": "tier:member"}),
    ):
        forged = await console.post(path, data={"_csrf": token, **form})
        assert forged.status_code == 403, path
    assert (await console.get("/console/stores")).status_code == 403
    assert (await console.get("/console/audit")).status_code == 403


async def test_a_post_without_the_csrf_token_is_refused_on_the_new_pages(
    console: Any, service: Container
) -> None:
    await _as(console, service, StaffRole.OWNER)
    for path, form in (
        ("/console/tiers", _ladder(1)),
        ("/console/programme", {"version": "1"}),
        ("/console/campaigns/issue", {"segment": "tier:member", "campaign_key": "x"}),
    ):
        refused = await console.post(path, data=form)
        assert refused.status_code == 403, path
        assert "Request refused" in refused.text


async def test_an_analyst_downloads_the_rfm_members_as_csv(
    console: Any, service: Container, api: Api
) -> None:
    till = await api.open_till()
    member = (await till.enrol("+8613800000201"))["member_id"]
    await till.sell("R-9", [{"sku": "A", "quantity": 1, "unit_price": 500}], member_id=member)
    await _as(console, service, StaffRole.ANALYST)
    grid = await console.get("/console/crm")
    assert grid.status_code == 200
    assert 'id="rfm-grid"' in grid.text
    csv = await console.get("/console/crm/rfm.csv")
    assert csv.status_code == 200
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.content.startswith("\ufeff".encode())
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert lines[0] == "member_id,name,tier_code,recency_days,frequency,monetary,r,f,m,segment"
    assert member in lines[1]
    cell = re.search(r'href="(/console/crm/cell\?r=\d&amp;f=\d)"[^>]*>1<', grid.text)
    assert cell, grid.text
    listed = await console.get(cell.group(1).replace("&amp;", "&"))
    assert listed.status_code == 200
    assert (await console.get("/console/crm/churn")).status_code == 200
    churn = await console.get("/console/crm/churn.csv")
    assert churn.status_code == 200
    assert churn.content.startswith("\ufeff".encode())
    # Service staff have no reports.
    await _as(console, service, StaffRole.SERVICE)
    assert (await console.get("/console/crm/rfm.csv")).status_code == 403


async def test_an_owner_rotates_a_terminal_secret_shown_once_and_deactivates_it(
    console: Any, service: Container, api: Api
) -> None:
    store = await api.create_store("S-console")
    terminal = await api.create_terminal(store["store_id"])
    token = await _as(console, service, StaffRole.OWNER)
    stores = await console.get("/console/stores")
    assert stores.status_code == 200
    assert "S-console" in stores.text
    rotated = await console.post(
        f"/console/terminals/{terminal['terminal_id']}/rotate", data={"_csrf": token}
    )
    assert rotated.status_code == 200
    secret = re.search(r'id="new-secret">([^<]+)<', rotated.text).group(1)  # type: ignore[union-attr]
    assert secret not in (await console.get("/console/stores")).text  # shown once
    login = await console.post(
        "/v1/auth/terminal-token",
        json={"terminal_id": terminal["terminal_id"], "secret": secret},
    )
    assert login.status_code == 200
    off = await console.post(
        f"/console/terminals/{terminal['terminal_id']}/deactivate", data={"_csrf": token}
    )
    assert off.status_code == 200
    audit = await console.get("/console/audit", params={"action": "terminal.deactivated"})
    assert audit.status_code == 200
    assert "terminal.deactivated" in audit.text
    assert "terminal.secret_rotated" not in audit.text  # filtered out
