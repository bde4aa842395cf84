from __future__ import annotations

from litestar import Controller, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from adapters.http.schemas.auth import AccessTokenOut, TerminalTokenIn
from adapters.http.schemas.problem import problems
from app import transactions
from app.container import Container
from app.use_cases.stores import authenticate_terminal


class AuthController(Controller):
    path = "/v1/auth"
    tags = ["auth"]

    @post(
        "/terminal-token",
        operation_id="issueTerminalToken",
        summary="Exchange a terminal's id and secret for a POS token",
        status_code=200,
        responses=problems(401, 422),
    )
    async def terminal_token(
        self, data: JSONBody[TerminalTokenIn], container: NamedDependency[Container]
    ) -> AccessTokenOut:
        terminal = await transactions.read(
            container.uow, lambda uow: authenticate_terminal(data.terminal_id, data.secret, uow)
        )
        issued = container.tokens.for_terminal(
            terminal.id, terminal.store_id, terminal.secret_version
        )
        return AccessTokenOut(access_token=issued.token, expires_in=issued.expires_in)
