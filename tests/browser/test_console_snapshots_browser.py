"""The pages read from snapshots in a real browser (issue #18): once the jobs have run
(`loyalty jobs snapshot-dashboard`, `loyalty jobs score-rfm`, as cron or the service runs
them), an analyst reads the dashboard's charts and figures, in English and Chinese, the
lifecycle flows and the regions, downloads the regions as CSV and pages through a cell of the
RFM grid. Every page is checked with axe-core and photographed to tests/artifacts/screenshots/.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.browser.conftest import enrol, new_staff, serious_violations, shoot
from tests.browser.test_console_browser import _log_in
from tests.browser.test_console_manage_browser import _sell
from tests.e2e.conftest import cli


def _look(page: Any, name: str) -> None:
    shoot(page, name)
    assert serious_violations(page) == [], name


def test_an_analyst_reads_the_dashboard_charts_and_the_crm_snapshots(
    browser: Any, served: tuple[str, dict[str, str]]
) -> None:
    base, env = served
    member = enrol(base, env, "+8613900139401", "Chart 会员")
    _sell(base, env, member, "D-1", 12_345)
    _sell(base, env, member, "D-2", 655)
    said = cli("jobs", "snapshot-dashboard", env=env)
    assert said.startswith("wrote the dashboard's days")
    cli("jobs", "score-rfm", env=env)
    link = new_staff(env, "analyst.dashboard@example.com", "analyst")
    context = browser.new_context(locale="en-GB", accept_downloads=True)
    page = context.new_page()
    try:
        _log_in(page, base, link, "analyst.dashboard@example.com", "analyst")
        page.goto(f"{base}/console")
        for field in ("sales_amount", "points_earned", "members_total", "draw_plays"):
            assert page.locator(f"#chart-{field}").is_visible(), field
        # Today's row holds the two sales, in the programme's currency (CNY, minor units).
        today = page.locator("#days tbody tr").first
        cells = today.locator("td").all_inner_texts()
        assert int(cells[2]) >= 2  # sales today: these two, and any other test's
        assert cells[3].startswith("CN¥")
        assert page.locator("#chart-sales_amount rect.series-bar").count() >= 1
        title = page.locator("#chart-sales_amount title").first.text_content()
        assert title
        assert "Sales per day" in title
        _look(page, "analyst-dashboard")
        page.click("a[lang=zh-Hans]")
        page.wait_for_url(f"{base}/console")
        assert "每日销售额" in page.locator("main").inner_text()
        _look(page, "analyst-dashboard-zh")
        page.click("a[lang=en]")
        page.wait_for_url(f"{base}/console")

        page.goto(f"{base}/console/crm/lifecycle")
        assert page.locator("#flows").is_visible()
        _look(page, "analyst-crm-lifecycle")
        page.goto(f"{base}/console/crm/regions")
        assert page.locator("#regions").is_visible()
        _look(page, "analyst-crm-regions")
        with page.expect_download() as waiting:
            page.click("#regions-csv")
        content = Path(waiting.value.path()).read_bytes()
        assert content.startswith("\ufeff".encode())
        assert (
            content.decode("utf-8-sig").splitlines()[0] == "region,members,buyers,sales,net_spend"
        )

        page.goto(f"{base}/console/crm")
        page.locator("#rfm-grid td a").filter(has_not_text="0").first.click()
        page.wait_for_selector("#cell-members")
        _look(page, "analyst-crm-cell-paged")
        with page.expect_download() as waiting:
            page.click("#cell-csv")
        lines = Path(waiting.value.path()).read_bytes().decode("utf-8-sig").splitlines()
        assert lines[0].startswith("member_id,name,tier_code")
        assert len(lines) >= 2
    finally:
        context.close()
