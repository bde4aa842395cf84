# ruff: noqa: RUF001 (Chinese text uses full-width punctuation)
"""Composing member messages (app.messages) and the admins' template use cases, on fakes."""

from __future__ import annotations

from uuid import UUID

import pytest

from adapters.channels.templates import SandboxedTemplates
from app.messages import Messenger
from app.transactions import read, write
from app.use_cases.message_templates import (
    PreviewTemplate,
    SaveTemplate,
    list_templates,
    preview_template,
    reset_template,
    save_template,
)
from domain.errors import MessageTemplateInvalid, MessageTemplateNotFound
from domain.members import ConsentChannel
from domain.messages import MessageTemplate, Recipient
from domain.notifications import DeliveryFailed, NotificationKind
from tests.support.fakes import (
    FakeMessageDirectory,
    FakeWorld,
    RecordingEmail,
    RecordingSms,
)

MEMBER = UUID(int=7)
PHONE = "+8613800138000"


def recipient(
    *consents: ConsentChannel, email: str | None = "li@example.com", language: str | None = None
) -> Recipient:
    return Recipient(
        phone=PHONE,
        email=email,
        preferred_language=language,
        consents=frozenset(consents),
        name="李雷",
    )


def messenger(
    directory: FakeMessageDirectory, sms: RecordingSms, email: RecordingEmail | None
) -> Messenger:
    return Messenger(
        directory=directory,
        renderer=SandboxedTemplates(),
        sms=sms,
        email=email,
        default_language="zh-CN",
    )


async def test_a_tier_change_is_emailed_in_chinese_with_the_tiers_names_without_consent() -> None:
    directory = FakeMessageDirectory(recipients={MEMBER: recipient()})
    email = RecordingEmail()

    outcome = await messenger(directory, RecordingSms(), email).deliver(
        MEMBER,
        NotificationKind.TIER_CHANGED,
        {"from": "member", "to": "gold", "reason": "qualified"},
    )

    assert outcome.channel is ConsentChannel.EMAIL
    assert email.sent == [
        ("li@example.com", "会员等级变更", "李雷您好，您的会员等级已由Member变更为Gold。")
    ]


async def test_marketing_waits_for_consent_and_then_goes_on_the_consented_channel() -> None:
    payload = {"points": 300, "expires_on": "2026-07-01"}
    directory = FakeMessageDirectory(recipients={MEMBER: recipient()})
    sms, email = RecordingSms(), RecordingEmail()
    sender = messenger(directory, sms, email)

    withheld = await sender.deliver(MEMBER, NotificationKind.POINTS_EXPIRING, payload)
    directory.recipients[MEMBER] = recipient(ConsentChannel.SMS, language="en-US")
    sent = await sender.deliver(MEMBER, NotificationKind.POINTS_EXPIRING, payload)

    assert withheld.channel is None
    assert sent.channel is ConsentChannel.SMS
    assert email.sent == []
    assert sms.sent == [
        (PHONE, "300 of your points (worth CN¥3.00) expire on July 1, 2026. Use them before then.")
    ]
    template = sms.templates[0]
    assert template is not None
    assert (template.kind, template.language) == ("points_expiring", "en")
    assert template.params["worth"] == "CN¥3.00"


async def test_without_an_email_channel_a_member_is_reached_by_sms() -> None:
    directory = FakeMessageDirectory(recipients={MEMBER: recipient()})
    sms = RecordingSms()

    outcome = await messenger(directory, sms, None).deliver(
        MEMBER, NotificationKind.REWARD_REDEEMED, {"title": "Tote bag", "points": 800}
    )

    assert outcome.channel is ConsentChannel.SMS
    assert sms.sent == [(PHONE, "您已使用800积分兑换Tote bag。")]


async def test_an_unknown_member_is_withheld_and_a_broken_payload_or_sender_is_retried() -> None:
    directory = FakeMessageDirectory(recipients={MEMBER: recipient()})
    email = RecordingEmail()
    sender = messenger(directory, RecordingSms(), email)

    nobody = await sender.deliver(
        UUID(int=8), NotificationKind.TIER_CHANGED, {"from": "a", "to": "b"}
    )
    with pytest.raises(DeliveryFailed, match="without"):
        await sender.deliver(MEMBER, NotificationKind.TIER_CHANGED, {"to": "gold"})
    email.failing = True
    with pytest.raises(DeliveryFailed, match="mail server"):
        await sender.deliver(MEMBER, NotificationKind.TIER_CHANGED, {"from": "a", "to": "b"})

    assert nobody.channel is None


async def test_a_login_code_uses_the_admins_template_in_the_phone_owners_language() -> None:
    override = MessageTemplate(NotificationKind.LOGIN_CODE, "en", "Code", "Code: {{ code }}")
    directory = FakeMessageDirectory(
        phones={PHONE: "en"}, templates={(NotificationKind.LOGIN_CODE, "en"): override}
    )
    sms = RecordingSms()

    await messenger(directory, sms, RecordingEmail()).send_login_code(PHONE, "135790", 5)
    await messenger(directory, sms, RecordingEmail()).send_login_code("+8613900000000", "246810", 5)

    assert [text for _, text in sms.sent] == [
        "Code: 135790",
        "您的登录验证码：246810，5分钟内有效。请勿告诉他人。",
    ]


async def test_saving_a_template_checks_it_in_the_sandbox_and_audits_it(world: FakeWorld) -> None:
    renderer = SandboxedTemplates()
    good = SaveTemplate("birthday", "en", "Hi", "Happy birthday {{ name }}!", "admin:a")
    bad = SaveTemplate("birthday", "en", "Hi", "{{ name.__class__ }}", "admin:a")

    saved = await write(
        world.uow_factory,
        lambda uow: save_template(good, uow, clock=world.clock, renderer=renderer),
    )
    with pytest.raises(MessageTemplateInvalid):
        await write(
            world.uow_factory,
            lambda uow: save_template(bad, uow, clock=world.clock, renderer=renderer),
        )
    preview = await read(
        world.uow_factory,
        lambda uow: preview_template(PreviewTemplate("birthday", "en"), uow, renderer=renderer),
    )
    await write(world.uow_factory, lambda uow: reset_template("birthday", "en", "admin:b", uow))
    views = await read(world.uow_factory, list_templates)

    assert saved.overridden
    assert preview.body == "Happy birthday Li Lei!"
    assert [r.action for r in world.db.audit.records] == [
        "message_template.saved",
        "message_template.reset",
    ]
    assert not any(v.overridden for v in views)
    assert len(views) == len(NotificationKind) * 2
    with pytest.raises(MessageTemplateNotFound):
        await read(
            world.uow_factory,
            lambda uow: preview_template(
                PreviewTemplate("sms_blast", "en"), uow, renderer=renderer
            ),
        )
