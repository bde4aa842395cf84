"""LOYALTY_MESSAGES and the channels' settings: production must say whether messages leave."""

from __future__ import annotations

import pytest

from adapters.channels.aliyun_sms import AliyunSmsSender
from adapters.channels.smtp import SmtpEmailSender
from adapters.notifications import (
    ConsoleEmailSender,
    ConsoleSmsSender,
    LogEmailSender,
    LogSmsSender,
)
from app.settings import Settings, SettingsError
from app.wiring.composition import email_sender, sms_sender

PRODUCTION = {
    "LOYALTY_ENV": "production",
    "LOYALTY_JWT_SECRET": "p" * 40,
    "LOYALTY_SHOP_WEBHOOK_SECRET": "shop-secret",
    "STRIPE_WEBHOOK_SECRET": "whsec_production",
    "DATABASE_URL": "postgresql://db/loyalty",
}
ALIYUN = {
    "LOYALTY_ALIYUN_ACCESS_KEY_ID": "LTAI-id",
    "LOYALTY_ALIYUN_ACCESS_KEY_SECRET": "secret",
    "LOYALTY_ALIYUN_SMS_SIGN_NAME": "会员中心",
    "LOYALTY_ALIYUN_SMS_TEMPLATES": "login_code=SMS_1, login_code.en=SMS_2",
}


def test_production_refuses_to_start_without_saying_whether_messages_leave() -> None:
    with pytest.raises(SettingsError, match="LOYALTY_MESSAGES"):
        Settings.from_env(PRODUCTION)


def test_production_refuses_the_printing_stand_ins() -> None:
    with pytest.raises(SettingsError, match="prints login codes"):
        Settings.from_env({**PRODUCTION, "LOYALTY_MESSAGES": "log"})


def test_production_starts_with_the_stand_ins_when_told_no_message_leaves() -> None:
    settings = Settings.from_env({**PRODUCTION, "LOYALTY_MESSAGES": "none"})

    assert isinstance(sms_sender(settings), LogSmsSender)
    assert isinstance(email_sender(settings), LogEmailSender)


def test_live_needs_aliyuns_credentials_signature_and_a_login_code_template() -> None:
    with pytest.raises(SettingsError, match="LOYALTY_ALIYUN_ACCESS_KEY_SECRET"):
        Settings.from_env(
            {**PRODUCTION, "LOYALTY_MESSAGES": "live", "LOYALTY_ALIYUN_ACCESS_KEY_ID": "x"}
        )
    no_login = {**ALIYUN, "LOYALTY_ALIYUN_SMS_TEMPLATES": "birthday=SMS_3"}
    with pytest.raises(SettingsError, match="login_code"):
        Settings.from_env({**PRODUCTION, "LOYALTY_MESSAGES": "live", **no_login})
    with pytest.raises(SettingsError, match="TEMPLATE_CODE"):
        Settings.from_env(
            {
                **PRODUCTION,
                "LOYALTY_MESSAGES": "live",
                **ALIYUN,
                "LOYALTY_ALIYUN_SMS_TEMPLATES": "login_code",
            }
        )


def test_live_sends_sms_through_aliyun_and_email_through_smtp_when_configured() -> None:
    sms_only = Settings.from_env({**PRODUCTION, "LOYALTY_MESSAGES": "live", **ALIYUN})
    with_mail = Settings.from_env(
        {
            **PRODUCTION,
            "LOYALTY_MESSAGES": "live",
            **ALIYUN,
            "LOYALTY_SMTP_HOST": "smtp.example.com",
            "LOYALTY_SMTP_FROM": "members@example.com",
            "LOYALTY_SMTP_PORT": "465",
            "LOYALTY_SMTP_SECURITY": "tls",
        }
    )

    assert sms_only.sms_template_codes() == {"login_code": "SMS_1", "login_code.en": "SMS_2"}
    assert isinstance(sms_sender(sms_only), AliyunSmsSender)
    assert email_sender(sms_only) is None  # members are reached by SMS only
    assert isinstance(email_sender(with_mail), SmtpEmailSender)
    with pytest.raises(SettingsError, match="LOYALTY_SMTP_FROM"):
        Settings.from_env(
            {**PRODUCTION, "LOYALTY_MESSAGES": "none", "LOYALTY_SMTP_HOST": "smtp.example.com"}
        )
    with pytest.raises(SettingsError, match="LOYALTY_SMTP_SECURITY"):
        Settings.from_env({"LOYALTY_SMTP_SECURITY": "ssl3"})


def test_a_development_machine_prints_messages_by_default() -> None:
    settings = Settings.from_env({})

    assert settings.message_mode == "log"
    assert isinstance(sms_sender(settings), ConsoleSmsSender)
    assert isinstance(email_sender(settings), ConsoleEmailSender)
    with pytest.raises(SettingsError, match="live, log or none"):
        Settings.from_env({"LOYALTY_MESSAGES": "maybe"})
    with pytest.raises(SettingsError, match="zh-CN or en"):
        Settings.from_env({"LOYALTY_MESSAGE_LANGUAGE": "fr"})
