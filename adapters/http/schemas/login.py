from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from adapters.http.schemas.common import Input, Output

Phone = Annotated[str, Meta(min_length=1, max_length=32, description="E.164 or national form")]


class LoginCodeRequestIn(Input, kw_only=True):
    phone: Phone


class LoginCodeVerifyIn(Input, kw_only=True):
    phone: Phone
    # Any string up to a sane length: a wrong format is just a wrong code (uniform 401).
    code: Annotated[str, Meta(min_length=1, max_length=16)]


class RefreshIn(Input, kw_only=True):
    refresh_token: Annotated[str, Meta(min_length=1, max_length=200)]


class SessionOut(Output, kw_only=True):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"
    expires_in: int  # seconds the access token lives
    refresh_expires_in: int


class CardTokenOut(Output, kw_only=True):
    card_token: str
    expires_in: int
