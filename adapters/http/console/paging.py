"""Paging of the console's lists: keyset cursors, with next, previous and first links that are
plain links (they work without JavaScript; htmx boosts them, swapping the page in place).

A page is named by the cursor it starts after (``after``: the last row of the page before,
empty for the first page). "Previous" needs no backwards query: the cursors of the pages
already passed travel in the link as a ``trail`` (at most MAX_TRAIL; beyond that the oldest
fall off, and "previous" from there eventually reaches the first page). Two lists on one page
page independently under their own ``prefix``; every other query parameter is kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode
from uuid import UUID

MAX_TRAIL = 40
MAX_CURSOR = 200


@dataclass(frozen=True)
class Pager:
    path: str
    params: tuple[tuple[str, str], ...]  # the page's other query parameters, kept in links
    prefix: str
    after: str
    trail: tuple[str, ...]
    next_after: str | None = None
    param: str = "after"  # the query parameter holding the cursor (with the prefix)

    @classmethod
    def of(
        cls, path: str, query: Mapping[str, str], prefix: str = "", param: str = "after"
    ) -> Pager:
        after = str(query.get(f"{prefix}{param}", ""))[:MAX_CURSOR]
        raw_trail = str(query.get(f"{prefix}trail", ""))[: MAX_TRAIL * (MAX_CURSOR + 1)]
        trail = tuple(c[:MAX_CURSOR] for c in raw_trail.split(",") if c)[-MAX_TRAIL:]
        own = {f"{prefix}{param}", f"{prefix}trail", "done"}  # "done": a one-off notice
        params = tuple((k, str(v)) for k, v in query.items() if k not in own)
        return cls(path, params, prefix, after, trail if after else (), param=param)

    def followed_by(self, next_after: object | None) -> Pager:
        """This page, knowing the cursor of the next one (None: this is the last page)."""
        cursor = None if next_after is None else str(next_after)
        return Pager(
            self.path, self.params, self.prefix, self.after, self.trail, cursor, self.param
        )

    def _url(self, after: str, trail: tuple[str, ...]) -> str:
        own: list[tuple[str, str]] = []
        if after:
            own.append((f"{self.prefix}{self.param}", after))
            if trail:
                own.append((f"{self.prefix}trail", ",".join(trail[-MAX_TRAIL:])))
        query = urlencode([*self.params, *own])
        return f"{self.path}?{query}" if query else self.path

    @property
    def next_url(self) -> str | None:
        if self.next_after is None:
            return None
        trail = (*self.trail, self.after) if self.after else ()
        return self._url(self.next_after, trail)

    @property
    def previous_url(self) -> str | None:
        if not self.after:
            return None
        if not self.trail:
            return self._url("", ())
        return self._url(self.trail[-1], self.trail[:-1])

    @property
    def first_url(self) -> str | None:
        return self._url("", ()) if len(self.trail) >= 1 else None

    @property
    def number(self) -> int:
        """The page's number when the trail is whole (1 for the first page)."""
        return len(self.trail) + 2 if self.after else 1


def uuid_or_none(cursor: str) -> UUID | None:
    """A member or row id cursor; a mangled one starts the list over."""
    try:
        return UUID(cursor) if cursor else None
    except ValueError:
        return None


def int_or_none(cursor: str) -> int | None:
    return int(cursor) if cursor.isascii() and cursor.isdigit() and len(cursor) < 19 else None
