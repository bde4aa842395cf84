"""Console pages of the messages members receive (issue #18): every kind in every language,
shipped default or override; an override edited with a live preview (htmx renders the draft
with the kind's sample data as it is typed), saved only when it renders, and reverted to the
shipped default. Through app/use_cases/message_templates.py, as /v1/admin/message-templates."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from adapters.http.console.controller import Form, _formats, _page, _program
from adapters.http.console.i18n import N_
from app import transactions
from app.container import Container
from app.permissions import allows
from app.use_cases.message_templates import (
    PreviewTemplate,
    SaveTemplate,
    get_template,
    list_templates,
    preview_template,
    reset_template,
    save_template,
)
from app.use_cases.staff import actor_of
from domain.errors import DomainError, MessageTemplateNotFound
from domain.messages import MAX_BODY_LENGTH, MAX_SUBJECT_LENGTH
from domain.staff import StaffMember

# The kinds of message and the languages they are written in, by name (msgids).
KIND_NAMES = {
    "login_code": N_("Login code (SMS)"),
    "tier_changed": N_("Tier changed"),
    "points_expiring": N_("Points expiring"),
    "coupon_issued": N_("Coupon issued"),
    "birthday": N_("Birthday coupon"),
    "reward_redeemed": N_("Reward redeemed"),
}
LANGUAGE_NAMES = {"zh-CN": N_("Simplified Chinese"), "en": N_("English")}
BASE = "/console/message-templates/{kind}/{language}"


def _draft(data: dict[str, str]) -> tuple[str, str]:
    # Cut a little past the limits, so that the domain's refusal of a long text still shows;
    # NUL (which PostgreSQL cannot store) is dropped: it can only come from a forged form.
    return (
        str(data.get("subject", "")).replace("\x00", "")[: MAX_SUBJECT_LENGTH + 1],
        str(data.get("body", "")).replace("\x00", "")[: MAX_BODY_LENGTH + 1],
    )


class MessageTemplatePages(Controller):
    path = "/console"
    include_in_schema = False

    @get("/message-templates", operation_id="console.message_templates.list")
    async def index(
        self, request: Request[Any, Any, Any], container: NamedDependency[Container]
    ) -> Template:
        views = await container.read(list_templates)
        program = await _program(container)
        return _page(
            request,
            "message_templates.html",
            _formats(request, program),
            views=views,
            kinds=KIND_NAMES,
            language_names=LANGUAGE_NAMES,
        )

    @get(
        "/message-templates/{kind:str}/{language:str}",
        operation_id="console.message_templates.view",
    )
    async def view(
        self,
        request: Request[Any, Any, Any],
        kind: FromPath[str],
        language: FromPath[str],
        container: NamedDependency[Container],
    ) -> Template:
        saved = request.query_params.get("saved", "")[:10]
        return await _edit_page(request, container, kind[:40], language[:10], saved=saved)

    @post(
        "/message-templates/{kind:str}/{language:str}/preview",
        operation_id="console.message_templates.preview",
    )
    async def preview(
        self,
        request: Request[Any, Any, Any],
        kind: FromPath[str],
        language: FromPath[str],
        data: Form,
        container: NamedDependency[Container],
    ) -> Template:
        """The draft rendered with the kind's sample data (an htmx fragment); nothing saved."""
        subject, body = _draft(data)
        command = PreviewTemplate(kind[:40], language[:10], subject, body)
        program = await _program(container)
        try:
            rendered = await container.read(
                lambda uow: preview_template(command, uow, renderer=container.message_renderer),
            )
        except MessageTemplateNotFound:
            return _page(request, "_message_preview.html", _formats(request, program), 404)
        except DomainError as refused:
            # 200: htmx swaps only successful answers, and the preview did its job.
            return _page(
                request, "_message_preview.html", _formats(request, program),
                invalid=refused.detail,
            )  # fmt: skip
        return _page(
            request, "_message_preview.html", _formats(request, program), rendered=rendered
        )

    @post(
        "/message-templates/{kind:str}/{language:str}",
        operation_id="console.message_templates.save",
    )
    async def save(
        self,
        request: Request[Any, Any, Any],
        kind: FromPath[str],
        language: FromPath[str],
        data: Form,
        container: NamedDependency[Container],
    ) -> Any:
        """Saved only if it renders with the sample data (else 422, nothing saved)."""
        staff: StaffMember = request.state.staff
        subject, body = _draft(data)
        command = SaveTemplate(kind[:40], language[:10], subject, body, actor_of(staff))
        try:
            await transactions.write(
                container.uow,
                lambda uow: save_template(
                    command, uow, clock=container.clock, renderer=container.message_renderer
                ),
            )
        except MessageTemplateNotFound:
            return await _edit_page(request, container, kind[:40], language[:10])
        except DomainError as refused:
            return await _edit_page(
                request, container, kind[:40], language[:10], 422,
                invalid=refused.detail, draft={"subject": subject, "body": body},
            )  # fmt: skip
        return Redirect(
            BASE.format(kind=kind, language=language),
            query_params={"saved": "saved"},
            status_code=303,
        )

    @post(
        "/message-templates/{kind:str}/{language:str}/reset",
        operation_id="console.message_templates.reset",
    )
    async def reset(
        self,
        request: Request[Any, Any, Any],
        kind: FromPath[str],
        language: FromPath[str],
        container: NamedDependency[Container],
    ) -> Any:
        staff: StaffMember = request.state.staff
        try:
            await transactions.write(
                container.uow,
                lambda uow: reset_template(kind[:40], language[:10], actor_of(staff), uow),
            )
        except MessageTemplateNotFound:
            return await _edit_page(request, container, kind[:40], language[:10])
        return Redirect(
            BASE.format(kind=kind, language=language),
            query_params={"saved": "reset"},
            status_code=303,
        )


async def _edit_page(
    request: Request[Any, Any, Any],
    container: Container,
    kind: str,
    language: str,
    status_code: int = 200,
    **context: Any,
) -> Template:
    staff: StaffMember = request.state.staff
    program = await _program(container)
    formats = _formats(request, program)
    try:
        view = await container.read(lambda uow: get_template(kind, language, uow))
        rendered = await container.read(
            lambda uow: preview_template(
                PreviewTemplate(kind, language), uow, renderer=container.message_renderer
            ),
        )
    except MessageTemplateNotFound:
        return _page(request, "message_template.html", formats, 404, view=None)
    context.setdefault("draft", {"subject": view.template.subject, "body": view.template.body})
    return _page(
        request,
        "message_template.html",
        formats,
        status_code,
        view=view,
        rendered=rendered,
        kind_name=KIND_NAMES.get(view.template.kind.value, view.template.kind.value),
        language_name=LANGUAGE_NAMES.get(view.template.language, view.template.language),
        base=BASE.format(kind=view.template.kind.value, language=view.template.language),
        max_subject=MAX_SUBJECT_LENGTH,
        max_body=MAX_BODY_LENGTH,
        can_manage=allows(staff.role, "console.message_templates.save"),
        **context,
    )
