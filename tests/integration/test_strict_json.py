"""The strict JSON decoder every body goes through (adapters/http/strict_json.py)."""

from __future__ import annotations

import enum
import time
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

import msgspec
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from adapters.http.strict_json import (
    MAX_DEPTH,
    UNSTORABLE,
    InvalidField,
    MalformedBody,
    decode,
    screen,
)


class Line(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    sku: str
    quantity: Annotated[int, msgspec.Meta(ge=1)]


class Sale(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    receipt_id: str
    lines: list[Line]
    stackable: bool = False
    occurred_at: datetime | None = None
    rate: Decimal | None = None


GOOD = b'{"receipt_id": "R1", "lines": [{"sku": "A", "quantity": 2}]}'


def refusal(raw: bytes, shape: Any = Sale) -> tuple[str, str]:
    """("malformed", code) or ("field", path) of what ``decode`` refuses."""
    try:
        decode(raw, shape)
    except MalformedBody as error:
        return "malformed", error.code
    except InvalidField as error:
        return "field", error.path
    raise AssertionError(f"accepted {raw[:80]!r}")


def test_a_valid_body_decodes_into_the_declared_type() -> None:
    assert decode(GOOD, Sale) == Sale(receipt_id="R1", lines=[Line(sku="A", quantity=2)])


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        (b'{"receipt_id": "R1", "lines": [{"sku": "A", "quantity": "2"}]}', "lines[0].quantity"),
        (b'{"receipt_id": "R1", "lines": [{"sku": "A", "quantity": 2.0}]}', "lines[0].quantity"),
        (b'{"receipt_id": "R1", "lines": [], "stackable": 0}', "stackable"),
        (b'{"receipt_id": "R1", "lines": [], "stackable": "true"}', "stackable"),
        (b'{"receipt_id": "R1", "lines": [], "occurred_at": 1795000000}', "occurred_at"),
        (b'{"receipt_id": 1, "lines": []}', "receipt_id"),
        (b'{"lines": []}', "receipt_id"),
        (b'{"receipt_id": "R1", "lines": [], "surprise": 1}', "surprise"),
        (b'{"receipt_id": "R1", "lines": [{"quantity": 1}]}', "lines[0].sku"),
        (b"[]", "body"),
        (b"null", "body"),
    ],
)
def test_values_of_the_wrong_type_are_refused_naming_the_field(raw: bytes, path: str) -> None:
    assert refusal(raw) == ("field", path)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"receipt_id": "R1", "receipt_id": "R2", "lines": []}',
        b'{"receipt_id": "R1", "lines": [{"sku": "A", "sku": "B", "quantity": 1}]}',
        b'{"receipt_id": "R1", "\\u0072eceipt_id": "R2", "lines": []}',
        b'{"receipt_id": "a:b", "lines": [], "receipt_id": "c"}',
        b'{"receipt_id": "\\u003a", "lines": [], "lines": []}',
        b'{"receipt_id": "\\\\u003a", "lines": [], "lines": []}',
    ],
)
def test_a_key_named_twice_in_one_object_is_refused(raw: bytes) -> None:
    assert refusal(raw) == ("malformed", "duplicate_key")


@pytest.mark.parametrize(
    "raw",
    [
        b'{"receipt_id": "R1", "lines": [{"sku": "A", "quantity": 1}, {"sku": "A"}]}',
        b'{"receipt_id": "k: \\"v\\": {\\"receipt_id\\": 1}", "lines": []}',
        b'{"receipt_id": "\\u003a\\u003A:", "lines": []}',
        b'{"receipt_id": "\\\\u003a", "lines": []}',
    ],
)
def test_the_same_key_in_sibling_objects_or_colons_in_text_are_no_duplicates(raw: bytes) -> None:
    screen(raw)


def test_nesting_up_to_the_limit_is_parsed_and_one_more_level_is_refused() -> None:
    at_limit = b"[" * MAX_DEPTH + b"]" * MAX_DEPTH
    over = b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1)

    assert decode(at_limit, Any) is not None
    assert refusal(over, Any) == ("malformed", "nesting_too_deep")


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 1_000_000 + b"]" * 1_000_000,
        b"[" * 1_000_000,  # never closed
        b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
        b'[{"a": [' * 40 + b"]}" * 40 + b"]",  # 81 deep, mixing objects and arrays
    ],
)
def test_deep_bodies_are_refused_without_any_recursion(raw: bytes) -> None:
    started = time.perf_counter()

    assert refusal(raw, Any) == ("malformed", "nesting_too_deep")
    assert time.perf_counter() - started < 2  # linear, not a parser's recursion


