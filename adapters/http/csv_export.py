"""CSV downloads of the back office's lists, streamed as the rows come.

The columns are the fields of the list's JSON item schema, in order (a nested object's fields
as ``outer.inner``), so a CSV says exactly what the JSON list says. The text is UTF-8 with a
byte-order mark, which spreadsheet programs need to read Chinese names as such; rows end in
CRLF (RFC 4180). Nothing is built in memory: rows are written out in chunks of about
``CHUNK_BYTES`` as the source yields them, from a server-side cursor or page by page.

Formula injection: a spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@``
(or a tab or carriage return before one) as a formula, and a member's name or feedback text
is theirs to choose. Such a text cell is written with a leading apostrophe, which spreadsheets
show as text (OWASP's advice); a cell that is only a number (``-5``, ``+1.5``) is not a
formula and is left as it is.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterable, AsyncIterator, Callable
from types import UnionType
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

import msgspec
from litestar.response import Stream

T = TypeVar("T")

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
BOM = "\ufeff"
CHUNK_BYTES = 64 * 1024
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")

CSV_ANSWER = "the list as CSV, UTF-8 with a byte-order mark, streamed"
CSV_DESCRIPTION = (
    " The CSV (UTF-8 with a byte-order mark, RFC 4180) has one column per field of the JSON "
    "item, nested fields as `outer.inner`; it is streamed, so any number of rows can be "
    "downloaded. A text cell starting with = + - or @ is written with a leading apostrophe "
    "(no spreadsheet formula)."
)


def columns(shape: type[msgspec.Struct], prefix: str = "") -> list[str]:
    names: list[str] = []
    for field in msgspec.structs.fields(shape):
        nested = _struct_of(field.type)
        name = prefix + field.encode_name
        if nested is None:
            names.append(name)
        else:
            names.extend(columns(nested, name + "."))
    return names


def _struct_of(annotation: Any) -> type[msgspec.Struct] | None:
    origin = get_origin(annotation)
    if origin is Annotated:
        return _struct_of(get_args(annotation)[0])
    if origin in (Union, UnionType):
        found = [s for a in get_args(annotation) if (s := _struct_of(a)) is not None]
        return found[0] if found else None
    if isinstance(annotation, type) and issubclass(annotation, msgspec.Struct):
        return annotation
    return None


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dict | list):
        value = msgspec.json.encode(value).decode()
    text = str(value)
    if text.startswith(_FORMULA_START) and not _NUMBER.match(text):
        return "'" + text
    return text


def _row(item: msgspec.Struct, names: list[str]) -> list[str]:
    plain = msgspec.to_builtins(item)
    row = []
    for name in names:
        value: Any = plain
        for part in name.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        row.append(cell(value))
    return row


async def _chunks(
    shape: type[msgspec.Struct], items: AsyncIterable[msgspec.Struct]
) -> AsyncIterator[bytes]:
    names = columns(shape)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow(names)
    async for item in items:
        writer.writerow(_row(item, names))
        if buffer.tell() >= CHUNK_BYTES:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def csv_download(
    shape: type[msgspec.Struct], items: AsyncIterable[msgspec.Struct], filename: str
) -> Stream:
    """The streamed answer: ``items`` (of ``shape``) as the CSV file ``filename``."""
    return Stream(
        _chunks(shape, items),
        media_type=CSV_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


async def mapped(source: AsyncIterable[T], to: Callable[[T], msgspec.Struct]) -> AsyncIterator[Any]:
    async for item in source:
        yield to(item)


async def paged(
    first: list[Any],
    after: Any,
    next_page: Callable[[Any], Any],
) -> AsyncIterator[Any]:
    """Items page by page: ``first`` (already read, so that a refusal is still a problem
    answer), then ``await next_page(after)`` -> (items, after) until ``after`` is None."""
    for item in first:
        yield item
    while after is not None:
        items, after = await next_page(after)
        for item in items:
            yield item
