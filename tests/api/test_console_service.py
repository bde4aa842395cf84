"""The service agent's console pages (issue #18) through the HTTP app, without a browser:
member search, the 360 view's actions (points within the role's limit, a new card, the paged
ledger), the feedback inbox and the follow-up call list; and refusals by the server of roles
without the permission and of requests without the CSRF token."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from adapters.persistence.follow_ups import schedule_due_follow_ups
from app.container import Container
from domain.staff import StaffRole
from tests.api.client import Api, bearer
from tests.support.console import console_login, csrf_of, make_staff

pytestmark = pytest.mark.db

LINE = [{"sku": "TOWEL", "quantity": 1, "unit_price": 12_500}]


@pytest.fixture
async def console(client: AsyncTestClient[Any], api: Api) -> AsyncIterator[AsyncTestClient[Any]]:
    client.cookies.clear()
    client.follow_redirects = False
    try:
        yield client
    finally:
        client.follow_redirects = True
        client.cookies.clear()


def _container(app: Litestar) -> Container:
    container: Container = app.state.container
    return container


async def _as(console: AsyncTestClient[Any], app: Litestar, role: StaffRole) -> str:
    """Logs in a new staff member of ``role``; returns the session's CSRF token."""
    console.cookies.clear()
    email = f"{role.value}@example.com"  # one of each role per test
    make_staff(_container(app), email, role, client=console)
    assert (await console_login(console, email)).status_code == 303
    return csrf_of((await console.get("/console")).text)


async def _points(console: AsyncTestClient[Any], member_id: str) -> int:
    page = await console.get(f"/console/members/{member_id}")
    found = re.search(r'id="available">([^<]*)<', page.text)
    assert found, page.text
    return int(found.group(1).replace(",", ""))


async def test_a_service_agent_finds_a_member_by_each_criterion(
    console: AsyncTestClient[Any], app: Litestar, api: Api
) -> None:
    till = await api.open_till()
    member = await till.enrol("+8613800138111", name="Wang Xiaoming", email="Wang@Example.com")
    other = await till.enrol("+8613800138112", name="Li Xiaoming")
    await _as(console, app, StaffRole.SERVICE)
    link = f'href="/console/members/{member["member_id"]}"'
    searches = {
        ("138 0013 8111", ""): "phone",  # guessed: not a card number, so a phone
        ("13800138111", "phone"): "phone",
        (member["card_number"], ""): "card number",
        (member["card_number"], "card_number"): "card number",
        ("wang@example.COM", ""): "e-mail",
        ("WANG xiao", ""): "name",
        ("xiaoming", "name"): "name",
    }
    for (q, by), why in searches.items():
        page = await console.get("/console/members", params={"q": q, "by": by})
        assert page.status_code == 200, (q, by)
        assert link in page.text, (q, by, why)
    both = await console.get("/console/members", params={"q": "xiaoming"})
    assert f"/console/members/{other['member_id']}" in both.text
    # htmx asks for the results alone.
    fragment = await console.get(
        "/console/members", params={"q": "13800138111"}, headers={"HX-Request": "true"}
    )
    assert link in fragment.text
    assert "<html" not in fragment.text
    nobody = await console.get("/console/members", params={"q": "13900000000", "by": "phone"})
    assert "No member matches." in nobody.text
    bad = await console.get("/console/members", params={"q": "not-a-mail", "by": "email"})
    assert bad.status_code == 200
    assert "not a valid" in bad.text
    chinese = await console.get(
        "/console/members", params={"q": "wang"}, headers={"Accept-Language": "zh-CN"}
    )
    assert "搜索" in chinese.text


async def test_member_search_results_are_paged(
    console: AsyncTestClient[Any], app: Litestar, api: Api
) -> None:
    till = await api.open_till()
    ids = {
        (await till.enrol(f"+86138001382{n:02d}", name=f"Zhao {n}"))["member_id"] for n in range(23)
    }
    await _as(console, app, StaffRole.SERVICE)
    first = await console.get("/console/members", params={"q": "zhao", "by": "name"})
    shown = set(re.findall(r'href="/console/members/([0-9a-f-]{36})"', first.text))
    more = re.search(r'href="(/console/members\?[^"]*after=[^"]*)"', first.text)
    assert len(shown) == 20
    assert more
    second = await console.get(more.group(1).replace("&amp;", "&"))
    rest = set(re.findall(r'href="/console/members/([0-9a-f-]{36})"', second.text))
    assert shown | rest == ids
    assert not shown & rest
    assert "after=" not in second.text


