"""Money is an integer number of minor units in the programme's ISO 4217 currency.

Amounts never pass through floats; rates are Decimals and every conversion floors, the one
documented rounding rule of the programme.
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal

from domain.errors import InvalidInput

# ISO 4217 active codes (2024 list, funds codes included) with the minor-unit exponent where it
# is not 2. Kept here as data: the core must not depend on a locale library for it.
# fmt: off
_ISO_4217 = (
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BOV", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD",
    "CAD", "CDF", "CHE", "CHF", "CHW", "CLF", "CLP", "CNY", "COP", "COU", "CRC", "CUP", "CVE",
    "CZK", "DJF", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL",
    "GHS", "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR",
    "IQD", "IRR", "ISK", "JMD", "JOD", "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD",
    "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK",
    "MNT", "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MXV", "MYR", "MZN", "NAD", "NGN", "NIO",
    "NOK", "NPR", "NZD", "OMR", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON",
    "RSD", "RUB", "RWF", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD",
    "SSP", "STN", "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD",
    "TZS", "UAH", "UGX", "USD", "USN", "UYI", "UYU", "UYW", "UZS", "VED", "VES", "VND", "VUV",
    "WST", "XAF", "XCD", "XOF", "XPF", "YER", "ZAR", "ZMW", "ZWG",
)
_ZERO_DECIMALS = (
    "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND",
    "VUV", "XAF", "XOF", "XPF",
)
# fmt: on
_THREE_DECIMALS = ("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND")
_EXPONENT_NOT_TWO = {
    **dict.fromkeys(_ZERO_DECIMALS, 0),
    **dict.fromkeys(_THREE_DECIMALS, 3),
    "CLF": 4,
    "UYW": 4,
}
CURRENCIES = frozenset(_ISO_4217)

# Upper bound for any single amount in minor units: ten billion major units at exponent 2.
# Keeps every sum of a sale far inside PostgreSQL's BIGINT.
MAX_AMOUNT = 10**12


def require_currency(code: str) -> str:
    if code not in CURRENCIES:
        raise InvalidInput(f"{code!r} is not an ISO 4217 currency code", field="currency")
    return code


def currency_exponent(code: str) -> int:
    return _EXPONENT_NOT_TWO.get(require_currency(code), 2)


def require_decimal(value: Decimal, field: str, *, places: int) -> Decimal:
    """A finite Decimal with at most ``places`` decimal places (what the database keeps)."""
    if not value.is_finite():
        raise InvalidInput(f"{field} must be a finite number", field=field)
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -places:
        raise InvalidInput(f"{field} has more than {places} decimal places", field=field)
    return value


def floor_int(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_FLOOR))


def floor_share(whole: int, part: int, of: int) -> int:
    """floor(whole * part / of) in exact integer arithmetic."""
    if of <= 0:
        return 0
    return (whole * part) // of
