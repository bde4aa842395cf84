"""Decoding a webhook's payload into the shape its type names, with precise errors."""

from __future__ import annotations

import re
from typing import TypeVar

import msgspec

from domain.errors import InvalidInput

T = TypeVar("T")
_PATH = re.compile(r" - at `\$(?P<path>[^`]*)`$")


def decode_part(raw: msgspec.Raw | bytes, shape: type[T], prefix: str) -> T:
    """``raw`` decoded as ``shape``; a mismatch is a 422 naming the field (``data.lines[0]``)."""
    try:
        return msgspec.json.decode(raw, type=shape)
    except msgspec.ValidationError as error:
        message = str(error)
        match = _PATH.search(message)
        path = prefix + (match.group("path") if match else "")
        raise InvalidInput(_PATH.sub("", message), field=path) from None
    except InvalidInput as error:
        # A time out of range (schemas.common.TimesChecked) names its field, not the path.
        field = ".".join(part for part in (prefix, error.field) if part)
        raise InvalidInput(error.detail, field=field or None) from None
    except msgspec.DecodeError:
        raise InvalidInput("the body is not valid JSON", field=prefix) from None
