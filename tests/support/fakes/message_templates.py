"""Admins' overrides of message templates, keyed by kind and language."""

from __future__ import annotations

from collections.abc import Sequence

from domain.messages import SUPPORTED_LANGUAGES, StoredTemplate
from domain.notifications import NotificationKind
from tests.support.fakes.common import Linked, require


class FakeMessageTemplateRepository(Linked):
    def __init__(self) -> None:
        self.templates: dict[tuple[NotificationKind, str], StoredTemplate] = {}

    async def get(self, kind: NotificationKind, language: str) -> StoredTemplate | None:
        return self.templates.get((kind, language))

    async def all(self) -> Sequence[StoredTemplate]:
        return [
            self.templates[key]
            for key in sorted(self.templates, key=lambda k: f"{k[0].value}.{k[1]}")
        ]

    async def save(self, stored: StoredTemplate) -> None:
        template = stored.template
        require(template.language in SUPPORTED_LANGUAGES, "message_templates_language")
        self.templates[(template.kind, template.language)] = stored

    async def remove(self, kind: NotificationKind, language: str) -> bool:
        return self.templates.pop((kind, language), None) is not None
