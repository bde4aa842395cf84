"""JSON bodies decoded as strictly as the published schema says, from the raw bytes.

Every JSON body the service accepts (request bodies, and webhook payloads once their
signature is checked) goes through ``decode``:

1. ``screen`` refuses, before any recursive parser sees the body, arrays and objects nested
   deeper than ``MAX_DEPTH`` (a 1,000-deep array is a RecursionError inside msgspec); then
   any string, key or value at any depth, holding a character PostgreSQL cannot store in
   text: NUL, or a UTF-16 surrogate without its pair (it has no UTF-8 form); then an object
   that names a key twice (decoders silently keep the last value). JSON can carry NUL or a
   lone surrogate only as a ``\\u`` escape: raw control bytes and invalid UTF-8 are not JSON,
   and msgspec refuses them.
2. msgspec decodes the bytes into the declared type in strict mode: no "1" for an integer,
   no number for a time, no 0 or "1" for a boolean.

Failures are ``MalformedBody`` (400: not JSON, or JSON the service will not parse) or
``InvalidField`` (422: a value that does not fit, with the path of the field, such as
``lines[0].quantity``). Everything runs in time linear in the body, mostly inside msgspec
and ``re``. This module knows nothing of HTTP frameworks: callers turn both into problems.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, Final, TypeVar

import msgspec
import msgspec.inspect

T = TypeVar("T")

MAX_DEPTH: Final = 64
ROOT: Final = "body"  # the name of the whole body in a field path
UNSTORABLE: Final = "holds a character that cannot be stored (NUL or an unpaired surrogate)"


class MalformedBody(Exception):
    """Not JSON, or JSON refused before decoding: a 400 with its own code."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


class InvalidField(Exception):
    """A value that does not fit the schema, at ``path``."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


def decode(raw: bytes, shape: type[T]) -> T:
    """``raw`` as ``shape``, strictly; MalformedBody or InvalidField when it is not one."""
    screen(raw)
    try:
        decoded: T = _decoder(shape).decode(raw)
    except msgspec.ValidationError as error:
        invalid = _invalid_field(str(error))
        allowed = allowed_values(shape, invalid.path) if ENUM_REFUSAL in invalid.message else None
        if allowed:
            invalid = InvalidField(invalid.path, with_allowed(invalid.message, allowed))
        raise invalid from None
    except msgspec.DecodeError as error:
        raise MalformedBody("malformed_request", f"the body is not JSON: {error}") from None
    return decoded


ENUM_REFUSAL: Final = "Invalid enum value"


def with_allowed(message: str, allowed: Sequence[object]) -> str:
    """msgspec's "Invalid enum value 'x'" with the values that would have done."""
    return f"{message}; allowed: {', '.join(str(v) for v in allowed)}"


def allowed_values(shape: Any, path: str) -> list[object] | None:
    """The values an enum (a Literal or an Enum) at ``path`` in ``shape`` allows; None when
    the path does not lead to one."""
    info: msgspec.inspect.Type | None = msgspec.inspect.type_info(shape)
    for step in _STEPS.findall(path if path != ROOT else ""):
        info = _child(info, step)
        if info is None:
            return None
    return _enum_values(info)


# A field name, or an index: `[3]` in an array, `[...]` for a mapping's value.
_STEPS = re.compile(r"[^.\[\]]+|\[[^\]]*\]")


def _child(info: msgspec.inspect.Type | None, step: str) -> msgspec.inspect.Type | None:
    if isinstance(info, msgspec.inspect.UnionType):
        found = [_child(t, step) for t in info.types]
        found = [t for t in found if t is not None]
        return found[0] if len(found) == 1 else None
    if step.startswith("["):
        if isinstance(
            info,
            msgspec.inspect.ListType
            | msgspec.inspect.SetType
            | msgspec.inspect.FrozenSetType
            | msgspec.inspect.VarTupleType,
        ):
            return info.item_type
        if isinstance(info, msgspec.inspect.DictType):
            return info.value_type
        return None
    if isinstance(info, msgspec.inspect.StructType | msgspec.inspect.TypedDictType):
        return next((f.type for f in info.fields if f.encode_name == step), None)
    return None


def _enum_values(info: msgspec.inspect.Type | None) -> list[object] | None:
    if isinstance(info, msgspec.inspect.LiteralType):
        return list(info.values)
    if isinstance(info, msgspec.inspect.EnumType):
        return [member.value for member in info.cls]
    if isinstance(info, msgspec.inspect.UnionType):
        values = [v for t in info.types for v in (_enum_values(t) or ())]
        return values or None
    return None


def screen(raw: bytes) -> None:
    """Refuses deep nesting, then unstorable text, then duplicate keys.

    Duplicate keys are found by counting colons. Every key is followed by one colon and
    every other colon sits inside a string, which decoding keeps as it is (an escaped colon,
    ``\\u003a``, becomes one: those are counted with the raw ones). So a body holds a
    duplicate key exactly when it has more colons than its decoded value written back out,
    where each object keeps each key once.
    """
    if raw.count(b"[") + raw.count(b"{") > MAX_DEPTH and _depth(raw) > MAX_DEPTH:
        raise MalformedBody(
            "nesting_too_deep", f"the body nests arrays and objects more than {MAX_DEPTH} deep"
        )
    escapes = b"\\u" in raw
    surrogates = escapes and (b"\\ud" in raw or b"\\uD" in raw)
    text = _LONE_SURROGATE.sub(rb"\1\\u0000", raw) if surrogates else raw
    try:
        value = _UNTYPED.decode(text)
    except msgspec.ValidationError as error:  # an integer of thousands of digits
        raise MalformedBody("malformed_request", f"a number is out of range: {error}") from None
    except msgspec.DecodeError:
        return  # not JSON: the typed decode says where
    written = msgspec.json.encode(value)
    # msgspec writes NUL as \u0000 (and a backslash before "u0000" as \\u0000). Checked before
    # duplicates: two keys that differ only in their unpaired surrogates are equal as NUL.
    if escapes and b"\\u0000" in written:
        path = _first_unstorable(value)
        if path is not None:
            raise InvalidField(path, UNSTORABLE)
    colons = raw.count(b":") + (_colon_escapes(raw) if escapes else 0)
    if colons != written.count(b":"):
        raise MalformedBody("duplicate_key", "an object in the body names the same key twice")


