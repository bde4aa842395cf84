"""The back-office console at /console: server-rendered pages (Jinja2) with htmx.

Each page calls the application's use cases, as the API does; no SQL here. Every route is
guarded by console_guard (session, permission table, CSRF) and named in app/permissions.py by
its operation id. Texts go through the catalogues (i18n.py); Jinja2 escapes every value.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.enums import MediaType, RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Redirect, Template

from adapters.http.client_address import client_address, trusted_networks
from adapters.http.console.i18n import (
    LANG_COOKIE,
    LANGUAGE_NAMES,
    LOCALES,
    Formats,
    chosen_locale,
)
from adapters.http.console.security import (
    COOKIE_PATH,
    CSRF_FIELD,
    LOGIN_COOKIE,
    SESSION_COOKIE,
    csrf_token,
    secure_cookies,
    staff_ports,
)
from app import transactions
from app.container import Container
from app.permissions import allows
from app.use_cases.staff import (
    ChangeStaffRole,
    CreateStaff,
    DisableStaff,
    GiveSecondFactor,
    LogIn,
    SetPassword,
    actor_of,
    change_role,
    create_staff,
    disable_staff,
    give_second_factor,
    list_staff,
    log_in,
    log_out,
    set_password,
)
from domain.errors import DomainError, RateLimited
from domain.program import ProgramSettings
from domain.reporting import period
from domain.staff import (
    MAX_PASSWORD_LENGTH,
    InvalidSetPasswordLink,
    StaffLoginFailed,
    StaffRole,
    WeakPassword,
)
from domain.staff import StaffMember as Staff

STATIC_DIR = Path(__file__).parent / "static"
STATIC_TYPES = {".js": "text/javascript", ".css": "text/css", ".txt": "text/plain"}
STATIC_FILES = {p.name: p for p in STATIC_DIR.iterdir() if p.suffix in STATIC_TYPES}
Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]


@dataclass(frozen=True)
class NavItem:
    operation: str
    path: str
    label: str


# The navigation, filtered by the permission table for each role (labels are msgids).
NAV = (
    NavItem("console.dashboard", "/console", "Dashboard"),
    NavItem("console.members.search", "/console/members", "Members"),
    NavItem("console.feedback.list", "/console/feedback", "Feedback"),
    NavItem("console.follow_ups.list", "/console/follow-ups", "Follow-up calls"),
    NavItem("console.programme.view", "/console/programme", "Programme"),
    NavItem("console.tiers.view", "/console/tiers", "Tiers"),
    NavItem("console.campaigns.view", "/console/campaigns", "Campaigns"),
    NavItem("console.automatic_rewards.view", "/console/automatic-rewards", "Automatic rewards"),
    NavItem("console.crm.rfm", "/console/crm", "CRM"),
    NavItem("console.stores", "/console/stores", "Stores"),
    NavItem("console.audit", "/console/audit", "Audit log"),
    NavItem("console.staff.list", "/console/staff", "Staff"),
)


def _formats(request: Request[Any, Any, Any], program: ProgramSettings | None = None) -> Formats:
    locale = chosen_locale(request.cookies.get(LANG_COOKIE), request.headers.get("accept-language"))
    if program is None:
        return Formats(locale)
    return Formats(locale, program.currency, program.time_zone)


async def _program(container: Container) -> ProgramSettings:
    async def load(uow: Any) -> ProgramSettings:
        return await uow.program.get()  # type: ignore[no-any-return]

    return await transactions.read(container.uow, load)


def _page(
    request: Request[Any, Any, Any],
    name: str,
    formats: Formats,
    status_code: int = 200,
    cookies: list[Cookie] | None = None,
    **context: Any,
) -> Template:
    staff: Staff | None = getattr(request.state, "staff", None)
    nav = [item for item in NAV if staff and allows(staff.role, item.operation)]
    return Template(
        template_name=name,
        context={
            **formats.template_globals(),
            "staff": staff,
            "nav": nav,
            "path": request.url.path,
            "csrf": getattr(request.state, "csrf", ""),
            "csrf_field": CSRF_FIELD,
            "languages": [(code, LANGUAGE_NAMES[code]) for code in LOCALES],
            **context,
        },
        status_code=status_code,
        cookies=cookies or [],
        media_type=MediaType.HTML,
    )


def _login_nonce(request: Request[Any, Any, Any]) -> tuple[str, list[Cookie]]:
    """The pre-login cookie the public forms' CSRF token is bound to (set when missing)."""
    nonce = request.cookies.get(LOGIN_COOKIE)
    if nonce and len(nonce) <= 64:
        return nonce, []
    nonce = secrets.token_urlsafe(24)
    settings = request.app.state.container.settings
    cookie = Cookie(
        key=LOGIN_COOKIE,
        value=nonce,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=secure_cookies(request, settings),
        max_age=3600,
    )
    return nonce, [cookie]


