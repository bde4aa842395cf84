"""A staff member's own account (his second factor), and an owner's help with another's: a
new set-password link, removing a lost second factor (issue #18).

Enrolment shows a new TOTP secret once, as text, as its otpauth URI and as a QR code drawn
on the server as inline SVG (segno); nothing is stored until a code from the app proves the
secret was taken (app/use_cases/staff.py: offer_second_factor, confirm_second_factor).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import segno
from litestar import Controller, Request, post
from litestar import get as get_route
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Template
from markupsafe import Markup

from adapters.http.console.controller import Form, _formats, _page, _program, _staff_page
from adapters.http.console.security import staff_ports
from app import transactions
from app.container import Container
from app.use_cases.staff import (
    ConfirmSecondFactor,
    ReissueSetPasswordLink,
    RemoveOwnSecondFactor,
    ResetSecondFactor,
    SecondFactorOffer,
    actor_of,
    confirm_second_factor,
    offer_second_factor,
    reissue_set_password_link,
    remove_own_second_factor,
    reset_second_factor,
)
from domain.errors import DomainError
from domain.staff import StaffMember, WrongSecondFactorCode


def qr_svg(text: str) -> Markup:
    """The QR code of ``text`` as inline SVG: segno's own markup, holding no text of ours (the
    page labels it)."""
    code = segno.make(text, error="m")
    return Markup(code.svg_inline(scale=4, border=2, dark="#000", light="#fff"))  # noqa: S704


class AccountPages(Controller):
    path = "/console"
    include_in_schema = False

    @get_route("/account", operation_id="console.account")
    async def account(
        self, request: Request[Any, Any, Any], container: NamedDependency[Container]
    ) -> Template:
        return await _account_page(request, container)

    @post("/account/second-factor/offer", operation_id="console.account.second_factor_offer")
    async def offer(
        self, request: Request[Any, Any, Any], container: NamedDependency[Container]
    ) -> Template:
        me: StaffMember = request.state.staff
        if me.has_second_factor:
            return await _account_page(request, container)
        return await _account_page(
            request, container, offer=offer_second_factor(me, staff_ports(request))
        )

    @post("/account/second-factor/confirm", operation_id="console.account.second_factor_confirm")
    async def confirm(
        self, request: Request[Any, Any, Any], data: Form, container: NamedDependency[Container]
    ) -> Template:
        me: StaffMember = request.state.staff
        command = ConfirmSecondFactor(
            me.id, str(data.get("sealed", ""))[:1024], str(data.get("code", ""))[:16]
        )
        try:
            updated = await transactions.write(
                container.uow,
                lambda uow: confirm_second_factor(command, uow, staff_ports(request)),
            )
        except WrongSecondFactorCode:
            # The same secret again, so the app the member already set up keeps working.
            again = _reoffer(me, command.sealed, request)
            return await _account_page(request, container, 422, offer=again, wrong_code=True)
        request.state.staff = updated
        return await _account_page(request, container, enrolled=True)

    @post("/account/second-factor/remove", operation_id="console.account.second_factor_remove")
    async def remove(
        self, request: Request[Any, Any, Any], data: Form, container: NamedDependency[Container]
    ) -> Template:
        me: StaffMember = request.state.staff
        command = RemoveOwnSecondFactor(me.id, str(data.get("code", ""))[:16])
        try:
            updated = await transactions.write(
                container.uow,
                lambda uow: remove_own_second_factor(command, uow, staff_ports(request)),
            )
        except WrongSecondFactorCode:
            return await _account_page(request, container, 422, wrong_code=True)
        request.state.staff = updated
        return await _account_page(request, container, removed=True)

    @post("/staff/{staff_id:uuid}/link", operation_id="console.staff.link")
    async def reissue_link(
        self,
        request: Request[Any, Any, Any],
        staff_id: FromPath[UUID],
        container: NamedDependency[Container],
    ) -> Template:
        """A new one-time set-password link, shown once (as at creation)."""
        owner: StaffMember = request.state.staff
        command = ReissueSetPasswordLink(staff_id, actor_of(owner))
        try:
            link = await transactions.write(
                container.uow,
                lambda uow: reissue_set_password_link(command, uow, staff_ports(request)),
            )
        except DomainError:
            return await _staff_page(request, container, 422, refused="link")
        url = f"{container.settings.console_url}/set-password?token={link.token}"
        return await _staff_page(request, container, link=url, reissued=link.member)

    @post(
        "/staff/{staff_id:uuid}/second-factor/reset",
        operation_id="console.staff.second_factor_reset",
    )
    async def reset_factor(
        self,
        request: Request[Any, Any, Any],
        staff_id: FromPath[UUID],
        container: NamedDependency[Container],
    ) -> Template:
        owner: StaffMember = request.state.staff
        if staff_id == owner.id:  # his own goes through his account page, with a code
            return await _staff_page(request, container, 422, refused="self")
        command = ResetSecondFactor(staff_id, actor_of(owner))
        try:
            await transactions.write(
                container.uow, lambda uow: reset_second_factor(command, uow, staff_ports(request))
            )
        except DomainError:
            return await _staff_page(request, container, 422, refused="role")
        return await _staff_page(request, container, factor_reset=True)


def _reoffer(
    member: StaffMember, sealed: str, request: Request[Any, Any, Any]
) -> SecondFactorOffer | None:
    ports = staff_ports(request)
    try:
        opened = ports.secrets.open(sealed)
    except ValueError:
        return None
    prefix = f"offer:{member.id}:"
    if not opened.startswith(prefix):
        return None
    secret = opened[len(prefix) :]
    return SecondFactorOffer(secret, ports.totp.provisioning_uri(secret, member.email), sealed)


async def _account_page(
    request: Request[Any, Any, Any],
    container: Container,
    status_code: int = 200,
    *,
    offer: SecondFactorOffer | None = None,
    **context: Any,
) -> Template:
    program = await _program(container)
    formats = _formats(request, program)
    qr = qr_svg(offer.provisioning_uri) if offer else None
    return _page(request, "account.html", formats, status_code, offer=offer, qr=qr, **context)
