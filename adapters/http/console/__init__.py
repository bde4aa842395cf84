"""The back-office console (issue #18): /console, guarded by console_guard."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Request, Response, Router
from litestar.enums import MediaType
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect
from litestar.template.config import TemplateConfig

from adapters.http.console.automatic_reward_pages import AutomaticRewardPages
from adapters.http.console.campaign_pages import CampaignPages
from adapters.http.console.controller import ConsoleController, _formats
from adapters.http.console.members_pages import MembersPagesController
from adapters.http.console.owner_pages import OwnerPages
from adapters.http.console.programme_pages import ProgrammePages
from adapters.http.console.report_pages import ReportPages
from adapters.http.console.security import (
    ConsoleForbidden,
    CsrfRefused,
    LoginRequired,
    console_guard,
)
from adapters.http.console.service_pages import ServicePagesController

TEMPLATES = Path(__file__).parent / "templates"


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    # Litestar's Jinja2 engine escapes every value (autoescape on).
    return TemplateConfig(directory=TEMPLATES, engine=JinjaTemplateEngine)


def _login_required(request: Request[Any, Any, Any], _: Exception) -> Response[Any]:
    if request.headers.get("hx-request"):
        return Response(b"", status_code=401, headers={"HX-Redirect": "/console/login"})
    if request.method == "GET":
        return Redirect("/console/login", status_code=303)
    return _error(request, 401, "Log in again", "Your session has ended. Log in again.")


def _error(request: Request[Any, Any, Any], status: int, title: str, message: str) -> Response[Any]:
    formats = _formats(request)
    template = request.app.template_engine.get_template("error.html")  # type: ignore[union-attr]
    html = template.render(
        **formats.template_globals(),
        staff=None,
        nav=[],
        path=request.url.path,
        csrf="",
        csrf_field="_csrf",
        languages=[],
        title=title,
        message=message,
    )
    return Response(html, status_code=status, media_type=MediaType.HTML)


def _forbidden(request: Request[Any, Any, Any], _: Exception) -> Response[Any]:
    return _error(request, 403, "Not allowed", "Your role does not allow this.")


def _csrf(request: Request[Any, Any, Any], _: Exception) -> Response[Any]:
    return _error(
        request,
        403,
        "Request refused",
        "The form was stale or did not come from this console. Reload the page and try again.",
    )


def console_router() -> Router:
    return Router(
        path="/",
        route_handlers=[
            ConsoleController,
            MembersPagesController,
            ServicePagesController,
            ProgrammePages,
            CampaignPages,
            AutomaticRewardPages,
            ReportPages,
            OwnerPages,
        ],
        guards=[console_guard],
        include_in_schema=False,
        exception_handlers={
            LoginRequired: _login_required,
            ConsoleForbidden: _forbidden,
            CsrfRefused: _csrf,
        },
    )
