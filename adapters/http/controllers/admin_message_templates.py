from __future__ import annotations

from typing import Annotated

from litestar import Controller, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, PathParameter

from adapters.http.idempotency import PreviewKey
from adapters.http.schemas.messages import (
    MessagePreviewIn,
    MessagePreviewOut,
    MessageTemplateIn,
    MessageTemplateListOut,
    MessageTemplateOut,
)
from adapters.http.schemas.problem import problems
from app import transactions
from app.container import Container
from app.principal import Principal
from app.use_cases.message_templates import (
    PreviewTemplate,
    SaveTemplate,
    get_template,
    list_templates,
    preview_template,
    reset_template,
    save_template,
)

# Any other value is 404 message_template_not_found (the use case names the kinds).
Kind = Annotated[str, PathParameter(description="login_code, tier_changed, ...")]
Language = Annotated[str, PathParameter(description="zh-CN or en")]
SANDBOX = (
    " Placeholders are `{{ name }}` (the kind's `placeholders`), with the filters `money`"
    " (minor units in the programme's currency), `number`, `date`, `datetime`, `default`,"
    " `upper`, `lower`, `trim`, `capitalize` and `title`, and `{% if %}`. Templates render in"
    " Jinja2's sandbox: loops, calls and any attribute starting with `_` are refused with"
    " 422 `message_template_invalid`, as is a template that fails with the sample data."
)


class AdminMessageTemplatesController(Controller):
    path = "/message-templates"
    tags = ["admin"]

    @get(
        operation_id="getMessageTemplateCatalogue",
        summary="Every message template, per kind and language: the shipped one or an override",
        description=(
            "A fixed catalogue (each kind in each language, twelve entries), not a list that"
            " grows, so it comes whole rather than in pages."
        ),
        responses=problems(401, 403),
    )
    async def list_all(self, container: NamedDependency[Container]) -> MessageTemplateListOut:
        views = await transactions.read(container.uow, list_templates)
        return MessageTemplateListOut(items=[MessageTemplateOut.of(v) for v in views])

    @get(
        "/{kind:str}/{language:str}",
        operation_id="getMessageTemplate",
        summary="One message template in force",
        responses=problems(401, 403, 404),
    )
    async def show(
        self,
        kind: FromPath[Kind],
        language: FromPath[Language],
        container: NamedDependency[Container],
    ) -> MessageTemplateOut:
        view = await transactions.read(container.uow, lambda uow: get_template(kind, language, uow))
        return MessageTemplateOut.of(view)

    @put(
        "/{kind:str}/{language:str}",
        operation_id="saveMessageTemplate",
        summary="Override a message template (checked by rendering the sample data; audited)",
        description=SANDBOX,
        responses=problems(401, 403, 404, 422),
    )
    async def save(
        self,
        kind: FromPath[Kind],
        language: FromPath[Language],
        data: JSONBody[MessageTemplateIn],
        container: NamedDependency[Container],
        principal: NamedDependency[Principal],
    ) -> MessageTemplateOut:
        command = SaveTemplate(kind, language, data.subject, data.body, principal.actor)
        view = await transactions.write(
            container.uow,
            lambda uow: save_template(
                command, uow, clock=container.clock, renderer=container.message_renderer
            ),
        )
        return MessageTemplateOut.of(view)

    @delete(
        "/{kind:str}/{language:str}",
        operation_id="resetMessageTemplate",
        summary="Drop the override: the shipped template applies again (audited)",
        status_code=200,
        responses=problems(401, 403, 404),
    )
    async def reset(
        self,
        kind: FromPath[Kind],
        language: FromPath[Language],
        container: NamedDependency[Container],
        principal: NamedDependency[Principal],
    ) -> MessageTemplateOut:
        view = await transactions.write(
            container.uow, lambda uow: reset_template(kind, language, principal.actor, uow)
        )
        return MessageTemplateOut.of(view)

    @post(
        "/{kind:str}/{language:str}/preview",
        operation_id="previewMessageTemplate",
        summary="Render a template (a draft, or the one in force) with sample data",
        description="Nothing is saved or sent." + SANDBOX,
        status_code=200,
        responses=problems(401, 403, 404, 422),
    )
    async def preview(
        self,
        kind: FromPath[Kind],
        language: FromPath[Language],
        data: JSONBody[MessagePreviewIn],
        container: NamedDependency[Container],
        idempotency_key: PreviewKey = None,
    ) -> MessagePreviewOut:
        command = PreviewTemplate(kind, language, data.subject, data.body)
        rendered = await transactions.read(
            container.uow,
            lambda uow: preview_template(command, uow, renderer=container.message_renderer),
        )
        return MessagePreviewOut.of(rendered)
