"""The console header: every page but the dashboard sits in a menu once a role has more pages
than fit in one row, so a page added without a group cannot push the owner's header past one
row at 1280 px (the browser test measures that row)."""

from __future__ import annotations

from adapters.http.console.controller import NAV
from adapters.http.console.navigation import FLAT_LIMIT, GROUPS, menu

ALWAYS_A_LINK = {"console.dashboard"}


def test_every_page_of_the_header_but_the_dashboard_belongs_to_a_menu() -> None:
    ungrouped = {item.operation for item in NAV} - set(GROUPS) - ALWAYS_A_LINK
    assert not ungrouped, f"add these to adapters/http/console/navigation.py GROUPS: {ungrouped}"


def test_the_owners_header_holds_no_more_entries_than_a_flat_row_does() -> None:
    entries = menu(list(NAV))  # the owner sees every page
    assert len(entries) <= FLAT_LIMIT
    assert entries[0].label == "Dashboard"