async def test_a_service_agent_adjusts_points_within_the_limit_and_is_refused_over_it(
    console: AsyncTestClient[Any], app: Litestar, api: Api
) -> None:
    limit = _container(app).settings.service_adjustment_limit
    till = await api.open_till()
    member_id = (await till.enrol("+8613800138121"))["member_id"]
    path = f"/console/members/{member_id}/adjust"
    csrf = await _as(console, app, StaffRole.SERVICE)
    done = await console.post(path, data={"_csrf": csrf, "points": "120", "reason": "goodwill"})
    assert done.status_code == 303
    assert done.headers["location"] == f"/console/members/{member_id}?done=adjusted"
    page = await console.get(done.headers["location"])
    assert "Points adjusted." in page.text
    assert "goodwill" in page.text
    assert await _points(console, member_id) == 120
    for points in (limit + 1, -(limit + 1)):
        over = await console.post(path, data={"_csrf": csrf, "points": str(points), "reason": "x"})
        assert over.status_code == 403, points
        assert "at most" in over.text
    debit = await console.post(path, data={"_csrf": csrf, "points": "-500", "reason": "oops"})
    assert debit.status_code == 422
    assert "does not have that many points" in debit.text
    for data in ({"points": "0", "reason": "x"}, {"points": "ten", "reason": "x"}):
        assert (await console.post(path, data={"_csrf": csrf, **data})).status_code == 422
    assert (await console.post(path, data={"_csrf": csrf, "points": "5"})).status_code == 422
    assert await _points(console, member_id) == 120
    # An owner has no limit.
    owner = await _as(console, app, StaffRole.OWNER)
    big = await console.post(path, data={"_csrf": owner, "points": str(limit + 1), "reason": "vip"})
    assert big.status_code == 303
    assert await _points(console, member_id) == 120 + limit + 1
    # The API refuses a service token over the limit the same way; an owner's token passes.
    tokens = _container(app).tokens
    service = tokens.issue_admin_token("s@example.com", staff_role=StaffRole.SERVICE).token  # type: ignore[attr-defined]
    answer = await api.client.post(
        f"/v1/admin/members/{member_id}/adjustments",
        json={"points": limit + 1, "reason": "api"},
        headers={**bearer(service), "Idempotency-Key": "over-limit-1"},
    )
    assert answer.status_code == 403
    assert (answer.json()["code"], answer.json()["limit"]) == ("adjustment_over_limit", limit)
    within = await api.client.post(
        f"/v1/admin/members/{member_id}/adjustments",
        json={"points": limit, "reason": "api"},
        headers={**bearer(service), "Idempotency-Key": "within-limit-1"},
    )
    assert within.status_code == 201, within.text


async def test_a_service_agent_replaces_a_lost_card(
    console: AsyncTestClient[Any], app: Litestar, api: Api
) -> None:
    till = await api.open_till()
    member = await till.enrol("+8613800138131")
    csrf = await _as(console, app, StaffRole.SERVICE)
    done = await console.post(f"/console/members/{member['member_id']}/card", data={"_csrf": csrf})
    assert done.status_code == 303
    page = (await console.get(done.headers["location"])).text
    new = re.search(r'id="card-number">([^<]*)<', page)
    assert new
    assert new.group(1) != member["card_number"]
    assert "blocked" in page
    old = await console.get("/console/members", params={"q": member["card_number"]})
    assert f"/console/members/{member['member_id']}" in old.text  # blocked cards still find


async def test_the_ledger_of_the_360_view_is_paged(
    console: AsyncTestClient[Any], app: Litestar, api: Api
) -> None:
    till = await api.open_till()
    member_id = (await till.enrol("+8613800138141"))["member_id"]
    csrf = await _as(console, app, StaffRole.OWNER)
    for n in range(1, 23):
        answer = await console.post(
            f"/console/members/{member_id}/adjust",
            data={"_csrf": csrf, "points": str(n), "reason": f"entry-{n}-"},
        )
        assert answer.status_code == 303
    first = (await console.get(f"/console/members/{member_id}")).text
    older = re.search(r'href="(/console/members/[^"]*\?before=\d+)#ledger" id="older"', first)
    assert older
    second = (await console.get(older.group(1))).text
    first_reasons = set(re.findall(r"entry-(\d+)-", first))
    second_reasons = set(re.findall(r"entry-(\d+)-", second))
    assert len(first_reasons) == 20
    assert first_reasons | second_reasons == {str(n) for n in range(1, 23)}
    assert not first_reasons & second_reasons
    assert 'id="older"' not in second
    beyond = await console.get(f"/console/members/{member_id}?before={2**63}")
    assert beyond.status_code in (400, 422)
    calls = await console.get("/console/follow-ups", params={"after": str(2**63)})
    assert calls.status_code in (400, 422)


