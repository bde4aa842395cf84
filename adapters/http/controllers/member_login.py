"""Member login by phone: request a code, verify it, refresh the session.

No Idempotency-Key here: these are not under /v1/pos or /v1/admin, and each is naturally safe
to retry (a repeated code request sends a new code within the rate limit; a repeated verify or
refresh is refused because the code or token was used).
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from adapters.http.client_address import client_address, trusted_networks
from adapters.http.schemas.login import (
    LoginCodeRequestIn,
    LoginCodeVerifyIn,
    RefreshIn,
    SessionOut,
)
from adapters.http.schemas.problem import problems
from app import transactions
from app.container import Container
from app.use_cases.login import (
    LoginPorts,
    RequestLoginCode,
    Session,
    VerifyLoginCode,
    log_out,
    refresh_session,
    request_login_code,
    verify_login_code,
)
from domain.login import REFRESH_TOKEN_TTL


def _ports(container: Container) -> LoginPorts:
    return container.login


def _client(request: Request[Any, Any, Any], container: Container) -> str:
    return client_address(request, trusted_networks(container.settings.trusted_proxies))


def _session_out(container: Container, session: Session) -> SessionOut:
    access = container.tokens.issue_member_token(session.member_id)
    return SessionOut(
        access_token=access.token,
        refresh_token=session.refresh_token,
        expires_in=access.expires_in,
        refresh_expires_in=int(REFRESH_TOKEN_TTL.total_seconds()),
    )


class MemberLoginController(Controller):
    path = "/v1/auth"
    tags = ["auth"]

    @post(
        "/otp",
        operation_id="requestLoginCode",
        summary="Send a 6-digit login code to the phone by SMS",
        description=(
            "Answers 202 whether or not the phone belongs to a member. The code lives 5 "
            "minutes and allows 5 guesses; a new request replaces it. Rate-limited per phone "
            "and per client address (429 with Retry-After)."
        ),
        status_code=202,
        responses=problems(422, 429),
    )
    async def request_code(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[LoginCodeRequestIn],
        container: NamedDependency[Container],
    ) -> Response[None]:
        command = RequestLoginCode(phone=data.phone, client_ip=_client(request, container))
        ports = _ports(container)
        await transactions.write(container.uow, lambda uow: request_login_code(command, uow, ports))
        return Response(content=None, status_code=202)

    @post(
        "/otp/verify",
        operation_id="verifyLoginCode",
        summary="Exchange the SMS code for an access token and a refresh token",
        description=(
            "Enrols the member if the phone is new. A wrong, expired, used or exhausted code "
            "gets one and the same 401 `invalid_login_code`."
        ),
        status_code=200,
        responses=problems(401, 422, 429),
    )
    async def verify_code(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[LoginCodeVerifyIn],
        container: NamedDependency[Container],
    ) -> SessionOut:
        command = VerifyLoginCode(
            phone=data.phone, code=data.code, client_ip=_client(request, container)
        )
        session = await verify_login_code(command, container.uow, _ports(container))
        return _session_out(container, session)

    @post(
        "/refresh",
        operation_id="refreshSession",
        summary="Swap a refresh token for a new access and refresh token",
        description=(
            "The refresh token is used up. Presenting a used one is refused (401 "
            "`invalid_refresh_token`) and revokes every token descended from the same login."
        ),
        status_code=200,
        responses=problems(401, 422),
    )
    async def refresh(
        self, data: JSONBody[RefreshIn], container: NamedDependency[Container]
    ) -> SessionOut:
        session = await refresh_session(data.refresh_token, container.uow, _ports(container))
        return _session_out(container, session)

    @post(
        "/logout",
        operation_id="logOut",
        summary="End the session: revoke every refresh token of this login",
        description=(
            "Takes the session's refresh token (the latest, or any earlier one of the same "
            "login) and revokes its whole family: a refresh after this is 401 "
            "`invalid_refresh_token`. Answers 204, also when the session was already ended "
            "(safe to retry). A token this service never issued is 401 "
            "`invalid_refresh_token`. Access tokens already issued stay valid until they "
            "expire (15 minutes by default): the app drops its copy."
        ),
        status_code=204,
        responses=problems(401, 422),
    )
    async def logout(
        self, data: JSONBody[RefreshIn], container: NamedDependency[Container]
    ) -> None:
        ports = _ports(container)
        await transactions.write(container.uow, lambda uow: log_out(data.refresh_token, uow, ports))
