"""The back office's message templates: the shipped default of each kind and language, an
admin's override of it (checked by rendering it with the kind's sample data in the sandbox
before it is saved), a preview, and a reset to the default. Saves and resets are audited."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from app.unit_of_work import WithAudit, WithMessageTemplates, WithProgram
from domain.errors import MessageTemplateNotFound
from domain.messages import (
    SAMPLE_CONTEXTS,
    SUPPORTED_LANGUAGES,
    MessageLocale,
    MessageRenderer,
    MessageTemplate,
    RenderedMessage,
    StoredTemplate,
    default_template,
)
from domain.notifications import NotificationKind
from domain.ports import Clock
from domain.repositories import AuditRecord


class MessageTemplatesUnit(WithAudit, WithMessageTemplates, WithProgram, Protocol):
    """What these use cases use of the unit of work (any ``UnitOfWork`` has it)."""


@dataclass(frozen=True, slots=True)
class TemplateView:
    template: MessageTemplate
    placeholders: tuple[str, ...]
    overridden: bool
    updated_at: datetime | None = None
    actor: str | None = None


def template_key(kind: str, language: str) -> tuple[NotificationKind, str]:
    try:
        parsed = NotificationKind(kind)
    except ValueError:
        raise MessageTemplateNotFound(f"no message kind {kind!r}") from None
    if language not in SUPPORTED_LANGUAGES:
        raise MessageTemplateNotFound(
            f"messages are written in {', '.join(SUPPORTED_LANGUAGES)}, not {language!r}"
        )
    return parsed, language


def _view(kind: NotificationKind, language: str, stored: StoredTemplate | None) -> TemplateView:
    placeholders = tuple(SAMPLE_CONTEXTS[kind])
    if stored is None:
        return TemplateView(default_template(kind, language), placeholders, overridden=False)
    return TemplateView(stored.template, placeholders, True, stored.updated_at, stored.actor)


async def list_templates(uow: MessageTemplatesUnit) -> Sequence[TemplateView]:
    stored = {(s.template.kind, s.template.language): s for s in await uow.message_templates.all()}
    return [
        _view(kind, language, stored.get((kind, language)))
        for kind in NotificationKind
        for language in SUPPORTED_LANGUAGES
    ]


async def get_template(kind: str, language: str, uow: MessageTemplatesUnit) -> TemplateView:
    parsed, language = template_key(kind, language)
    return _view(parsed, language, await uow.message_templates.get(parsed, language))


async def _locale(uow: MessageTemplatesUnit, language: str) -> MessageLocale:
    program = await uow.program.get()
    return MessageLocale(language, program.currency, program.time_zone)


@dataclass(frozen=True, slots=True)
class SaveTemplate:
    kind: str
    language: str
    subject: str
    body: str
    actor: str


async def save_template(
    cmd: SaveTemplate, uow: MessageTemplatesUnit, *, clock: Clock, renderer: MessageRenderer
) -> TemplateView:
    """Refused with ``message_template_invalid`` unless it renders with the sample data."""
    kind, language = template_key(cmd.kind, cmd.language)
    template = MessageTemplate(kind, language, cmd.subject, cmd.body)
    renderer.render(template, SAMPLE_CONTEXTS[kind], await _locale(uow, language))
    stored = StoredTemplate(template, clock.now(), cmd.actor)
    await uow.message_templates.save(stored)
    await uow.audit.record(
        AuditRecord(cmd.actor, "message_template.saved", f"message_template:{kind}.{language}", {})
    )
    return _view(kind, language, stored)


async def reset_template(
    kind: str, language: str, actor: str, uow: MessageTemplatesUnit
) -> TemplateView:
    parsed, language = template_key(kind, language)
    if await uow.message_templates.remove(parsed, language):
        await uow.audit.record(
            AuditRecord(
                actor, "message_template.reset", f"message_template:{parsed}.{language}", {}
            )
        )
    return _view(parsed, language, None)


@dataclass(frozen=True, slots=True)
class PreviewTemplate:
    kind: str
    language: str
    # A draft to try; either left out is the template in force.
    subject: str | None = None
    body: str | None = None


async def preview_template(
    cmd: PreviewTemplate, uow: MessageTemplatesUnit, *, renderer: MessageRenderer
) -> RenderedMessage:
    kind, language = template_key(cmd.kind, cmd.language)
    current = _view(kind, language, await uow.message_templates.get(kind, language)).template
    draft = MessageTemplate(
        kind,
        language,
        cmd.subject if cmd.subject is not None else current.subject,
        cmd.body if cmd.body is not None else current.body,
    )
    return renderer.render(draft, SAMPLE_CONTEXTS[kind], await _locale(uow, language))
