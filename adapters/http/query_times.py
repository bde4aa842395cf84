"""Times in query parameters, checked against the accepted range before any handler runs.

Request bodies check their own times once decoded (schemas.common.TimesChecked); query
parameters are decoded by Litestar into plain ``date``/``datetime`` values, so this hook
finds, once per route, which query parameters are times and refuses values outside
domain.time_range with a 422 naming the parameter, whatever the route. Rules of a route's
own (a report's days) are the use case's.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import cache
from types import UnionType
from typing import Any, Union, get_args, get_origin

import msgspec
from litestar import Request
from litestar.enums import ParamType
from litestar.handlers import BaseRouteHandler
from litestar.params import ParameterKwarg
from litestar.types import BeforeRequestHookHandler

from domain.time_range import require_day, require_instant


def _time_kind(annotation: Any) -> type | None:
    if get_origin(annotation) in (Union, UnionType):
        kinds = {_time_kind(a) for a in get_args(annotation)} - {None}
        return kinds.pop() if len(kinds) == 1 else None
    if annotation is datetime or annotation is date:
        return annotation
    return None


@cache
def _time_parameters(handler: BaseRouteHandler) -> tuple[tuple[str, type], ...]:
    """(query name, date or datetime) of every time query parameter of ``handler``."""
    found = []
    for name, field in handler.parsed_fn_signature.parameters.items():
        definition = field.kwarg_definition
        if definition is not None and not (
            isinstance(definition, ParameterKwarg) and definition.param_type is ParamType.QUERY
        ):
            continue
        kind = _time_kind(field.annotation)
        if kind is None:
            continue
        alias = (definition.query or definition.name) if definition is not None else None
        found.append((alias or name, kind))
    return tuple(found)


async def check_query_times(request: Request[Any, Any, Any]) -> None:
    for name, kind in _time_parameters(request.route_handler):
        for raw in request.query_params.getall(name, ()):
            try:
                value: Any = msgspec.convert(raw, kind, strict=False)
            except msgspec.ValidationError:
                continue  # not a time at all: Litestar's own validation answers that
            if kind is datetime:
                require_instant(value, name)
            else:
                require_day(value, name)


def with_query_times(hook: BeforeRequestHookHandler) -> BeforeRequestHookHandler:
    """``hook`` (an area's role check) and then the times check: a hook set on a router
    replaces the application's, and a stranger gets 401 before any 422."""

    async def both(request: Request[Any, Any, Any]) -> Any:
        answer = await hook(request)
        if answer is not None:
            return answer
        await check_query_times(request)
        return None

    both.__name__ = getattr(hook, "__name__", "before_request")
    return both
