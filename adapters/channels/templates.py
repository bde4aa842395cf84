"""Message templates rendered in Jinja2's SandboxedEnvironment, values formatted by Babel.

Admins edit these templates, so a template is treated as untrusted code. Three fences:

1. Only the node types a message needs are allowed (text, placeholders, filters, ``if``,
   comparisons): no loops, calls, macros, imports or blocks, so nothing can run for long or
   reach a function. Attribute and item access to names starting with ``_`` is refused.
2. The environment has no globals and only the filters listed here.
3. Rendering happens in the sandbox with ``StrictUndefined``: anything that slips past (1) and
   reaches an unsafe attribute raises ``SecurityError`` instead of printing empty text.

Any failure is ``MessageTemplateInvalid`` (422 when an admin saves or previews).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from babel.core import Locale
from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal, get_currency_precision
from jinja2 import StrictUndefined, TemplateError, nodes
from jinja2.sandbox import SandboxedEnvironment

from domain.errors import MessageTemplateInvalid
from domain.messages import MessageLocale, MessageTemplate, RenderedMessage

MAX_OUTPUT_LENGTH = 4_000
BABEL_LOCALES = {"zh-CN": "zh_Hans_CN", "en": "en"}
MONEY_PLACEHOLDERS = frozenset({"worth", "amount", "value"})

_ALLOWED_NODES: tuple[type[nodes.Node], ...] = (
    nodes.Template,
    nodes.Output,
    nodes.TemplateData,
    nodes.Name,
    nodes.Const,
    nodes.Filter,
    nodes.If,
    nodes.CondExpr,
    nodes.Compare,
    nodes.Operand,
    nodes.And,
    nodes.Or,
    nodes.Not,
    nodes.Concat,
    nodes.Getattr,
    nodes.Getitem,
)
_BUILTIN_FILTERS = ("default", "upper", "lower", "trim", "capitalize", "title")


def _locale(locale: MessageLocale) -> Locale:
    return Locale.parse(BABEL_LOCALES.get(locale.language, "en"))


def _as_date(value: object, zone: ZoneInfo) -> date:
    if isinstance(value, datetime):
        return value.astimezone(zone).date()
    if isinstance(value, date):
        return value
    raise TypeError(f"not a date: {value!r}")


def _filters(locale: MessageLocale) -> dict[str, Callable[..., str]]:
    babel = _locale(locale)
    zone = ZoneInfo(locale.time_zone)
    digits = get_currency_precision(locale.currency)

    def money(minor_units: object) -> str:
        if isinstance(minor_units, bool) or not isinstance(minor_units, int | Decimal):
            raise TypeError("money takes an amount in minor units")
        amount = Decimal(minor_units).scaleb(-digits)
        return str(format_currency(amount, locale.currency, locale=babel))

    def number(value: object) -> str:
        if isinstance(value, bool) or not isinstance(value, int | Decimal):
            raise TypeError("number takes an integer or a decimal")
        return str(format_decimal(value, locale=babel))

    def long_date(value: object) -> str:
        return str(format_date(_as_date(value, zone), format="long", locale=babel))

    def date_time(value: object) -> str:
        if not isinstance(value, datetime):
            raise TypeError("datetime takes an instant")
        return str(format_datetime(value, format="medium", tzinfo=zone, locale=babel))

    return {"money": money, "number": number, "date": long_date, "datetime": date_time}


class _Refused(Exception):
    pass


def _check_shape(environment: SandboxedEnvironment, source: str) -> None:
    tree = environment.parse(source)
    for node in tree.find_all(nodes.Node):
        if not isinstance(node, _ALLOWED_NODES):
            raise _Refused(f"{type(node).__name__} is not allowed in a message template")
        if isinstance(node, nodes.Getattr) and node.attr.startswith("_"):
            raise _Refused(f"the attribute {node.attr!r} is not allowed")
        if (
            isinstance(node, nodes.Getitem)
            and isinstance(node.arg, nodes.Const)
            and str(node.arg.value).startswith("_")
        ):
            raise _Refused(f"the item {node.arg.value!r} is not allowed")
        if isinstance(node, nodes.Getitem) and not isinstance(node.arg, nodes.Const):
            raise _Refused("items may be looked up by a constant key only")


def sandbox(locale: MessageLocale) -> SandboxedEnvironment:
    environment = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
    environment.globals.clear()
    builtin = environment.filters
    environment.filters = {name: builtin[name] for name in _BUILTIN_FILTERS}
    environment.filters.update(_filters(locale))
    return environment


class SandboxedTemplates:
    def render(
        self, template: MessageTemplate, context: Mapping[str, object], locale: MessageLocale
    ) -> RenderedMessage:
        environment = sandbox(locale)
        try:
            subject = self._render(environment, template.subject, context, "subject")
            body = self._render(environment, template.body, context, "body")
            params = {name: _param(name, value, locale) for name, value in context.items()}
        except MessageTemplateInvalid:
            raise
        except (
            TemplateError,
            _Refused,
            TypeError,
            ValueError,
            ArithmeticError,
            RecursionError,
        ) as error:
            raise MessageTemplateInvalid(f"{type(error).__name__}: {error}") from error
        return RenderedMessage(subject=subject.strip(), body=body.strip(), params=params)

    @staticmethod
    def _render(
        environment: SandboxedEnvironment, source: str, context: Mapping[str, object], field: str
    ) -> str:
        try:
            _check_shape(environment, source)
            text = environment.from_string(source).render(**dict(context))
        except (
            TemplateError,
            _Refused,
            TypeError,
            ValueError,
            ArithmeticError,
            RecursionError,
        ) as error:
            raise MessageTemplateInvalid(
                f"{field}: {type(error).__name__}: {error}", field=field
            ) from error
        if len(text) > MAX_OUTPUT_LENGTH:
            raise MessageTemplateInvalid(
                f"{field} renders to more than {MAX_OUTPUT_LENGTH} characters", field=field
            )
        return text


def _param(name: str, value: object, locale: MessageLocale) -> str:
    formats: dict[str, Any] = _filters(locale)
    if isinstance(value, datetime | date):
        return str(formats["date"](value))
    if name in MONEY_PLACEHOLDERS and isinstance(value, int):
        return str(formats["money"](value))
    return str(value)
