"""The header's pages, grouped into menus once a role has more than fits in one row.

A role with at most FLAT_LIMIT pages sees them as one row of links (a service agent's four
pages stay one click away). Beyond that (an owner's dozen and more) the pages named in
GROUPS go into drop-down menus (`<details class="dropdown">`, Pico's, no script), in the
order of their first page; a page not named in GROUPS stays a plain link in the row. A new
page is placed in a menu by adding its operation id here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from adapters.http.console.i18n import N_

FLAT_LIMIT = 7

GROUPS: dict[str, str] = {
    "console.members.search": N_("Members and service"),
    "console.feedback.list": N_("Members and service"),
    "console.follow_ups.list": N_("Members and service"),
    "console.programme.view": N_("Programme"),
    "console.tiers.view": N_("Programme"),
    "console.rules.list": N_("Programme"),
    "console.campaigns.view": N_("Marketing"),
    "console.coupon_templates.list": N_("Marketing"),
    "console.automatic_rewards.view": N_("Marketing"),
    "console.draws.list": N_("Marketing"),
    "console.message_templates.list": N_("Marketing"),
    "console.crm.rfm": N_("Marketing"),
    "console.rewards.list": N_("Rewards"),
    "console.redemptions.list": N_("Rewards"),
    "console.stores": N_("Administration"),
    "console.webhooks.list": N_("Administration"),
    "console.audit": N_("Administration"),
    "console.staff.list": N_("Administration"),
}


@dataclass
class MenuEntry:
    """A link (``items`` of one) or a drop-down menu named ``label`` (a msgid)."""

    label: str
    items: list[Any] = field(default_factory=list)

    @property
    def is_menu(self) -> bool:
        return len(self.items) > 1

    def holds(self, path: str) -> bool:
        return any(item.path == path for item in self.items)


def menu(nav: list[Any]) -> list[MenuEntry]:
    """The role's navigation items (each with ``operation``, ``path``, ``label``) as the
    header shows them."""
    if len(nav) <= FLAT_LIMIT:
        return [MenuEntry(item.label, [item]) for item in nav]
    entries: list[MenuEntry] = []
    by_group: dict[str, MenuEntry] = {}
    for item in nav:
        group = GROUPS.get(item.operation)
        if group is None:
            entries.append(MenuEntry(item.label, [item]))
        elif group in by_group:
            by_group[group].items.append(item)
        else:
            by_group[group] = MenuEntry(group, [item])
            entries.append(by_group[group])
    return entries