def test_brackets_inside_text_and_wide_bodies_are_not_nesting() -> None:
    in_text = b'{"receipt_id": "' + b"[{" * 5000 + b'", "lines": []}'
    wide = b'{"receipt_id": "R", "lines": [' + b", ".join([b'{"sku": "A", "quantity": 1}'] * 500)
    wide += b"]}"

    assert decode(in_text, Sale).receipt_id == "[{" * 5000
    assert len(decode(wide, Sale).lines) == 500


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        (b'{"receipt_id": "R\\u0000", "lines": []}', "receipt_id"),
        (
            b'{"receipt_id": "R", "lines": [{"sku": "A", "quantity": 1}, {"sku": "\\u0000"}]}',
            "lines[1].sku",
        ),
        (b'{"receipt_id": "R\\ud800", "lines": []}', "receipt_id"),
        (b'{"receipt_id": "R\\udc00x", "lines": []}', "receipt_id"),
        (b'{"receipt_id": "\\ud800\\ud83d\\ude00", "lines": []}', "receipt_id"),
        (b'{"receipt_id": "\\\\\\ud800", "lines": []}', "receipt_id"),
        (b'{"receipt_id": "R", "lines": [{"sku\\u0000": "A"}]}', "lines[0]"),
        (b'"\\u0000"', "body"),
    ],
)
def test_nul_and_unpaired_surrogates_are_refused_naming_the_field(raw: bytes, path: str) -> None:
    with pytest.raises(InvalidField) as refused:
        decode(raw, Sale)

    assert (refused.value.path, refused.value.message) == (path, UNSTORABLE)


@pytest.mark.parametrize(
    "text",
    [b"\\ud83d\\ude00", b"\\\\u0000", b"\\\\ud800", b"\\u00e9\\u4e2d", "\u00e9\u4e2d".encode()],
)
def test_pairs_other_escapes_and_backslashes_before_u_are_storable_text(text: bytes) -> None:
    decode(b'{"receipt_id": "' + text + b'", "lines": []}', Sale)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"receipt_id": "R1", "lines": [',
        b'{"receipt_id": "R1", "lines": []} trailing',
        b'{"receipt_id": "R\x01", "lines": []}',
        b'{"receipt_id": "R\xff", "lines": []}',
        b'{"receipt_id": "R\xed\xa0\x80", "lines": []}',  # a surrogate written as UTF-8
        b'{"receipt_id": "R", "lines": [], "rate": 1' + b"0" * 5000 + b"}",
        b"",
    ],
)
def test_what_is_not_json_is_malformed(raw: bytes) -> None:
    assert refusal(raw) == ("malformed", "malformed_request")


def test_a_decimal_beyond_float_range_is_a_decimal() -> None:
    assert decode(b'{"receipt_id": "R", "lines": [], "rate": 1e400}', Sale).rate == Decimal("1e400")


# Property: the screen agrees with a plain reading of any document. ---------------------------

# Text with the characters that matter: structure in strings, escapes, NUL, both surrogate
# halves, and beyond ASCII.
CHARS = st.sampled_from([*'ab:"\\[]{},\x00\x1f/\u00e9\u4e2d\U0001f600', chr(0xD800), chr(0xDC00)])
TEXT = st.lists(CHARS, max_size=6).map("".join)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), TEXT)
# A node is a scalar, ("arr", [nodes]) or ("obj", [(key, node)]) with keys possibly repeated.
NODES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.tuples(st.just("arr"), st.lists(inner, max_size=4)),
        st.tuples(st.just("obj"), st.lists(st.tuples(TEXT, inner), max_size=4)),
    ),
    max_leaves=40,
)


def render_text(text: str, escape_all: bool) -> bytes:
    out = []
    for char in text:
        code = ord(char)
        if char in '"\\':
            out.append("\\" + char)
        elif code < 0x20 or 0xD800 <= code <= 0xDFFF or (escape_all and code < 0x10000):
            out.append(f"\\u{code:04x}")
        elif escape_all:  # beyond the BMP: as its surrogate pair
            high, low = divmod(code - 0x10000, 0x400)
            out.append(f"\\u{0xD800 + high:04x}\\u{0xDC00 + low:04x}")
        else:
            out.append(char)
    return b'"' + "".join(out).encode() + b'"'