def _public_page(
    request: Request[Any, Any, Any], name: str, status_code: int = 200, **context: Any
) -> Template:
    nonce, cookies = _login_nonce(request)
    settings = request.app.state.container.settings
    page = _page(request, name, _formats(request), status_code, cookies, **context)
    page.context["csrf"] = csrf_token(settings, nonce, "login")
    return page


def _session_cookie(request: Request[Any, Any, Any], value: str, max_age: int) -> Cookie:
    return Cookie(
        key=SESSION_COOKIE,
        value=value,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=secure_cookies(request, request.app.state.container.settings),
        max_age=max_age,
    )


def _ip(request: Request[Any, Any, Any], container: Container) -> str:
    return client_address(request, trusted_networks(container.settings.trusted_proxies))


def _value_of_points(points: int, point_value: Decimal) -> int:
    return int((Decimal(points) * point_value).to_integral_value(rounding=ROUND_FLOOR))


class ConsoleController(Controller):
    path = "/console"
    include_in_schema = False

    # Login, second factor, set-password, logout, language ----------------------------------

    @get("/login", operation_id="console.login")
    async def login_page(self, request: Request[Any, Any, Any]) -> Template:
        return _public_page(request, "login.html")

    @post("/login", operation_id="console.login.submit")
    async def login(
        self, request: Request[Any, Any, Any], data: Form, container: NamedDependency[Container]
    ) -> Response[Any]:
        command = LogIn(
            email=str(data.get("email", ""))[:254],
            password=str(data.get("password", ""))[:MAX_PASSWORD_LENGTH],
            client_ip=_ip(request, container),
        )
        try:
            opened = await log_in(command, container.uow, staff_ports(request))
        except StaffLoginFailed:
            return _public_page(request, "login.html", 401, failed=True, email=command.email)
        except RateLimited as limited:
            return _public_page(
                request, "login.html", 429, limited=True, retry=limited.retry_after_seconds
            )
        target = "/console/totp" if opened.second_factor_pending else "/console"
        ttl = 300 if opened.second_factor_pending else 12 * 3600
        return Redirect(
            target, status_code=303, cookies=[_session_cookie(request, opened.session_id, ttl)]
        )

    @get("/totp", operation_id="console.totp")
    async def totp_page(self, request: Request[Any, Any, Any]) -> Template:
        return _public_page(request, "totp.html")

    @post("/totp", operation_id="console.totp.submit")
    async def totp(
        self, request: Request[Any, Any, Any], data: Form, container: NamedDependency[Container]
    ) -> Response[Any]:
        session_id = request.cookies.get(SESSION_COOKIE, "")
        try:
            await give_second_factor(
                GiveSecondFactor(
                    session_id[:128], str(data.get("code", ""))[:16], _ip(request, container)
                ),
                container.uow,
                staff_ports(request),
            )
        except StaffLoginFailed:
            return _public_page(request, "totp.html", 401, failed=True)
        except RateLimited as limited:
            return _public_page(
                request, "totp.html", 429, limited=True, retry=limited.retry_after_seconds
            )
        return Redirect(
            "/console", status_code=303, cookies=[_session_cookie(request, session_id, 12 * 3600)]
        )

    @get("/set-password", operation_id="console.set_password")
    async def set_password_page(
        self, request: Request[Any, Any, Any], token: FromQuery[str] = ""
    ) -> Template:
        return _public_page(request, "set_password.html", token=token[:128])

    @post("/set-password", operation_id="console.set_password.submit")
    async def set_password(
        self, request: Request[Any, Any, Any], data: Form, container: NamedDependency[Container]
    ) -> Response[Any]:
        token = str(data.get("token", ""))[:128]
        password = str(data.get("password", ""))
        if password != str(data.get("confirm", "")):
            return _public_page(request, "set_password.html", 422, token=token, mismatch=True)
        try:
            await transactions.write(
                container.uow,
                lambda uow: set_password(SetPassword(token, password), uow, staff_ports(request)),
            )
        except InvalidSetPasswordLink:
            return _public_page(request, "set_password.html", 410, token="", invalid=True)
        except WeakPassword:
            return _public_page(request, "set_password.html", 422, token=token, weak=True)
        return Redirect("/console/login?password_set=1", status_code=303)

    @post("/logout", operation_id="console.logout")
    async def logout(
        self, request: Request[Any, Any, Any], container: NamedDependency[Container]
    ) -> Response[Any]:
        session_id = request.cookies.get(SESSION_COOKIE, "")
        await log_out(session_id, container.uow, staff_ports(request))
        return Redirect(
            "/console/login", status_code=303, cookies=[_session_cookie(request, "", 0)]
        )

    @get("/language", operation_id="console.language")
    async def language(
        self, request: Request[Any, Any, Any], lang: FromQuery[str] = "en"
    ) -> Response[Any]:
        """Sets the language cookie (a preference of this browser, nothing on the server)."""
        back = request.query_params.get("next", "/console")
        if not back.startswith("/console") or back.startswith("//") or "\\" in back:
            back = "/console"
        locale = lang if lang in LOCALES else "en"
        cookie = Cookie(
            key=LANG_COOKIE,
            value=locale,
            path=COOKIE_PATH,
            samesite="lax",
            secure=secure_cookies(request, request.app.state.container.settings),
            max_age=365 * 24 * 3600,
        )
        return Redirect(back, status_code=303, cookies=[cookie])

    @get("/static/{name:str}", operation_id="console.static")
    async def static(self, name: FromPath[str]) -> Response[bytes]:
        path = STATIC_FILES.get(name)
        if path is None:
            raise NotFoundException()
        return Response(
            path.read_bytes(),
            media_type=STATIC_TYPES[path.suffix],
            headers={"Cache-Control": "public, max-age=86400"},
        )

    # Pages -----------------------------------------------------------------------------------

    @get("/", operation_id="console.dashboard")
    async def dashboard(
        self, request: Request[Any, Any, Any], container: NamedDependency[Container]
    ) -> Template:
        program = await _program(container)
        now = container.clock.now()
        today = now.astimezone(program.zone).date()
        start, end = period(None, None, today)
        report = await container.reports.points_liability(
            time_zone=program.time_zone, start=start, end=end
        )
        formats = _formats(request, program)
        outstanding = report.outstanding
        largest = max((m.points for m in report.by_expiry_month), default=0) or 1
        return _page(
            request,
            "dashboard.html",
            formats,
            program=program,
            report=report,
            start=start,
            end=end - timedelta(days=1),
            value_available=_value_of_points(outstanding.available, program.point_value),
            value_debt=_value_of_points(outstanding.debt, program.point_value),
            largest=largest,
        )

    @get("/staff", operation_id="console.staff.list")
    async def staff(
        self, request: Request[Any, Any, Any], container: NamedDependency[Container]
    ) -> Template:
        return await _staff_page(request, container)

    @post("/staff", operation_id="console.staff.create")
    async def create_staff(
        self, request: Request[Any, Any, Any], data: Form, container: NamedDependency[Container]
    ) -> Template:
        """An owner creates an account; its one-time set-password link is shown once."""
        owner: Staff = request.state.staff
        try:
            role = StaffRole(str(data.get("role", "")))
            link = await transactions.write(
                container.uow,
                lambda uow: create_staff(
                    CreateStaff(
                        str(data.get("email", ""))[:254],
                        role,
                        actor_of(owner),
                        str(data.get("display_name", ""))[:200],
                    ),
                    uow,
                    staff_ports(request),
                ),
            )
        except (ValueError, DomainError):
            return await _staff_page(request, container, 422, refused="create")
        url = f"{container.settings.console_url}/set-password?token={link.token}"
        return await _staff_page(request, container, 201, link=url, created=link.member)

    @post("/staff/{staff_id:uuid}/role", operation_id="console.staff.role")
    async def staff_role(
        self,
        request: Request[Any, Any, Any],
        staff_id: FromPath[UUID],
        data: Form,
        container: NamedDependency[Container],
    ) -> Template:
        owner: Staff = request.state.staff
        if staff_id == owner.id:  # no owner locks the programme out by demoting himself
            return await _staff_page(request, container, 422, refused="self")
        try:
            role = StaffRole(str(data.get("role", "")))
            await transactions.write(
                container.uow,
                lambda uow: change_role(
                    ChangeStaffRole(staff_id, role, actor_of(owner)), uow, staff_ports(request)
                ),
            )
        except (ValueError, DomainError):
            return await _staff_page(request, container, 422, refused="role")
        return await _staff_page(request, container)

    @post("/staff/{staff_id:uuid}/disable", operation_id="console.staff.disable")
    async def staff_disable(
        self,
        request: Request[Any, Any, Any],
        staff_id: FromPath[UUID],
        container: NamedDependency[Container],
    ) -> Template:
        owner: Staff = request.state.staff
        if staff_id == owner.id:
            return await _staff_page(request, container, 422, refused="self")
        try:
            await transactions.write(
                container.uow,
                lambda uow: disable_staff(
                    DisableStaff(staff_id, actor_of(owner)), uow, staff_ports(request)
                ),
            )
        except DomainError:
            return await _staff_page(request, container, 422, refused="role")
        return await _staff_page(request, container)


async def _staff_page(
    request: Request[Any, Any, Any],
    container: Container,
    status_code: int = 200,
    **context: Any,
) -> Template:
    members = await transactions.read(
        container.uow, lambda uow: list_staff(uow, staff_ports(request))
    )
    program = await _program(container)
    return _page(
        request,
        "staff.html",
        _formats(request, program),
        status_code,
        members=members,
        roles=[role.value for role in StaffRole],
        **context,
    )