async def test_feedback_is_acknowledged_then_resolved_with_a_note(
    console: AsyncTestClient[Any], app: Litestar, api: Api
) -> None:
    till = await api.open_till()
    member_id = (await till.enrol("+8613800138151"))["member_id"]
    sent = await api.client.post(
        "/v1/me/feedback",
        json={"kind": "complaint", "text": "The towel shrank"},
        headers=api.member_headers(member_id),
    )
    feedback_id = sent.json()["feedback_id"]
    csrf = await _as(console, app, StaffRole.SERVICE)
    inbox = await console.get("/console/feedback")
    assert inbox.status_code == 200
    assert "The towel shrank" in inbox.text
    path = f"/console/feedback/{feedback_id}"
    seen = await console.post(path, data={"_csrf": csrf, "status": "acknowledged", "shown": "new"})
    assert seen.status_code == 303
    assert "Feedback acknowledged." in (await console.get(seen.headers["location"])).text
    assert "The towel shrank" not in (await console.get("/console/feedback?status=new")).text
    done = await console.post(
        path, data={"_csrf": csrf, "status": "resolved", "note": "refunded", "shown": "new"}
    )
    assert done.status_code == 303
    resolved = (await console.get("/console/feedback?status=resolved")).text
    assert "The towel shrank" in resolved
    assert "refunded" in resolved
    back = await console.post(path, data={"_csrf": csrf, "status": "acknowledged"})
    assert back.status_code == 409
    # The API sees what the console did.
    listed = await api.client.get(
        "/v1/admin/feedback", params={"status": "resolved"}, headers=api.admin_headers
    )
    [item] = listed.json()["items"]
    assert (item["admin_note"], item["updated_by"]) == ("refunded", "staff:service@example.com")


async def _scheduled(url: str) -> int:
    connection = await asyncpg.connect(url)
    try:
        return (await schedule_due_follow_ups(connection, datetime.now(UTC))).scheduled
    finally:
        await connection.close()


async def test_a_follow_up_call_is_recorded_from_todays_list(
    console: AsyncTestClient[Any], app: Litestar, api: Api, clean_db: str
) -> None:
    till = await api.open_till()
    member = await till.enrol("+8613800138161", name="Chen Jing")
    week_ago = datetime.now(UTC) - timedelta(days=7)
    sold = await till.sell(
        "CALL-1", LINE, member_id=member["member_id"], occurred_at=week_ago.isoformat()
    )
    assert sold.status_code == 201, sold.text
    assert await _scheduled(clean_db) == 1
    csrf = await _as(console, app, StaffRole.SERVICE)
    today = (await console.get("/console/follow-ups")).text
    assert "Chen Jing" in today
    assert "+8613800138161" in today
    assert "CALL-1" in today
    follow_up_id = re.search(r'action="/console/follow-ups/(\d+)"', today)
    assert follow_up_id
    path = f"/console/follow-ups/{follow_up_id.group(1)}"
    wrong = await console.post(
        path, data={"_csrf": csrf, "status": "unreachable", "satisfaction": "4"}
    )
    assert wrong.status_code == 422
    assert "only recorded when the member was reached" in wrong.text
    done = await console.post(
        path,
        data={"_csrf": csrf, "status": "reached", "satisfaction": "5", "outcome": "happy"},
    )
    assert done.status_code == 303
    assert "Call recorded." in (await console.get(done.headers["location"])).text
    assert "CALL-1" not in (await console.get("/console/follow-ups")).text
    every = (await console.get("/console/follow-ups?show=all")).text
    assert "CALL-1" in every
    assert "happy" in every
    listed = await api.client.get("/v1/admin/follow-ups", headers=api.admin_headers)
    [item] = listed.json()["items"]
    assert (item["status"], item["satisfaction"]) == ("reached", 5)


