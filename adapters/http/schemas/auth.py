from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from msgspec import Meta

from adapters.http.schemas.common import Input, Output


class TerminalTokenIn(Input, kw_only=True):
    terminal_id: UUID
    secret: Annotated[str, Meta(min_length=1, max_length=200)]


class AccessTokenOut(Output, kw_only=True):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
