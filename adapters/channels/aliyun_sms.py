"""SMS through Aliyun's Short Message Service (dysmsapi, API version 2017-05-25, SendSms).

Why Aliyun: the programme's defaults are CNY, Asia/Shanghai and region CN, and a retailer in
mainland China sends SMS through a domestic provider; Aliyun's is the most used. Mainland
carriers accept only pre-approved signatures (SignName) and templates (TemplateCode), so the
request carries a template code and its parameters, never free text: the admin registers each
kind's text with Aliyun (the shipped templates are a starting point) and maps kinds to codes in
``LOYALTY_ALIYUN_SMS_TEMPLATES``. The text the service rendered is what the member sees once the
approved template says the same.

Requests are signed as Aliyun's RPC-style APIs are (signature version 1.0, HMAC-SHA1): the
parameters, common and business, sorted by name and percent-encoded per RFC 3986 (space as
%20, ``*`` as %2A, ``~`` kept) into a canonical query string; the string to sign is
``METHOD&%2F&`` + the percent-encoded canonical string; the signature is
base64(HMAC-SHA1(AccessKeySecret + "&", string to sign)) sent as the ``Signature`` parameter.
A fresh ``SignatureNonce`` per request and a UTC ``Timestamp`` let the API refuse replays.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from datetime import UTC
from urllib.parse import quote
from uuid import uuid4

import httpx

from domain.notifications import DeliveryFailed, SmsTemplate
from domain.ports import Clock

DEFAULT_ENDPOINT = "https://dysmsapi.aliyuncs.com/"
API_VERSION = "2017-05-25"


def percent_encode(value: str) -> str:
    return quote(value, safe="~")


def canonical_query(params: Mapping[str, str]) -> str:
    return "&".join(f"{percent_encode(k)}={percent_encode(params[k])}" for k in sorted(params))


def rpc_signature(method: str, params: Mapping[str, str], access_key_secret: str) -> str:
    """Aliyun's RPC signature (version 1.0, HMAC-SHA1) of the parameters without Signature."""
    string_to_sign = f"{method}&{percent_encode('/')}&{percent_encode(canonical_query(params))}"
    digest = hmac.new(
        (access_key_secret + "&").encode(), string_to_sign.encode(), hashlib.sha1
    ).digest()
    return base64.b64encode(digest).decode()


def aliyun_phone(e164: str) -> str:
    """Mainland numbers without the country code (13800138000); others with it, without +."""
    if e164.startswith("+86"):
        return e164[3:]
    return e164.lstrip("+")


class AliyunSmsSender:
    def __init__(
        self,
        *,
        access_key_id: str,
        access_key_secret: str,
        sign_name: str,
        template_codes: Mapping[str, str],
        clock: Clock,
        endpoint: str = DEFAULT_ENDPOINT,
        region: str = "cn-hangzhou",
        timeout_seconds: float = 10.0,
        nonce: Callable[[], str] = lambda: str(uuid4()),
    ) -> None:
        self._key_id = access_key_id
        self._secret = access_key_secret
        self._sign_name = sign_name
        self._codes = dict(template_codes)
        self._clock = clock
        self._endpoint = endpoint
        self._region = region
        self._timeout = httpx.Timeout(timeout_seconds)
        self._nonce = nonce

    def template_code(self, template: SmsTemplate) -> str:
        code = self._codes.get(f"{template.kind}.{template.language}") or self._codes.get(
            template.kind
        )
        if code is None:
            raise DeliveryFailed(
                f"no Aliyun template code for {template.kind} ({template.language}); "
                "map it in LOYALTY_ALIYUN_SMS_TEMPLATES"
            )
        return code

    def signed_params(self, phone: str, template: SmsTemplate) -> dict[str, str]:
        params = {
            "AccessKeyId": self._key_id,
            "Action": "SendSms",
            "Format": "JSON",
            "RegionId": self._region,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": self._nonce(),
            "SignatureVersion": "1.0",
            "Timestamp": self._clock.now().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": API_VERSION,
            "PhoneNumbers": aliyun_phone(phone),
            "SignName": self._sign_name,
            "TemplateCode": self.template_code(template),
            "TemplateParam": json.dumps(dict(template.params), ensure_ascii=False),
        }
        params["Signature"] = rpc_signature("POST", params, self._secret)
        return params

    async def send(self, phone: str, text: str, *, template: SmsTemplate | None = None) -> None:
        if template is None:
            raise DeliveryFailed("Aliyun SMS sends approved templates only, not free text")
        params = self.signed_params(phone, template)
        try:
            async with httpx.AsyncClient(timeout=self._timeout, follow_redirects=False) as client:
                response = await client.post(self._endpoint, data=params)
        except httpx.HTTPError as error:
            raise DeliveryFailed(f"Aliyun SMS unreachable: {type(error).__name__}") from error
        try:
            answer = response.json()
        except ValueError:
            raise DeliveryFailed(f"Aliyun SMS answered {response.status_code}") from None
        if not isinstance(answer, dict) or answer.get("Code") != "OK":
            code = answer.get("Code") if isinstance(answer, dict) else None
            message = answer.get("Message") if isinstance(answer, dict) else None
            raise DeliveryFailed(f"Aliyun SMS refused ({response.status_code}): {code}: {message}")
