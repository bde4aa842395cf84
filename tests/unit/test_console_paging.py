"""The console's pager (adapters/http/console/paging.py): next, previous and first links of a
keyset-paged list, its other query parameters kept."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

from adapters.http.console.paging import MAX_TRAIL, Pager


def _query(url: str | None) -> dict[str, str]:
    assert url is not None
    return {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}


def test_walking_forward_then_back_returns_to_each_page_with_the_filters_kept() -> None:
    first = Pager.of("/console/audit", {"action": "staff.login"}).followed_by(10)
    second = Pager.of("/console/audit", _query(first.next_url)).followed_by(20)
    third = Pager.of("/console/audit", _query(second.next_url)).followed_by(None)

    assert first.previous_url is None
    assert first.first_url is None
    assert _query(first.next_url) == {"action": "staff.login", "after": "10"}
    assert third.after == "20"
    assert third.next_url is None
    assert _query(third.previous_url) == {"action": "staff.login", "after": "10"}
    assert _query(second.previous_url) == {"action": "staff.login"}
    assert _query(third.first_url) == {"action": "staff.login"}


def test_two_lists_on_one_page_page_independently() -> None:
    query = {"key": "spring", "r_after": "a", "s_after": "x"}
    recipients = Pager.of("/console/campaigns/sent", query, "r_").followed_by("b")
    skips = Pager.of("/console/campaigns/sent", query, "s_").followed_by(None)

    assert _query(recipients.next_url) == {
        "key": "spring",
        "s_after": "x",
        "r_after": "b",
        "r_trail": "a",
    }
    assert _query(skips.previous_url) == {"key": "spring", "r_after": "a"}


def test_a_long_trail_is_cut_and_previous_still_leads_to_the_first_page() -> None:
    trail = ",".join(str(n) for n in range(100))
    pager = Pager.of("/p", {"after": "100", "trail": trail})

    assert len(pager.trail) == MAX_TRAIL
    steps = 0
    while pager.previous_url is not None:
        pager = Pager.of("/p", _query(pager.previous_url))
        steps += 1
    assert pager.after == ""
    assert steps == MAX_TRAIL + 1
