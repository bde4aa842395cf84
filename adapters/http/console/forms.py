"""Reading the console's forms for the pages of coupon templates, draws, stores, webhooks and
message templates: each value read is checked for its kind, and a fault names the form field
(``FieldError``), which the page shows by its translated label. What a value means (limits,
windows) stays the domain's to check; its ``InvalidInput.field`` is shown the same way."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from adapters.http.console.i18n import N_
from domain.errors import DomainError, InvalidInput


class FieldError(Exception):
    """A form field whose text is not a value of its kind."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


# The label (a msgid) of each field a domain error or a form fault may name.
LABELS = {
    "kind": N_("Kind"),
    "value": N_("Value"),
    "min_spend": N_("Minimum spend"),
    "valid_days": N_("Valid for days after issue"),
    "valid_from": N_("Valid from"),
    "valid_until": N_("Valid until"),
    "per_member_limit": N_("Limit per member"),
    "total_limit": N_("Total limit"),
    "channels": N_("Channels"),
    "categories": N_("Categories"),
    "threshold": N_("Spend that earns a chance"),
    "chances": N_("Chances per purchase"),
    "chance_valid_days": N_("Days a chance can be played"),
    "starts_at": N_("Starts"),
    "ends_at": N_("Ends"),
    "prizes": N_("Prizes"),
    "prizes.code": N_("Prize code"),
    "prizes.name": N_("Prize name"),
    "prizes.weight": N_("Weight"),
    "prizes.stock": N_("Stock"),
    "prizes.template_id": N_("Prize coupon template"),
    "code": N_("Code"),
    "store_id": N_("Store"),
    "url": N_("Address (URL)"),
    "event_types": N_("Events"),
    "description": N_("Description"),
    "overlap_hours": N_("Hours the old secret still signs"),
    "subject": N_("E-mail subject"),
    "body": N_("Body"),
}


def label_of(field: str | None, name: str = N_("Name")) -> str:
    """The msgid naming ``field`` (a domain error's ``prizes[2].weight`` as ``prizes.weight``);
    ``name`` is what the page calls its ``name`` field."""
    if not field:
        return N_("a value")
    plain = field.split("[")[0] + ("." + field.split(".")[-1] if "]." in field else "")
    if plain == "name":
        return name
    return LABELS.get(plain, LABELS.get(field, N_("a value")))


def fault_of(error: Exception, name: str = N_("Name")) -> str:
    """The label of the field a refusal names, or a generic one."""
    if isinstance(error, FieldError | InvalidInput):
        return label_of(error.field, name)
    if isinstance(error, DomainError):
        return label_of(getattr(error, "field", None), name)
    return N_("a value")


def text(data: dict[str, str], name: str, limit: int = 1000) -> str:
    """The field's text, trimmed; NUL is refused here (PostgreSQL cannot store it)."""
    value = str(data.get(name, ""))
    if "\x00" in value:
        raise FieldError(name)
    return value.strip()[:limit]


def shown(data: dict[str, str], name: str, limit: int = 1000) -> str:
    """The field's text as typed, to show the form again (without NUL)."""
    return str(data.get(name, "")).replace("\x00", "").strip()[:limit]


def integer(data: dict[str, str], name: str) -> int:
    try:
        return int(text(data, name, 20))
    except ValueError:
        raise FieldError(name) from None


def optional_integer(data: dict[str, str], name: str) -> int | None:
    return integer(data, name) if text(data, name, 20) else None


def minor_units(data: dict[str, str], name: str, exponent: int) -> int:
    """An amount typed in the currency's major units (``10.50``), exactly in minor units."""
    try:
        amount = Decimal(text(data, name, 30) or "0")
    except InvalidOperation:
        raise FieldError(name) from None
    if not amount.is_finite():
        raise FieldError(name)
    minor = amount.scaleb(exponent)
    if minor != minor.to_integral_value() or abs(minor) > 10**15:
        raise FieldError(name)
    return int(minor)


def local_time(data: dict[str, str], name: str, zone: str) -> datetime:
    """A ``datetime-local`` field, read in the programme's time zone."""
    try:
        naive = datetime.fromisoformat(text(data, name, 30))
    except ValueError:
        raise FieldError(name) from None
    if naive.tzinfo is not None or not 2000 <= naive.year <= 2999:
        raise FieldError(name)
    return naive.replace(tzinfo=ZoneInfo(zone))


def optional_local_time(data: dict[str, str], name: str, zone: str) -> datetime | None:
    return local_time(data, name, zone) if text(data, name, 30) else None


def local_input(value: datetime | None, zone: str) -> str:
    """A time as a ``datetime-local`` field shows it, in the programme's time zone."""
    if value is None:
        return ""
    return value.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M")


# Values the new pages translate by name: sales channels, webhook delivery states.
TRANSLATED_BY_VALUE = (
    N_("pos"),
    N_("web"),
)

# A webhook delivery's state, by value (the catalogue's "pending" is a follow-up call's).
DELIVERY_STATES = {
    "pending": N_("waiting to be sent"),
    "delivered": N_("delivered"),
    "dead": N_("given up"),
}
