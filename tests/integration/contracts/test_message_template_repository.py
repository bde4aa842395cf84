"""The message template repository's contract: one override per kind and language."""

from __future__ import annotations

from datetime import timedelta

from domain.messages import MessageTemplate, StoredTemplate
from domain.notifications import NotificationKind as K
from tests.integration.contracts.conftest import Backend
from tests.integration.factories import T0


def stored(kind: K, language: str, body: str, minutes: int = 0) -> StoredTemplate:
    return StoredTemplate(
        MessageTemplate(kind, language, "Subject", body), T0 + timedelta(minutes=minutes), "admin:a"
    )


async def test_an_override_replaces_the_previous_one_and_removing_it_says_whether_it_was_there(
    backend: Backend,
) -> None:
    async with backend.committed() as uow:
        await uow.message_templates.save(stored(K.BIRTHDAY, "en", "first"))
        await uow.message_templates.save(stored(K.BIRTHDAY, "zh-CN", "第一"))
        await uow.message_templates.save(stored(K.BIRTHDAY, "en", "second", minutes=5))
    async with backend.committed() as uow:
        assert await uow.message_templates.get(K.BIRTHDAY, "en") == stored(
            K.BIRTHDAY, "en", "second", minutes=5
        )
        assert [s.template.language for s in await uow.message_templates.all()] == ["en", "zh-CN"]
        assert await uow.message_templates.get(K.LOGIN_CODE, "en") is None
        assert await uow.message_templates.remove(K.BIRTHDAY, "en") is True
        assert await uow.message_templates.remove(K.BIRTHDAY, "en") is False
    async with backend.new_uow() as uow:
        assert [s.template.body for s in await uow.message_templates.all()] == ["第一"]


async def test_an_override_in_a_language_messages_are_not_written_in_is_refused(
    backend: Backend,
) -> None:
    async with backend.new_uow() as uow:
        with backend.refuses():
            await uow.message_templates.save(stored(K.BIRTHDAY, "fr", "bonjour"))
