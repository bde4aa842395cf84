"""Optimistic concurrency for versioned settings: ETag out, If-Match (or the body's version) in.

A settings document's ETag is its version number, quoted (``"7"``). A change may name the
version it was based on in ``If-Match`` (RFC 9110), in the body's ``version``, or both; a
change based on another version than the current one is refused with 409 and the resource's
own code (``program_changed``, ``tier_policy_changed``). Without either the change applies to
whatever version is current (last write wins), as before.
"""

from __future__ import annotations

import re
from typing import Annotated

from litestar.datastructures import ResponseHeader
from litestar.params import HeaderParameter

from domain.errors import InvalidInput

IF_MATCH = "If-Match"
_ETAG = re.compile(r'^(?:W/)?"(?P<version>[1-9][0-9]{0,17})"$')

IfMatch = Annotated[
    str | None,
    HeaderParameter(
        name=IF_MATCH,
        max_length=64,
        required=False,
        description=(
            'the ETag of the version this change is based on (`"7"`), as a GET gave it; '
            "409 if another change was saved since. `*` or no header: no check"
        ),
    ),
]

ETAG_HEADER = ResponseHeader(
    name="ETag",
    documentation_only=True,
    description='the version of these settings, quoted (`"7"`): send it back in If-Match',
)


def etag(version: int) -> str:
    return f'"{version}"'


def expected_version(if_match: str | None, body_version: int | None) -> int | None:
    """The version a change is based on, from If-Match and the body; None: not said."""
    from_header = _parse(if_match)
    if from_header is not None and body_version is not None and from_header != body_version:
        raise InvalidInput(
            f"If-Match names version {from_header} and the body version {body_version}",
            field="version",
        )
    return from_header if from_header is not None else body_version


def _parse(if_match: str | None) -> int | None:
    if if_match is None or if_match.strip() == "*":
        return None
    found = _ETAG.match(if_match.strip())
    if found is None:
        raise InvalidInput(
            'If-Match must be an ETag this API gave out (such as "7") or *', field=IF_MATCH
        )
    return int(found.group("version"))
