"""Decoding a webhook's payload into the shape its type names, with precise errors.

A signed body is still untrusted input: it goes through the same strict decoding as every
request body (adapters/http/strict_json.py), part by part.
"""

from __future__ import annotations

from typing import TypeVar

import msgspec

from adapters.http.problems import ProblemException
from adapters.http.strict_json import ROOT, InvalidField, MalformedBody, decode
from domain.errors import InvalidInput

T = TypeVar("T")


def decode_part(raw: msgspec.Raw | bytes, shape: type[T], prefix: str) -> T:
    """``raw`` decoded as ``shape``; a mismatch is a 422 naming the field (``data.lines[0]``)."""
    try:
        return decode(bytes(raw), shape)
    except InvalidField as error:
        raise InvalidInput(error.message, field=_field(prefix, error.path)) from None
    except MalformedBody as error:
        raise ProblemException(400, error.code, error.detail) from None
    except InvalidInput as error:
        # A time out of range (schemas.common.TimesChecked) names its field, not the path.
        field = ".".join(part for part in (prefix, error.field) if part)
        raise InvalidInput(error.detail, field=field or None) from None


def _field(prefix: str, path: str) -> str:
    if not prefix:
        return path
    if path == ROOT:
        return prefix
    return prefix + path if path.startswith("[") else f"{prefix}.{path}"
