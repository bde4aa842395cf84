"""The console's languages: English and Simplified Chinese, from Babel's catalogues.

Every text of the console goes through ``_()`` (in templates and in Python) and is looked up
in locales/<locale>/LC_MESSAGES/messages.po, read once at start-up (no compiled .mo to go
stale). English is the source language. The language is the `console_lang` cookie when set
(the switch in the page's header), otherwise the best match of the browser's
Accept-Language. Money and dates are formatted by Babel for the locale, in the programme's
currency and time zone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.messages.pofile import read_po
from babel.numbers import (
    format_currency,
    format_decimal,
    format_percent,
    get_currency_precision,
)

LOCALES_DIR = Path(__file__).parent / "locales"
DEFAULT_LOCALE = "en"
LOCALES = ("en", "zh_Hans")
LANGUAGE_NAMES = {"en": "English", "zh_Hans": "简体中文"}
LANG_COOKIE = "console_lang"


@cache
def _catalogue(locale: str) -> dict[str, str]:
    path = LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po"
    if not path.exists():
        return {}
    with path.open("rb") as po:
        catalogue = read_po(po, locale=locale)
    return {
        str(message.id): str(message.string)
        for message in catalogue
        if message.id and message.string and not message.fuzzy
    }


def chosen_locale(cookie: str | None, accept_language: str | None) -> str:
    if cookie in LOCALES:
        return str(cookie)
    for tag in _preferred(accept_language or ""):
        lowered = tag.lower()
        if lowered.startswith("zh"):
            return "zh_Hans"  # the one Chinese the console has
        if lowered.startswith("en"):
            return "en"
    return DEFAULT_LOCALE


def _preferred(header: str) -> list[str]:
    weighted: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and quality > 0:
            weighted.append((-quality, index, tag.strip()))
    return [tag for _, _, tag in sorted(weighted)]


@dataclass(frozen=True)
class Formats:
    """What a page renders with: translations and Babel's formats for one locale, in the
    programme's currency and time zone."""

    locale: str
    currency: str = "CNY"
    time_zone: str = "UTC"

    @property
    def babel_locale(self) -> Locale:
        return Locale.parse(self.locale)

    @property
    def html_lang(self) -> str:
        return "zh-Hans" if self.locale == "zh_Hans" else "en"

    def gettext(self, message: str) -> str:
        if self.locale == DEFAULT_LOCALE:
            return message
        return _catalogue(self.locale).get(message, message)

    def money(self, minor_units: int) -> str:
        """An amount in the currency's minor units, exactly (Decimal, never a float)."""
        places = get_currency_precision(self.currency)
        amount = Decimal(minor_units).scaleb(-places)
        return format_currency(amount, self.currency, locale=self.babel_locale)

    def number(self, value: int | Decimal) -> str:
        return format_decimal(value, locale=self.babel_locale)

    def percent(self, fraction: Decimal) -> str:
        """A share (0.125 is 12.5 %), to one decimal place, in the locale's style."""
        return format_percent(fraction, format="#,##0.0%", locale=self.babel_locale)

    def datetime(self, value: datetime | None) -> str:
        if value is None:
            return "-"
        return format_datetime(
            value, format="medium", tzinfo=ZoneInfo(self.time_zone), locale=self.babel_locale
        )

    def date(self, value: date | None) -> str:
        if value is None:
            return "-"
        return format_date(value, format="medium", locale=self.babel_locale)

    def template_globals(self) -> dict[str, Callable[..., str] | str | Formats]:
        return {"_": self.gettext, "fmt": self, "lang": self.html_lang}


def N_(message: str) -> str:
    """Marks a text for the catalogues that is translated later, by name (pybabel -k N_)."""
    return message


# Texts the templates translate from a value: roles, statuses, error pages.
TRANSLATED_BY_VALUE = (
    N_("owner"),
    N_("marketing"),
    N_("service"),
    N_("analyst"),
    N_("invited"),
    N_("active"),
    N_("disabled"),
    N_("Not allowed"),
    N_("Your role does not allow this."),
    N_("Request refused"),
    N_("The form was stale or did not come from this console. Reload the page and try again."),
    N_("Log in again"),
    N_("Your session has ended. Log in again."),
)
