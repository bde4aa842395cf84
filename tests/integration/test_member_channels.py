# ruff: noqa: RUF001 (Chinese text uses full-width punctuation)
"""The member channels against local stand-ins of the outside world: e-mail to a real SMTP
server (aiosmtpd) and SMS to a fake of Aliyun's SMS API that checks the request signature."""

from __future__ import annotations

import json

import pytest

from adapters.channels.aliyun_sms import AliyunSmsSender, aliyun_phone, rpc_signature
from adapters.channels.smtp import SmtpEmailSender
from adapters.system import SystemClock
from domain.notifications import DeliveryFailed, SmsTemplate
from tests.support.channel_fakes import (
    KEY_ID,
    KEY_SECRET,
    SIGN_NAME,
    aliyun_sms_server,
    smtp_server,
)

PHONE = "+8613800138000"
# The local relay takes AUTH without TLS, as one on the same host may; aiosmtpd warns.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
LOGIN = SmsTemplate("login_code", "zh-CN", {"code": "246810", "minutes": "5"})


def aliyun(endpoint: str, *, secret: str = KEY_SECRET, nonce: str | None = None) -> AliyunSmsSender:
    return AliyunSmsSender(
        access_key_id=KEY_ID,
        access_key_secret=secret,
        sign_name=SIGN_NAME,
        template_codes={"login_code": "SMS_100", "login_code.en": "SMS_101"},
        clock=SystemClock(),
        endpoint=endpoint,
        **({"nonce": lambda: nonce} if nonce else {}),
    )


def test_the_rpc_signature_matches_the_worked_examples_in_aliyuns_documentation() -> None:
    # The SMS API's own example (HTTP protocol and signature page of dysmsapi) ...
    sms = {
        "AccessKeyId": "testId",
        "Action": "SendSms",
        "Format": "XML",
        "OutId": "123",
        "PhoneNumbers": "15300000001",
        "RegionId": "cn-hangzhou",
        "SignName": "阿里云短信测试专用",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
        "SignatureVersion": "1.0",
        "TemplateCode": "SMS_71390007",
        "TemplateParam": '{"customer":"test"}',
        "Timestamp": "2017-07-12T02:42:19Z",
        "Version": "2017-05-25",
    }
    # ... and the RPC signature's general example (ECS DescribeRegions).
    ecs = {
        "AccessKeyId": "testid",
        "Action": "DescribeRegions",
        "Format": "XML",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
        "SignatureVersion": "1.0",
        "Timestamp": "2016-02-23T12:46:24Z",
        "Version": "2014-05-26",
    }

    assert rpc_signature("GET", sms, "testSecret") == "zJDF+Lrzhj/ThnlvIToysFRq6t4="
    assert rpc_signature("GET", ecs, "testsecret") == "OLeaidS1JvxuMvnyHOwuJ+uX5qY="


def test_mainland_numbers_go_without_the_country_code_and_others_with_it() -> None:
    assert aliyun_phone("+8613800138000") == "13800138000"
    assert aliyun_phone("+85261234567") == "85261234567"


async def test_a_login_code_reaches_the_aliyun_api_signed_as_a_template_with_parameters() -> None:
    with aliyun_sms_server() as (fake, endpoint):
        await aliyun(endpoint).send(PHONE, "您的登录验证码为246810", template=LOGIN)
        await aliyun(endpoint).send(
            PHONE,
            "Your login code is 135790",
            template=SmsTemplate("login_code", "en", {"code": "135790", "minutes": "5"}),
        )

    assert fake.refused == []
    first, second = fake.sent
    assert first["PhoneNumbers"] == "13800138000"
    assert first["SignName"] == SIGN_NAME
    assert (first["TemplateCode"], second["TemplateCode"]) == ("SMS_100", "SMS_101")
    assert json.loads(first["TemplateParam"]) == {"code": "246810", "minutes": "5"}
    assert first["SignatureNonce"] != second["SignatureNonce"]


async def test_a_wrong_secret_is_refused_by_the_api_and_the_send_fails_to_be_retried() -> None:
    with (
        aliyun_sms_server() as (fake, endpoint),
        pytest.raises(DeliveryFailed, match="SignatureDoesNotMatch"),
    ):
        await aliyun(endpoint, secret="not-the-secret").send(PHONE, "x", template=LOGIN)

    assert fake.sent == []


async def test_a_replayed_nonce_and_a_business_refusal_fail_the_send() -> None:
    with aliyun_sms_server() as (fake, endpoint):
        sender = aliyun(endpoint, nonce="same-nonce")
        await sender.send(PHONE, "x", template=LOGIN)
        with pytest.raises(DeliveryFailed, match="SignatureNonceUsed"):
            await sender.send(PHONE, "x", template=LOGIN)
        fake.fail_with = "isv.BUSINESS_LIMIT_CONTROL"
        with pytest.raises(DeliveryFailed, match="BUSINESS_LIMIT_CONTROL"):
            await aliyun(endpoint).send(PHONE, "x", template=LOGIN)

    assert len(fake.sent) == 1


async def test_free_text_and_an_unmapped_kind_are_not_sent_to_aliyun() -> None:
    with aliyun_sms_server() as (fake, endpoint):
        with pytest.raises(DeliveryFailed, match="templates only"):
            await aliyun(endpoint).send(PHONE, "hello")
        with pytest.raises(DeliveryFailed, match="LOYALTY_ALIYUN_SMS_TEMPLATES"):
            await aliyun(endpoint).send(PHONE, "x", template=SmsTemplate("birthday", "en", {}))

    assert fake.sent == []


async def test_an_unreachable_gateway_is_a_failed_delivery() -> None:
    with aliyun_sms_server() as (_, endpoint):
        pass  # stopped: nothing listens there any more
    with pytest.raises(DeliveryFailed, match="unreachable"):
        await aliyun(endpoint).send(PHONE, "x", template=LOGIN)


async def test_an_email_reaches_the_smtp_server_in_utf8_with_login() -> None:
    with smtp_server(username="loyalty", password="relay-pass") as (mailbox, port):
        sender = SmtpEmailSender(
            host="127.0.0.1",
            port=port,
            sender="会员中心 <members@shop.example>",
            clock=SystemClock(),
            username="loyalty",
            password="relay-pass",
            security="none",
        )
        await sender.send_email("li.lei@example.com", "生日快乐", "李雷生日快乐！")

    (message,) = mailbox.messages
    assert message["To"] == "li.lei@example.com"
    assert message["Subject"] == "生日快乐"
    assert mailbox.texts() == ["李雷生日快乐！"]
    assert [user for user, _ in mailbox.logins] == ["loyalty"]


async def test_a_refused_login_at_the_smtp_server_is_a_failed_delivery() -> None:
    with smtp_server(username="loyalty", password="relay-pass") as (mailbox, port):
        sender = SmtpEmailSender(
            host="127.0.0.1",
            port=port,
            sender="members@shop.example",
            clock=SystemClock(),
            username="loyalty",
            password="wrong",
            security="none",
        )
        with pytest.raises(DeliveryFailed, match="SMTP"):
            await sender.send_email("li.lei@example.com", "s", "t")

    assert mailbox.messages == []