async def test_roles_without_the_permission_are_refused_by_the_server_even_when_forged(
    console: AsyncTestClient[Any], app: Litestar, api: Api
) -> None:
    till = await api.open_till()
    member_id = (await till.enrol("+8613800138171"))["member_id"]
    sent = await api.client.post(
        "/v1/me/feedback",
        json={"kind": "praise", "text": "nice"},
        headers=api.member_headers(member_id),
    )
    feedback_id = sent.json()["feedback_id"]
    forged = {
        f"/console/members/{member_id}/adjust": {"points": "10", "reason": "forged"},
        f"/console/members/{member_id}/card": {},
        f"/console/feedback/{feedback_id}": {"status": "resolved"},
        "/console/follow-ups/1": {"status": "declined"},
        f"/console/members/{member_id}/erase": {"confirm": "ERASE"},
    }
    pages = ["/console/members", f"/console/members/{member_id}", "/console/feedback"]
    pages.append("/console/follow-ups")
    for role in (StaffRole.MARKETING, StaffRole.ANALYST):
        csrf = await _as(console, app, role)  # a valid session and its valid CSRF token
        for path, data in forged.items():
            answer = await console.post(path, data={"_csrf": csrf, **data})
            assert answer.status_code == 403, (role, path)
        for path in pages:
            assert (await console.get(path)).status_code == 403, (role, path)
    # The service role, allowed, still needs the CSRF token on every POST.
    csrf = await _as(console, app, StaffRole.SERVICE)
    for path, data in forged.items():
        assert (await console.post(path, data=data)).status_code == 403, path
        wrong = await console.post(path, data={"_csrf": "0" * 64, **data})
        assert wrong.status_code == 403, path
    # Erasure is an owner's alone.
    erase = {"_csrf": csrf, "confirm": "ERASE"}
    assert (
        await console.post(f"/console/members/{member_id}/erase", data=erase)
    ).status_code == 403
    assert 'id="erase"' not in (await console.get(f"/console/members/{member_id}")).text
    assert await _points(console, member_id) == 0
    listed = await api.client.get("/v1/admin/feedback", headers=api.admin_headers)
    assert [f["status"] for f in listed.json()["items"]] == ["new"]


async def test_a_form_sent_twice_adjusts_points_once(
    console: AsyncTestClient[Any], app: Litestar, api: Api
) -> None:
    till = await api.open_till()
    member_id = (await till.enrol("+8613800138181"))["member_id"]
    csrf = await _as(console, app, StaffRole.SERVICE)
    page = (await console.get(f"/console/members/{member_id}")).text
    once = re.search(r'name="once" value="([^"]+)"', page)
    assert once
    form = {"_csrf": csrf, "once": once.group(1), "points": "40", "reason": "double click"}
    path = f"/console/members/{member_id}/adjust"
    first = await console.post(path, data=form)
    second = await console.post(path, data=form)
    assert first.status_code == second.status_code == 303
    assert await _points(console, member_id) == 40
    # The same form with other values is refused, and changes nothing.
    other = await console.post(path, data={**form, "points": "400"})
    assert other.status_code == 409
    assert "already sent" in other.text
    assert await _points(console, member_id) == 40
    # A new form (a new key) adjusts again; a refusal is the form's answer too.
    over = {**form, "once": "form-2", "points": "5000"}
    assert (await console.post(path, data=over)).status_code == 403
    assert (await console.post(path, data=over)).status_code == 403
    card = {"_csrf": csrf, "once": "form-3"}
    assert (await console.post(f"/console/members/{member_id}/card", data=card)).status_code == 303
    assert (await console.post(f"/console/members/{member_id}/card", data=card)).status_code == 303
    cards = (await console.get(f"/console/members/{member_id}")).text
    assert cards.count(">blocked<") == 1


async def test_an_owner_erases_a_member_after_typing_the_confirmation(
    console: AsyncTestClient[Any], app: Litestar, api: Api
) -> None:
    till = await api.open_till()
    member_id = (await till.enrol("+8613800138191", name="Sun Li"))["member_id"]
    csrf = await _as(console, app, StaffRole.OWNER)
    path = f"/console/members/{member_id}/erase"
    page = (await console.get(f"/console/members/{member_id}")).text
    assert 'id="erase"' in page
    for typed in ("", "erase", "yes"):
        refused = await console.post(path, data={"_csrf": csrf, "confirm": typed})
        assert refused.status_code == 422
        assert "Sun Li" in refused.text
    done = await console.post(path, data={"_csrf": csrf, "confirm": "ERASE"})
    assert done.status_code == 303
    erased = (await console.get(done.headers["location"])).text
    assert "Sun Li" not in erased
    assert "personal data was erased" in erased
    assert 'id="erase"' not in erased
    found = await console.get("/console/members", params={"q": "+8613800138191"})
    assert member_id not in found.text
