"""Hostile input, class by class (issue #16): where in a valid request each class can go (a
*slot*: a body field, a query or path parameter), the hypothesis strategies that make its
values, and whether the contract obliges the service to refuse the result.

Every class is judged the same way (tests/e2e/fuzz/judge.py): never a 5xx, every error a
problem with a `code`, only the contract's statuses, and a refusal where one is due. A value
that is due a refusal carries the reason, which is what a finding says when it was accepted.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

from hypothesis import strategies as st

from tests.e2e.fuzz.contract import Operation, kind_of, resolve, without_null
from tests.e2e.fuzz.wire import NO_BODY, Request, encode_json

STRINGS = ("string", "date-time", "date", "uuid")
TIMES = ("date-time", "date")
NUMBERS = ("integer", "number")
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?$")


@dataclass(frozen=True)
class Raw:
    """Bytes no JSON value can express: put in a body as they are (``body``, e.g. invalid
    UTF-8 or 1,000 nested arrays), in a URL as its percent-escapes (``url``)."""

    body: bytes
    url: str
    label: str

    def __repr__(self) -> str:
        return self.label


@dataclass(frozen=True)
class Slot:
    where: str  # "body", "query" or "path"
    path: tuple[str | int, ...]  # into the body; (name,) for a parameter
    kind: str | None  # contract.kind_of: "string", "date-time", "integer", ...
    schema: dict[str, Any]
    present: bool
    value: Any
    typed: bool  # the contract gives its schema (False inside webhook `data`, Stripe events)

    @property
    def label(self) -> str:
        if self.where == "body":
            return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in self.path)
        return f"{self.where} {self.path[0]}"

    @property
    def decimal_text(self) -> bool:
        """A decimal carried as a JSON string (earn_rate "1.25"): msgspec reads a number there
        too, strict or not, so a number for it is not held against the service."""
        if not isinstance(self.value, str):
            return False
        try:
            Decimal(self.value)
        except InvalidOperation:
            return False
        return True


@dataclass(frozen=True)
class Mutation:
    kind: str  # the class
    where: str  # what was changed, for the report: "$.lines[0].quantity", "body", "header X"
    value: str  # the hostile value, shown
    refuse: str | None  # why a 2xx answer would be a defect; None: only 5xx and shape count
    request: Request


# -- slots --------------------------------------------------------------------------------


def _inferred(value: Any, name: str) -> str | None:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        if _ISO.match(value):
            return "date" if len(value) == 10 else "date-time"
        if name.endswith("_at"):
            return "date-time"
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return None


def _walk(
    value: Any, schema: dict[str, Any], path: tuple[str | int, ...], typed: bool
) -> Iterator[Slot]:
    s = without_null(schema) if typed else {}
    name = str(path[-1]) if path else ""
    kind = kind_of(s) if typed and s else _inferred(value, name)
    if typed and kind is None:
        kind = _inferred(value, name)
    if path:
        yield Slot("body", path, kind, s, True, value, typed)
    if isinstance(value, dict):
        properties = {k: resolve(v) for k, v in s.get("properties", {}).items()}
        for key, sub in properties.items():
            if key in value:
                yield from _walk(value[key], sub, (*path, key), typed)
            else:  # an optional field the valid request left out: the fuzzer sets it
                yield Slot(
                    "body", (*path, key), kind_of(sub), without_null(sub), False, None, typed
                )
        for key in value:
            if key not in properties:  # free-form (webhook `data`, Stripe): no schema
                yield from _walk(value[key], {}, (*path, key), False)
    elif isinstance(value, list):
        items = resolve(s.get("items")) if s else {}
        for index, item in enumerate(value[:2]):
            yield from _walk(item, items, (*path, index), typed)


def slots(operation: Operation, request: Request) -> list[Slot]:
    found: list[Slot] = []
    if request.body is not NO_BODY:
        typed = operation.body_schema is not None
        found.extend(_walk(request.body, operation.body_schema or {}, (), typed))
    for parameter in operation.parameters:
        where, name = parameter["in"], parameter["name"]
        if where not in ("query", "path"):
            continue
        values = request.query if where == "query" else request.path_params
        schema = without_null(parameter.get("schema"))
        found.append(
            Slot(where, (name,), kind_of(schema), schema, name in values, values.get(name), True)
        )
    return found


def _set(body: Any, path: tuple[str | int, ...], value: Any) -> Any:
    body = copy.deepcopy(body)
    target = body
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return body


def put(request: Request, slot: Slot, value: Any) -> Request:
    """``request`` with ``value`` at ``slot``; Raw values go in as bytes (body) or escapes."""
    marker = "\u2603raw\u2603"
    if slot.where == "body":
        if not isinstance(value, Raw):
            return request.with_(body=_set(request.body, slot.path, value))
        text = encode_json(_set(request.body, slot.path, marker))
        return request.with_(raw_body=text.replace(encode_json(marker), value.body))
    name = str(slot.path[0])
    if slot.where == "query":
        query = {**request.query, name: marker if isinstance(value, Raw) else _text(value)}
        mutated = request.with_(query=query)
        if isinstance(value, Raw):
            _, rendered = mutated.target()
            return mutated.with_(raw_query=rendered.replace(quote(marker, safe=""), value.url))
        return mutated
    params = {**request.path_params, name: marker if isinstance(value, Raw) else _text(value)}
    mutated = request.with_(path_params=params)
    if isinstance(value, Raw):
        rendered, _ = mutated.target()
        return mutated.with_(raw_path=rendered.replace(quote(marker, safe=""), value.url))
    return mutated


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value)


def show(value: Any) -> str:
    if isinstance(value, Raw):
        return value.label
    text = json.dumps(value, ensure_ascii=True)
    return text if len(text) <= 80 else f"{text[:60]}... ({len(text)} chars)"


# -- values, class by class ----------------------------------------------------------------

Valued = tuple[Any, str | None]  # a hostile value and the reason it must be refused, if any


def _around(text: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """``text`` somewhere inside an ordinary string (start, middle, end)."""
    plain = st.text(alphabet="abcXYZ019 -", max_size=6)
    return st.builds(lambda a, t, b: a + t + b, plain, text, plain)


def nul_values(slot: Slot) -> st.SearchStrategy[Valued]:
    # In a body the JSON escape \u0000 (a raw NUL byte is not JSON); in a URL %00.
    refuse = "NUL in a text field" if slot.typed else None
    return _around(st.sampled_from(["\x00", "\x00\x00", "\x00\n"])).map(lambda v: (v, refuse))


_UNSTORABLE_BYTES = [
    Raw(b'"\xed\xa0\x80"', "%ED%A0%80", "UTF-8-encoded surrogate U+D800"),
    Raw(b'"\xff\xfe"', "%FF%FE", "bytes FF FE (not UTF-8)"),
    Raw(b'"\xc0\x80"', "%C0%80", "overlong NUL C0 80"),
]


def surrogate_values(slot: Slot) -> st.SearchStrategy[Valued]:
    refuse = "an unstorable character (lone surrogate, invalid UTF-8)" if slot.typed else None
    raw = st.sampled_from(_UNSTORABLE_BYTES)
    if slot.where != "body":
        return raw.map(lambda v: (v, refuse))
    # A lone surrogate goes out as the JSON escape \ud800, which JSON's grammar allows.
    lone = _around(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF).map(str))
    return st.one_of(lone, raw).map(lambda v: (v, refuse))


# Instants at the ends of what a datetime can hold, with the widest offsets in use.
_EDGE_YEARS = st.sampled_from([1, 9999])
_OFFSETS = st.sampled_from([0, 14 * 60, -12 * 60, 13 * 60 + 45, -(9 * 60 + 30)])


def _edge_instant(year: int, month: int, day: int, seconds: int, offset: int) -> str:
    zone = UTC if offset == 0 else timezone(timedelta(minutes=offset))
    moment = datetime(year, month, day, tzinfo=zone) + timedelta(seconds=seconds)
    if moment.year != year:  # the last second of the year plus some: keep to that year
        moment = datetime(year, month, day, tzinfo=zone)
    return moment.isoformat()


def time_values(slot: Slot) -> st.SearchStrategy[Valued]:
    date_only = slot.kind == "date"
    typed = slot.typed
    refuse_year1 = "year 1 (stored as -infinity)" if typed else None
    refuse_bad = "not an RFC 3339 time" if typed else None
    if date_only:
        edges = st.builds(
            lambda y, m, d: f"{y:04d}-{m:02d}-{d:02d}",
            _EDGE_YEARS,
            st.integers(1, 12),
            st.integers(1, 28),
        ).map(lambda v: (v, refuse_year1 if v.startswith("0001") else None))
        bad = st.sampled_from(["0000-01-01", "2026-02-30", "10000-01-01", "2026-6-1", "", "today"])
        numbers = st.sampled_from([0, 20260615, -1, 1.5])
    else:
        edges = st.builds(
            _edge_instant,
            _EDGE_YEARS,
            st.integers(1, 12),
            st.integers(1, 28),
            st.integers(0, 86_399),
            _OFFSETS,
        ).map(lambda v: (v, refuse_year1 if v.startswith("0001") else None))
        bad = st.sampled_from(
            [
                "2026-02-30T10:00:00+08:00",
                "2026-06-15T24:30:00Z",
                "2026-06-15T12:00:00+25:00",
                "2026-06-15T12:00:00",  # no offset: the contract says "with offset"
                "0000-12-31T23:59:59Z",
                "10000-01-01T00:00:00Z",
                "1700000000",
                "",
            ]
        )
        numbers = st.one_of(
            st.sampled_from([0, 1_700_000_000, -62_135_596_800, 253_402_300_800, 1.7e9]),
            st.integers(-(2**40), 2**40),
        )
    if slot.where != "body":
        numbers = numbers.map(str)  # a query parameter is text: a bare number there is "123"
    return st.one_of(
        edges,
        bad.map(lambda v: (v, refuse_bad)),
        numbers.map(lambda v: (v, "a number for a time" if typed else None)),
    )


def strings_for_numbers(slot: Slot) -> st.SearchStrategy[Valued]:
    refuse = "a string for a number" if slot.typed and slot.where == "body" else None
    digits = st.integers(0, 10**6).map(str)
    odd = st.sampled_from(["1", "0", "-1", "1e3", " 7", "0x10", "NaN", "Infinity", "", "1_000"])
    return st.one_of(digits, odd).map(lambda v: (v, refuse))


def numbers_for_strings(slot: Slot) -> st.SearchStrategy[Valued]:
    refuse = (
        "a number for a string"
        if slot.typed and slot.where == "body" and not slot.decimal_text
        else None
    )
    numbers = st.one_of(
        st.integers(-(2**31), 2**31),
        st.sampled_from([0, 1, 1.5, -0.0, 2**63, True, False]),
    )
    return numbers.map(lambda v: (v, refuse))


def loose_booleans(slot: Slot) -> st.SearchStrategy[Valued]:
    refuse = "not a JSON boolean" if slot.typed else None
    return st.sampled_from([0, 1, "1", "0", "true", "false", "yes", "", 2]).map(
        lambda v: (v, refuse)
    )


def big_numbers(slot: Slot) -> st.SearchStrategy[Valued]:
    maximum = slot.schema.get("maximum")
    minimum = slot.schema.get("minimum")

    def judged(value: int | float) -> Valued:
        if not slot.typed or slot.where != "body":
            return value, None
        if isinstance(value, float) and slot.kind == "integer":
            return value, "a fraction for an integer"
        if maximum is not None and value > maximum:
            return value, f"above the published maximum {maximum}"
        if minimum is not None and value < minimum:
            return value, f"below the published minimum {minimum}"
        return value, None

    edges = st.sampled_from(
        [2**31, 2**63 - 1, 2**63, 2**64, -(2**63) - 1, 10**30, -(10**30), 1e308, 0.5]
    )
    wide = st.integers(-(2**70), 2**70)
    values = st.one_of(edges, wide)
    if slot.where != "body":
        return values.map(lambda v: (str(v), None))
    return values.map(judged)


def long_strings(slot: Slot) -> st.SearchStrategy[Valued]:
    limit = slot.schema.get("maxLength")

    def judged(text: str) -> Valued:
        if slot.typed and limit is not None and len(text) > limit:
            return text, f"longer than the published maxLength {limit}"
        return text, None

    sizes = [65, 256, 300, 5_000, 70_000]
    if slot.where != "body":
        # A URL of 70,000 emoji is 840 KB percent-encoded: the client refuses to send it
        # (httpx caps URLs at 64 KiB), so parameters stay within what a URL can carry.
        sizes = [65, 256, 300, 1_000]
    if limit is not None:
        sizes.append(int(limit) + 1)
    return st.builds(
        lambda size, char: char * size, st.sampled_from(sizes), st.sampled_from(["x", "é", "😀"])
    ).map(judged)


def _nested(depth: int, opener: str) -> Raw:
    text = "[" * depth + "]" * depth if opener == "[" else '{"a":' * depth + "0" + "}" * depth
    return Raw(text.encode(), quote(text, safe=""), f"{depth}-deep {opener}")


def deep_values(slot: Slot) -> st.SearchStrategy[Valued]:
    refuse = "a deeply nested value for a scalar" if slot.typed else None
    return st.builds(_nested, st.sampled_from([1_000, 3_000]), st.sampled_from(["[", "{"])).map(
        lambda v: (v, refuse)
    )


@dataclass(frozen=True)
class SlotClass:
    name: str
    item: str  # the item it belongs to
    kinds: tuple[str | None, ...]  # the slot kinds it goes into
    wheres: tuple[str, ...]
    values: Callable[[Slot], st.SearchStrategy[Valued]]


SLOT_CLASSES = {
    c.name: c
    for c in [
        SlotClass("nul", "3", STRINGS, ("body", "query", "path"), nul_values),
        SlotClass("surrogate", "3/7", STRINGS, ("body", "query", "path"), surrogate_values),
        SlotClass("time", "1", TIMES, ("body", "query"), time_values),
        SlotClass("strings_for_numbers", "8", NUMBERS, ("body", "query"), strings_for_numbers),
        SlotClass("numbers_for_strings", "8", STRINGS, ("body",), numbers_for_strings),
        SlotClass("loose_booleans", "8", ("boolean",), ("body",), loose_booleans),
        SlotClass("big_numbers", "7", NUMBERS, ("body", "query", "path"), big_numbers),
        SlotClass("long_strings", "7", STRINGS, ("body", "query", "path"), long_strings),
        SlotClass("deep_nesting", "2", (*STRINGS, *NUMBERS, "boolean"), ("body",), deep_values),
    ]
}


def slots_for(name: str, operation: Operation, request: Request) -> list[Slot]:
    c = SLOT_CLASSES[name]
    return [s for s in slots(operation, request) if s.kind in c.kinds and s.where in c.wheres]


# -- whole-request classes -----------------------------------------------------------------

MALFORMED_BODIES = [b"[]", b"null", b'"x"', b"1", b"true", b"", b"{", b'{"a":1', b"\xff\xfe"]


def deep_bodies() -> st.SearchStrategy[bytes]:
    return st.builds(
        lambda depth, opener: _nested(depth, opener).body,
        st.sampled_from([1_000, 5_000, 100_000]),
        st.sampled_from(["[", "{"]),
    )


def _json_member(key: str, value: Any) -> bytes:
    return encode_json(key) + b":" + encode_json(value)


def with_duplicate(body: dict[str, Any], key: str, other: Any, first: bool) -> bytes:
    """``body`` as JSON text in which ``key`` appears twice: ``other`` before (or after) the
    valid value. A lenient parser keeps one of them silently; the contract has one value."""
    members = [_json_member(k, v) for k, v in body.items()]
    extra = _json_member(key, other)
    members = [extra, *members] if first else [*members, extra]
    return b"{" + b",".join(members) + b"}"


def duplicate_targets(body: Any, typed: bool) -> list[tuple[tuple[str | int, ...], str]]:
    """(path to an object, one of its keys) for every object of the body the contract types."""
    found: list[tuple[tuple[str | int, ...], str]] = []

    def walk(value: Any, path: tuple[str | int, ...]) -> None:
        if isinstance(value, dict):
            found.extend((path, k) for k in value)
            for k, v in value.items():
                if k != "data" or path:  # webhook `data` is free-form: not the contract's
                    walk(v, (*path, k))
        elif isinstance(value, list):
            for i, v in enumerate(value[:2]):
                walk(v, (*path, i))

    if typed:
        walk(body, ())
    return found


def duplicate_body(
    body: Any, path: tuple[str | int, ...], key: str, other: Any, first: bool
) -> bytes:
    marker = "\u2603dup\u2603"
    target = body
    for step in path:
        target = target[step]
    inner = with_duplicate(target, key, other, first)
    if not path:
        return inner
    return encode_json(_set(body, path, marker)).replace(encode_json(marker), inner)


WRONG_MEDIA_TYPES = [
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=fuzz",
    "application/xml",
    "text/json",
    "",
]
NON_ASCII_HEADER_VALUES = [
    b"\xff\xfe",
    "caf\xe9".encode("latin-1"),
    b"\xc3\xa9t\xc3\xa9",
    b"a\x80b",
]
