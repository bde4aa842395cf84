"""Reading the console's forms into the domain's values, and back for a form to show.

Every mistake is an ``InvalidInput`` naming the API's field (``limits.budget``,
``effect.value``, ...), so a page marks the field at fault exactly as the API's 422 names it.
Money is typed in whole currency units and converted with ``Decimal`` (never a float); times
are typed in the programme's time zone (``datetime-local``) and stored in UTC.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from domain.errors import InvalidInput

MAX_FIELD = 2000  # characters read of any one field
_SEPARATORS = re.compile("[\\s,;\uff0c\u3001]+")  # the Chinese comma and enumeration comma too


def text(data: dict[str, str], name: str) -> str:
    return str(data.get(name, ""))[:MAX_FIELD].strip()


def words(data: dict[str, str], name: str, field: str) -> frozenset[str]:
    """A list typed with commas or spaces (the Chinese comma too)."""
    parts = [p for p in _SEPARATORS.split(text(data, name)) if p]
    if any(len(p) > 64 for p in parts):
        raise InvalidInput(f"{field} entries are texts of 1-64 characters", field=field)
    return frozenset(parts)


def whole(data: dict[str, str], name: str, field: str) -> int | None:
    """A whole number, or None when left empty."""
    value = text(data, name)
    if not value:
        return None
    if not re.fullmatch(r"-?\d{1,15}", value):
        raise InvalidInput(f"{field} must be a whole number", field=field)
    return int(value)


def numbers(data: dict[str, str], name: str, field: str) -> frozenset[int]:
    parts = [p for p in _SEPARATORS.split(text(data, name)) if p]
    if any(not re.fullmatch(r"\d{1,2}", p) for p in parts):
        raise InvalidInput(f"{field} are whole numbers", field=field)
    return frozenset(int(p) for p in parts)


def decimal(data: dict[str, str], name: str, field: str) -> Decimal | None:
    value = text(data, name)
    if not value:
        return None
    if len(value) > 32:
        raise InvalidInput(f"{field} must be a number", field=field)
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise InvalidInput(f"{field} must be a number", field=field) from None
    if not number.is_finite():
        raise InvalidInput(f"{field} must be a number", field=field)
    return number


def money(data: dict[str, str], name: str, field: str, exponent: int) -> int | None:
    """Whole currency units as typed (``9.90``) to minor units (990), exactly."""
    amount = decimal(data, name, field)
    if amount is None:
        return None
    minor = amount.scaleb(exponent)
    if minor != minor.to_integral_value():
        raise InvalidInput(f"{field} has at most {exponent} decimal places", field=field)
    return int(minor)


def major(minor: int, exponent: int) -> str:
    """Minor units as a form shows them (990 -> 9.90)."""
    return str(Decimal(minor).scaleb(-exponent))


def when(data: dict[str, str], name: str, field: str, zone: str) -> datetime | None:
    """A ``datetime-local`` value in the programme's time zone, as UTC."""
    value = text(data, name)
    if not value:
        return None
    try:
        local = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{field} must be a date and time", field=field) from None
    if local.tzinfo is not None or not 2000 <= local.year <= 2999:
        raise InvalidInput(f"{field} must be a date and time", field=field)
    return local.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)


def local(value: datetime | None, zone: str) -> str:
    """A time as a ``datetime-local`` input shows it, in the programme's time zone."""
    if value is None:
        return ""
    return value.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M")


def checked(data: dict[str, str], name: str) -> bool:
    return text(data, name) in ("on", "true", "1")
