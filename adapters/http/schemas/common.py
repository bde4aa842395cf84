from __future__ import annotations

from datetime import date, datetime
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

import msgspec
from msgspec import Meta

from app.use_cases.views import Balances, TierView
from domain.money import MAX_AMOUNT
from domain.time_range import (
    EARLIEST_DAY,
    EARLIEST_INSTANT,
    LATEST_DAY,
    LATEST_INSTANT,
    require_day,
    require_instant,
)

MAX_POINTS = 10**12

Money = Annotated[int, Meta(ge=0, le=MAX_AMOUNT, description="minor units of the currency")]
PositiveMoney = Annotated[int, Meta(ge=1, le=MAX_AMOUNT, description="minor units")]
Points = Annotated[int, Meta(ge=0, le=MAX_POINTS)]
SignedPoints = Annotated[int, Meta(ge=-MAX_POINTS, le=MAX_POINTS)]
Code = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")]
Timestamp = Annotated[
    datetime,
    Meta(
        tz=True,
        description=(
            f"RFC 3339 with offset, from {EARLIEST_INSTANT:%Y-%m-%d} and before "
            f"{LATEST_INSTANT:%Y-%m-%d} UTC"
        ),
    ),
]
Day = Annotated[date, Meta(description=f"YYYY-MM-DD, from {EARLIEST_DAY} to {LATEST_DAY}")]


_TIME_FIELDS: dict[type, tuple[tuple[str, str, bool], ...]] = {}


def _time_fields(shape: type[msgspec.Struct]) -> tuple[tuple[str, str, bool], ...]:
    """(attribute, JSON name, is an instant) of every time field of ``shape``; looked up once
    per decoded struct (a sale's 500 lines included), so kept to one dict lookup."""
    found = _TIME_FIELDS.get(shape)
    if found is None:
        found = _TIME_FIELDS[shape] = tuple(
            (field.name, field.encode_name, datetime in kinds)
            for field in msgspec.structs.fields(shape)
            if (kinds := _time_kinds(field.type))
        )
    return found


def _time_kinds(annotation: Any) -> set[type]:
    origin = get_origin(annotation)
    if origin is Annotated:
        return _time_kinds(get_args(annotation)[0])
    if origin in (Union, UnionType):
        return set().union(*(_time_kinds(a) for a in get_args(annotation)))
    if annotation is datetime or annotation is date:
        return {annotation}
    return set()


class TimesChecked(msgspec.Struct):
    """Every time a request carries is checked against the accepted range
    (domain.time_range) as soon as it is decoded: whatever route it came in by, nothing
    outside the range reaches a use case or PostgreSQL. A refusal is a 422 naming the field;
    it propagates through msgspec as it is (only ValueError and TypeError are rewrapped).
    A subclass with a ``__post_init__`` of its own must call this one."""

    def __post_init__(self) -> None:
        for attribute, name, is_instant in _time_fields(type(self)):
            value = getattr(self, attribute)
            if value is None or value is msgspec.UNSET:
                continue
            if is_instant:
                require_instant(value, name)
            else:
                require_day(value, name)


class Input(TimesChecked, forbid_unknown_fields=True, kw_only=True):
    """Request bodies: unknown fields are an error, not silently dropped."""


class Output(msgspec.Struct, kw_only=True):
    pass


class TierOut(Output, kw_only=True):
    code: str
    name: str

    @classmethod
    def of(cls, tier: TierView) -> TierOut:
        return cls(code=tier.code, name=tier.name)


class BalancesOut(Output, kw_only=True):
    available: int
    pending: int

    @classmethod
    def of(cls, balances: Balances) -> BalancesOut:
        return cls(available=balances.available, pending=balances.pending)


class CouponOut(Output, kw_only=True):
    code: str
    title: str
    kind: str
    value: int
    min_spend: int
    expires_at: datetime | None


class Page(Output, kw_only=True):
    next_cursor: str | None