def render(node: Any, escape_all: bool, colon: bytes = b":") -> bytes:
    if isinstance(node, tuple) and node[0] == "arr":
        return b"[" + b",".join(render(n, escape_all, colon) for n in node[1]) + b"]"
    if isinstance(node, tuple):
        members = (
            render_text(k, escape_all) + colon + render(v, escape_all, colon) for k, v in node[1]
        )
        return b"{" + b",".join(members) + b"}"
    if isinstance(node, str):
        return render_text(node, escape_all)
    return msgspec.json.encode(node)


def expected(node: Any) -> str:
    """What the screen must say about a document: the first of depth, text, duplicates.

    Text is judged on what the document says once read, where the last of two equal keys
    wins (a value given twice and overridden is refused as a duplicate instead).
    """

    def depth(n: Any) -> int:
        if not isinstance(n, tuple):
            return 0
        children = n[1] if n[0] == "arr" else [v for _, v in n[1]]
        return 1 + max((depth(c) for c in children), default=0)

    def decoded(text: str) -> str:
        # A high half written next to a low half is one character once decoded.
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")

    def read(n: Any) -> list[Any]:
        """Every node and key the document says, each object's equal keys kept last."""
        if not isinstance(n, tuple):
            return [n]
        if n[0] == "arr":
            return [n] + [x for c in n[1] for x in read(c)]
        kept = {decoded(k): (k, v) for k, v in n[1]}
        return [n] + [x for k, v in kept.values() for x in [k, *read(v)]]

    def unstorable(text: str) -> bool:
        return "\x00" in text or any(0xD800 <= ord(c) <= 0xDFFF for c in decoded(text))

    if depth(node) > MAX_DEPTH:
        return "nesting_too_deep"
    said = read(node)
    if any(isinstance(x, str) and unstorable(x) for x in said):
        return "unstorable"
    objects = [n[1] for n in said if isinstance(n, tuple) and n[0] == "obj"]
    if any(len({decoded(k) for k, _ in members}) < len(members) for members in objects):
        return "duplicate_key"
    return "accepted"


def outcome(raw: bytes) -> str:
    try:
        screen(raw)
    except MalformedBody as error:
        return error.code
    except InvalidField:
        return "unstorable"
    return "accepted"


@settings(max_examples=400, deadline=None)
@given(node=NODES, escape_all=st.booleans(), spaced=st.booleans())
# Found by this test: two keys that differ only in their unpaired surrogates.
@example(node=("obj", [(chr(0xD800), None), (chr(0xDC00), None)]), escape_all=False, spaced=False)
def test_the_screen_says_what_a_plain_reading_of_the_document_says(
    node: Any, escape_all: bool, spaced: bool
) -> None:
    raw = render(node, escape_all, b" :\n " if spaced else b":")  # some writers space colons

    assert outcome(raw) == expected(node)


@settings(max_examples=50, deadline=None)
@given(node=NODES, levels=st.integers(MAX_DEPTH - 2, MAX_DEPTH + 2))
def test_depth_is_counted_exactly_around_the_limit(node: Any, levels: int) -> None:
    wrapped = node
    for i in range(levels):
        wrapped = ("arr", [wrapped]) if i % 2 else ("obj", [("k", wrapped)])

    assert outcome(render(wrapped, escape_all=False)) == expected(wrapped)


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Swatch(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    colour: Colour | None = None
    finish: Literal["matt", "gloss"] = "matt"


class Palette(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    swatches: list[Swatch]
    by_name: dict[str, Swatch] = {}


@pytest.mark.parametrize(
    ("body", "path", "message"),
    [
        (
            b'{"swatches": [{"finish": "matt"}, {"finish": "satin"}]}',
            "swatches[1].finish",
            "Invalid enum value 'satin'; allowed: gloss, matt",
        ),
        (
            b'{"swatches": [{"colour": "green"}]}',
            "swatches[0].colour",
            "Invalid enum value 'green'; allowed: red, blue",
        ),
        (
            b'{"swatches": [], "by_name": {"a": {"finish": "x"}}}',
            "by_name[...].finish",
            "Invalid enum value 'x'; allowed: gloss, matt",
        ),
    ],
)
def test_an_invalid_enum_value_lists_the_values_allowed_at_its_path(
    body: bytes, path: str, message: str
) -> None:
    with pytest.raises(InvalidField) as refused:
        decode(body, Palette)
    assert (refused.value.path, refused.value.message) == (path, message)
