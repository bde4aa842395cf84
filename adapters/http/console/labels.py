"""Values the console shows by name through ``_()`` that no other module marks for the
catalogues (pybabel extracts only literal texts). tests/unit/test_console_catalogues.py
checks every value of each enum the pages show has a Chinese translation."""

from __future__ import annotations

from adapters.http.console.i18n import N_

# domain.tier_policy.TierChangeReason: why a member's tier changed (the member page's history).
TIER_CHANGE_REASONS = (
    N_("qualified"),
    N_("review"),
    N_("manual"),
    N_("policy_change"),
)


# Form fields named in a refusal ("Not saved: a value is not valid (...)"): the name of the
# field as its label reads, translated like any text, never the field's internal name.
FIELD_LABELS = {
    "version": N_("the version read"),
    "earn_rate": N_("points earned per currency unit"),
    "point_value": N_("value of one point"),
    "pending_days": N_("days points stay pending"),
    "guest_claim_days": N_("days a guest sale may be claimed"),
    "time_zone": N_("time zone"),
    "window_days": N_("window (days)"),
    "grace_days": N_("grace (days)"),
    "code": N_("tier code"),
    "tier_code": N_("tier code"),
    "name": N_("tier name"),
    "rank": N_("rank"),
    "threshold": N_("threshold"),
    "multiplier": N_("earn multiplier"),
    "earn_multiplier": N_("earn multiplier"),
    "tiers": N_("the tier ladder"),
}


def field_label(name: str) -> str:
    """The msgid naming a form field: `rank_2` (a row of the ladder) is `rank`; a name no one
    labelled is `a field` rather than shown raw."""
    base, _, suffix = name.rpartition("_")
    key = base if suffix.isdigit() and base else name
    return FIELD_LABELS.get(key, N_("a field"))