# Fractions as Decimal: as floats, one out of range (1e400) would stop the screening here,
# while a Decimal field takes it.
_UNTYPED: Final = msgspec.json.Decoder(float_hook=Decimal)

# A \u escape is one when an odd number of backslashes leads to it (``\\u0000`` is a
# backslash and the text "u0000"). Backslashes only occur inside strings in JSON.
_REAL = rb"(?<!\\)((?:\\\\)*+)"
_HIGH = rb"\\u[dD][89abAB][0-9a-fA-F]{2}"
_LOW = rb"\\u[dD][c-fC-F][0-9a-fA-F]{2}"
_COLON_ESCAPE = re.compile(rb"(\\+)u003[aA]")


def _colon_escapes(raw: bytes) -> int:
    if b"\\u003a" not in raw and b"\\u003A" not in raw:
        return 0
    return sum(len(run) % 2 for run in _COLON_ESCAPE.findall(raw))


# A high half not followed by a low one, or a low half not preceded by a high one. (A low
# half after an escaped backslash and the text "ud800" is taken for a pair and left to
# msgspec, which refuses it as malformed: a 400 rather than a 422 naming the field.)
_LONE_SURROGATE = re.compile(
    _REAL + rb"(?:" + _HIGH + rb"(?!" + _LOW + rb")|(?<!" + _HIGH + rb")" + _LOW + rb")"
)


def _first_unstorable(value: Any) -> str | None:
    """The path of the first string, in document order, that holds NUL; iterative."""
    todo: list[tuple[Any, str]] = [(value, "")]
    while todo:
        item, path = todo.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return path or ROOT
        elif isinstance(item, dict):
            children: list[tuple[Any, str]] = []
            for key, child in item.items():
                if "\x00" in key:
                    return path or ROOT  # the object whose key it is
                children.append((child, f"{path}.{key}" if path else key))
            todo.extend(reversed(children))
        elif isinstance(item, list):
            todo.extend(reversed([(child, f"{path}[{i}]") for i, child in enumerate(item)]))
    return None


# Nesting depth. Escapes are cut out first (a \" does not end a string), then everything
# but quotes and brackets; with no escape left every quote opens or closes a string, so
# adjacent quotes (an empty string, or two strings with nothing between) go, and what strings
# remain (holding brackets) after them: a "[" in a text is not an array. The brackets, kept as
# one kind, "[" and "]", then lose every adjacent "[]" per pass, exactly one level each; after
# a few passes the short remainder of runs ("[[[", "]]]") is added up. The result is the
# depth for JSON, and an upper bound for any other text. All of it is linear, mostly in C.
_ESCAPE = re.compile(rb"\\.", re.DOTALL)
_QUOTED = re.compile(rb'"[^"]*"?')
_NOT_STRUCTURE = bytes(c for c in range(256) if c not in b'[]{}"')
_ONE_KIND = bytes.maketrans(b"{}", b"[]")
_RUNS = re.compile(rb"\[+|\]+")
_LEAF_PASSES = 4


def _depth(raw: bytes) -> int:
    text = _ESCAPE.sub(b"", raw) if b"\\" in raw else raw
    structure = text.translate(None, _NOT_STRUCTURE).replace(b'""', b"")
    if b'"' in structure:
        structure = _QUOTED.sub(b"", structure)
    brackets = structure.translate(_ONE_KIND)
    removed = 0
    for _ in range(_LEAF_PASSES):
        shorter = brackets.replace(b"[]", b"")
        if len(shorter) == len(brackets):
            break
        brackets, removed = shorter, removed + 1
    level = deepest = 0
    for run in _RUNS.findall(brackets):
        if run[0] == ord("["):
            level += len(run)
            deepest = max(deepest, level)
        else:
            level -= len(run)
    return removed + deepest


_DECODERS: dict[Any, msgspec.json.Decoder[Any]] = {}


def _decoder(shape: Any) -> msgspec.json.Decoder[Any]:
    decoder = _DECODERS.get(shape)
    if decoder is None:
        decoder = _DECODERS[shape] = msgspec.json.Decoder(shape, strict=True)
    return decoder


_AT = re.compile(r" - at `\$(?P<path>[^`]*)`$")
_NAMED = re.compile(r"(?:missing required|unknown) field `(?P<name>[^`]+)`")


def _invalid_field(message: str) -> InvalidField:
    at = _AT.search(message)
    path = at.group("path").lstrip(".") if at else ""
    message = _AT.sub("", message)
    # "Object missing required field `x`" is about x itself: name it.
    named = _NAMED.search(message)
    if named:
        path = f"{path}.{named.group('name')}" if path else named.group("name")
    return InvalidField(path or ROOT, message)
