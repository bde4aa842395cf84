"""The console's lists past one page (issue #18): next and previous links walk the whole list
and back, each row on exactly one page; the pages' size is made small here so a handful of
rows spans several pages."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from adapters.http.console import campaign_pages, members_pages, owner_pages
from app.container import Container
from domain.staff import StaffRole
from tests.api.client import Api
from tests.support.console import console_login, csrf_of, make_staff

_NEXT = re.compile(r'href="([^"]+)" rel="next"')
_PREVIOUS = re.compile(r'href="([^"]+)" rel="prev"')


@pytest.fixture
async def console(client: AsyncTestClient[Any], api: Api) -> AsyncIterator[AsyncTestClient[Any]]:
    client.cookies.clear()
    client.follow_redirects = False
    try:
        yield client
    finally:
        client.follow_redirects = True
        client.cookies.clear()


async def _as(console: Any, app: Litestar, role: StaffRole) -> str:
    container: Container = app.state.container
    email = f"{role.value}.paging@example.com"
    make_staff(container, email, role, client=console)
    assert (await console_login(console, email)).status_code == 303
    return csrf_of((await console.get("/console")).text)


async def _walk(
    console: Any, url: str, rows: re.Pattern[str], next_link: re.Pattern[str] = _NEXT
) -> tuple[list[list[str]], str]:
    """Follows the next links from ``url`` to the last page; each page's rows, and the last
    page's text."""
    pages: list[list[str]] = []
    while True:
        page = await console.get(url)
        assert page.status_code == 200, page.text
        pages.append(rows.findall(page.text))
        found = next_link.search(page.text)
        if found is None:
            return pages, page.text
        url = html.unescape(found.group(1))


async def test_the_audit_log_pages_forward_and_back_with_its_filter(
    console: Any, app: Litestar, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(owner_pages, "PAGE", 3)
    await _as(console, app, StaffRole.OWNER)
    for _ in range(7):  # each a staff.login entry
        console.cookies.clear()
        await console_login(console, "owner.paging@example.com")
    rows = re.compile(r"<td>(staff\.login)</td>")

    pages, last = await _walk(console, "/console/audit?action=staff.login", rows)

    assert [len(p) for p in pages] == [3, 3, 2]  # 8 logins
    back = _PREVIOUS.search(last)
    assert back
    assert "action=staff.login" in html.unescape(back.group(1))
    previous = await console.get(html.unescape(back.group(1)))
    assert len(rows.findall(previous.text)) == 3
    assert 'rel="next"' in previous.text


async def test_a_campaigns_recipients_page_past_the_first_page(
    console: Any, app: Litestar, api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(campaign_pages, "LISTED", 2)
    till = await api.open_till()
    for n in range(5):
        await till.enrol(f"+861380000020{n}")
    template = (
        await api.admin_post(
            "/v1/admin/coupon-templates",
            {"name": "10 off", "kind": "fixed", "value": 1000, "valid_days": 30},
        )
    ).json()
    token = await _as(console, app, StaffRole.MARKETING)
    issued = await console.post(
        "/console/campaigns/issue",
        data={
            "_csrf": token,
            "template_id": template["id"],
            "segment": "tier:member",
            "campaign_key": "paged",
        },
    )
    assert issued.status_code == 303, issued.text
    rows = re.compile(r"<tr><td>([0-9a-f-]{36})</td><td>10 off</td>")
    recipients_next = re.compile(r'href="([^"]+)" rel="next" class="pager-next"')

    pages, _ = await _walk(console, issued.headers["location"], rows, recipients_next)

    member_ids = [m for page in pages for m in page]
    assert [len(p) for p in pages] == [2, 2, 1]
    assert len(set(member_ids)) == 5
    assert member_ids == sorted(member_ids)


async def test_member_search_results_page_with_the_query_kept(
    console: Any, app: Litestar, api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(members_pages, "PAGE", 2)
    till = await api.open_till()
    for n in range(5):
        await till.enrol(f"+86138000003{n}0", name=f"Wang {n}")
    await _as(console, app, StaffRole.SERVICE)
    rows = re.compile(r'<a href="/console/members/([0-9a-f-]{36})">')

    pages, last = await _walk(console, "/console/members?q=Wang&by=name", rows)

    assert [len(p) for p in pages] == [2, 2, 1]
    assert len({m for page in pages for m in page}) == 5
    back = _PREVIOUS.search(last)
    assert back
    assert "q=Wang" in html.unescape(back.group(1))


async def test_the_ledger_pages_to_older_entries_and_back_to_newer_ones(
    console: Any, app: Litestar, api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(members_pages, "LEDGER_PAGE", 3)
    till = await api.open_till()
    member_id = (await till.enrol("+8613800138151"))["member_id"]
    csrf = await _as(console, app, StaffRole.OWNER)
    for n in range(1, 9):
        answer = await console.post(
            f"/console/members/{member_id}/adjust",
            data={"_csrf": csrf, "points": str(n), "reason": f"entry-{n}-"},
        )
        assert answer.status_code == 303
    rows = re.compile(r"entry-(\d+)-")
    older = re.compile(r'href="([^"]+)#ledger" id="older"')
    newer = re.compile(r'href="([^"]+)#ledger" id="newer"')

    pages, last = await _walk(console, f"/console/members/{member_id}", rows, older)

    assert pages == [["8", "7", "6"], ["5", "4", "3"], ["2", "1"]]
    back = newer.search(last)
    assert back
    middle = await console.get(html.unescape(back.group(1)))
    assert rows.findall(middle.text) == ["5", "4", "3"]


async def test_the_staff_list_pages_by_e_mail(
    console: Any, app: Litestar, monkeypatch: pytest.MonkeyPatch
) -> None:
    from adapters.http.console import controller

    monkeypatch.setattr(controller, "STAFF_PAGE", 2)
    container: Container = app.state.container
    for n in range(4):
        make_staff(container, f"staff{n}@example.com", StaffRole.ANALYST, client=console)
    await _as(console, app, StaffRole.OWNER)  # owner.paging@example.com
    rows = re.compile(r"<td>([a-z0-9.]+@example\.com)</td>")

    pages, _ = await _walk(console, "/console/staff", rows)

    assert pages == [
        ["owner.paging@example.com", "staff0@example.com"],
        ["staff1@example.com", "staff2@example.com"],
        ["staff3@example.com"],
    ]
