"""Which messages are marketing, which language a member reads, which channel carries it."""

from __future__ import annotations

from domain.members import ConsentChannel
from domain.messages import (
    DEFAULT_TEMPLATES,
    SAMPLE_CONTEXTS,
    SUPPORTED_LANGUAGES,
    Purpose,
    Recipient,
    choose_channel,
    message_language,
    purpose_of,
)
from domain.notifications import NotificationKind as K

BOTH = frozenset({ConsentChannel.EMAIL, ConsentChannel.SMS})


def member(
    *consents: ConsentChannel, email: str | None = "a@b.cn", phone: str | None = "+8613800138000"
) -> Recipient:
    return Recipient(
        phone=phone, email=email, preferred_language=None, consents=frozenset(consents)
    )


def test_campaign_coupons_birthdays_and_expiring_points_are_marketing_receipts_are_not() -> None:
    assert purpose_of(K.POINTS_EXPIRING, {}) is Purpose.MARKETING
    assert purpose_of(K.BIRTHDAY, {}) is Purpose.MARKETING
    assert purpose_of(K.COUPON_ISSUED, {"source": "campaign"}) is Purpose.MARKETING
    assert purpose_of(K.COUPON_ISSUED, {}) is Purpose.MARKETING  # older rows: the safe side
    assert purpose_of(K.COUPON_ISSUED, {"source": "draw"}) is Purpose.TRANSACTIONAL
    assert purpose_of(K.COUPON_ISSUED, {"source": "review"}) is Purpose.TRANSACTIONAL
    for kind in (K.LOGIN_CODE, K.TIER_CHANGED, K.REWARD_REDEEMED):
        assert purpose_of(kind, {}) is Purpose.TRANSACTIONAL


def test_the_members_language_wins_else_the_programmes() -> None:
    assert message_language("en-GB", "zh-CN") == "en"
    assert message_language("zh-Hant-TW", "en") == "zh-CN"
    assert message_language("fr", "en") == "en"
    assert message_language(None, "zh-CN") == "zh-CN"


def test_marketing_goes_only_on_a_consented_channel_email_first() -> None:
    assert choose_channel(member(), Purpose.MARKETING, BOTH) is None
    assert choose_channel(member(ConsentChannel.SMS), Purpose.MARKETING, BOTH) is ConsentChannel.SMS
    assert (
        choose_channel(member(ConsentChannel.EMAIL, ConsentChannel.SMS), Purpose.MARKETING, BOTH)
        is ConsentChannel.EMAIL
    )
    # Consent to push alone reaches no one: the service has no push channel.
    assert choose_channel(member(ConsentChannel.PUSH), Purpose.MARKETING, BOTH) is None


def test_transactional_messages_go_without_consent_on_a_reachable_channel() -> None:
    assert choose_channel(member(), Purpose.TRANSACTIONAL, BOTH) is ConsentChannel.EMAIL
    assert choose_channel(member(email=None), Purpose.TRANSACTIONAL, BOTH) is ConsentChannel.SMS
    sms_only = frozenset({ConsentChannel.SMS})
    assert choose_channel(member(), Purpose.TRANSACTIONAL, sms_only) is ConsentChannel.SMS
    assert choose_channel(member(email=None, phone=None), Purpose.TRANSACTIONAL, BOTH) is None


def test_every_kind_ships_a_template_in_every_language_with_sample_data() -> None:
    for kind in K:
        assert kind in SAMPLE_CONTEXTS
        for language in SUPPORTED_LANGUAGES:
            assert (kind, language) in DEFAULT_TEMPLATES
