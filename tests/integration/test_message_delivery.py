# ruff: noqa: RUF001 (Chinese text uses full-width punctuation)
"""Member messages through the outbox worker on PostgreSQL: the channel, language and consent
are read when the message is sent, e-mail reaches a local SMTP server, admins' templates apply."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest
from piccolo.engine.postgres import PostgresEngine

from adapters.channels.smtp import SmtpEmailSender
from adapters.channels.templates import SandboxedTemplates
from adapters.persistence.message_directory import PostgresMessageDirectory
from adapters.persistence.outbox import PostgresNotificationQueue
from adapters.persistence.unit_of_work import PostgresUnitOfWork
from app.messages import Messenger
from app.notifications import deliver_notifications
from app.use_cases.login import RequestLoginCode, request_login_code
from app.use_cases.member_privacy import EraseMember, erase_member
from app.use_cases.profile import UpdateMyProfile, update_my_profile
from domain.members import ConsentChannel
from domain.messages import MessageTemplate, StoredTemplate
from domain.notifications import Notification, NotificationKind
from tests.integration.test_outbox import BOX, login_ports
from tests.support.channel_fakes import Mailbox, smtp_server
from tests.support.fakes import FakeContacts, FixedClock, RecordingSms

pytestmark = pytest.mark.db

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
UowFactory = Callable[[], PostgresUnitOfWork]


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    with smtp_server() as running:
        yield running


async def a_member(
    engine: PostgresEngine,
    *,
    phone: str | None = None,
    email: str | None = "li.lei@example.com",
    language: str | None = None,
    consents: tuple[ConsentChannel, ...] = (),
) -> UUID:
    member_id = uuid4()
    async with engine.pool.acquire() as connection:
        await connection.execute(
            "INSERT INTO members (id, phone, email, name, preferred_language, tier_code,"
            " enrolled_at, consent_sms, consent_email, consent_push)"
            " VALUES ($1, $2, $3, 'Li Lei', $4, 'member', $5, $6, $7, false)",
            member_id,
            phone or f"+86139{member_id.int % 10**8:08d}",
            email,
            language,
            NOW - timedelta(days=30),
            ConsentChannel.SMS in consents,
            ConsentChannel.EMAIL in consents,
        )
        await connection.execute(
            "INSERT INTO points_accounts (member_id, updated_at) VALUES ($1, $2)", member_id, NOW
        )
        await connection.execute(
            "INSERT INTO member_cards (card_number, member_id, status, issued_at) "
            "VALUES ($1, $2, 'active', $3)",
            f"88{member_id.int % 10**14:014d}",
            member_id,
            NOW,
        )
    return member_id


def campaign_coupon(member_id: UUID, source: str = "campaign") -> Notification:
    return Notification.to_member(
        NotificationKind.COUPON_ISSUED,
        member_id,
        {"title": "10% off", "expires_at": "2026-07-01T15:59:59+00:00", "source": source},
        at=NOW,
    )


async def queue(uow_factory: UowFactory, *notifications: Notification) -> None:
    async with uow_factory() as uow:
        await uow.outbox.add_all(list(notifications))
        await uow.commit()


async def deliver(
    engine: PostgresEngine, smtp_port: int, sms: RecordingSms
) -> tuple[int, int, int]:
    clock = FixedClock(NOW)
    messenger = Messenger(
        directory=PostgresMessageDirectory(engine),
        renderer=SandboxedTemplates(),
        sms=sms,
        email=SmtpEmailSender(
            host="127.0.0.1",
            port=smtp_port,
            sender="members@shop.example",
            clock=clock,
            security="none",
        ),
        default_language="zh-CN",
    )
    report = await deliver_notifications(
        PostgresNotificationQueue(engine), clock, sms, messenger, secrets=BOX, login_codes=messenger
    )
    return report.delivered, report.retrying, report.dead


async def test_a_marketing_message_goes_by_email_in_the_members_language_to_one_who_consented(
    engine: PostgresEngine, uow_factory: UowFactory, mailbox: tuple[Mailbox, int]
) -> None:
    box, port = mailbox
    english = await a_member(engine, language="en-GB", consents=(ConsentChannel.EMAIL,))
    chinese = await a_member(engine, email=None, consents=(ConsentChannel.SMS,))
    sms = RecordingSms()
    await queue(uow_factory, campaign_coupon(english), campaign_coupon(chinese))

    assert await deliver(engine, port, sms) == (2, 0, 0)

    (mail,) = box.messages
    assert mail["Subject"] == "You have a new coupon"
    assert box.texts() == ["You have a new coupon: 10% off, valid until July 1, 2026."]
    assert [text for _, text in sms.sent] == ["您获得一张优惠券：10% off，有效期至2026年7月1日。"]
    template = sms.templates[0]
    assert template is not None
    assert (template.kind, template.language) == ("coupon_issued", "zh-CN")


async def test_a_withdrawal_stops_queued_marketing_but_not_a_receipt_of_the_members_own_action(
    engine: PostgresEngine, uow_factory: UowFactory, mailbox: tuple[Mailbox, int]
) -> None:
    box, port = mailbox
    member_id = await a_member(engine, consents=(ConsentChannel.EMAIL, ConsentChannel.SMS))
    points = Notification.to_member(
        NotificationKind.POINTS_EXPIRING,
        member_id,
        {"points": 500, "expires_on": "2026-06-30"},
        at=NOW,
    )
    await queue(uow_factory, campaign_coupon(member_id), points, campaign_coupon(member_id, "draw"))
    withdraw = UpdateMyProfile(
        member_id, consents={ConsentChannel.EMAIL: False, ConsentChannel.SMS: False}
    )
    async with uow_factory() as uow:  # after queueing, before the worker runs
        await update_my_profile(withdraw, uow, clock=FixedClock(NOW), contacts=FakeContacts())
        await uow.commit()
    sms = RecordingSms()

    assert await deliver(engine, port, sms) == (3, 0, 0)  # handled: two withheld, one sent

    assert box.texts() == ["您获得一张优惠券：10% off，有效期至2026年7月1日。"]  # the prize
    assert sms.sent == []


async def test_an_erased_member_is_sent_nothing_even_a_transactional_notice(
    engine: PostgresEngine, uow_factory: UowFactory, mailbox: tuple[Mailbox, int]
) -> None:
    box, port = mailbox
    member_id = await a_member(engine, consents=(ConsentChannel.EMAIL,))
    tier = Notification.to_member(
        NotificationKind.TIER_CHANGED, member_id, {"from": "member", "to": "member"}, at=NOW
    )
    await queue(uow_factory, tier)
    async with uow_factory() as uow:
        await erase_member(EraseMember(member_id, "admin:a"), uow, clock=FixedClock(NOW))
        await uow.commit()

    await deliver(engine, port, RecordingSms())

    assert box.messages == []


async def test_a_login_code_goes_in_the_phone_owners_language_with_the_admins_template(
    engine: PostgresEngine, uow_factory: UowFactory, mailbox: tuple[Mailbox, int]
) -> None:
    _, port = mailbox
    phone = "+8613800138000"
    await a_member(engine, phone=phone, language="en")
    async with uow_factory() as uow:
        await uow.message_templates.save(
            StoredTemplate(
                MessageTemplate(
                    NotificationKind.LOGIN_CODE,
                    "en",
                    "Code",
                    "Shop code {{ code }} ({{ minutes }} min)",
                ),
                NOW,
                "admin:a",
            )
        )
        await request_login_code(
            RequestLoginCode(phone, "10.0.0.1"), uow, login_ports(FixedClock(NOW))
        )
        await uow.commit()
    sms = RecordingSms()

    assert await deliver(engine, port, sms) == (1, 0, 0)

    ((to, text),) = sms.sent
    assert to == phone
    assert text.startswith("Shop code ")
    assert text.endswith("(5 min)")
    template = sms.templates[0]
    assert template is not None
    assert template.params["code"] == sms.last_code(phone)
