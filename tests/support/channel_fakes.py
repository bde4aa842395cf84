"""Local stand-ins for the outside world the member channels talk to, started by the tests:
an SMTP server (aiosmtpd, a real server on a free port) and a fake of Aliyun's SMS API
(dysmsapi SendSms over HTTP) that checks each request's RPC signature, timestamp and nonce as
Aliyun documents them and records the messages it accepts."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope, Session

KEY_ID = "LTAI-test-key"
KEY_SECRET = "test-secret-of-the-fake"
SIGN_NAME = "会员中心"
TEMPLATES = "login_code=SMS_100,login_code.en=SMS_101,coupon_issued=SMS_200,birthday=SMS_300"


# SMTP ---------------------------------------------------------------------------------------


@dataclass
class Mailbox:
    messages: list[EmailMessage] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        message = message_from_bytes(raw, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 OK"

    def texts(self) -> list[str]:
        return [str(m.get_content()).strip() for m in self.messages]


@contextmanager
def smtp_server(
    *, username: str | None = None, password: str | None = None
) -> Iterator[tuple[Mailbox, int]]:
    """A real SMTP server on 127.0.0.1; with a username, it requires AUTH (over plain text,
    as a relay on localhost may)."""
    mailbox = Mailbox()
    kwargs: dict[str, Any] = {}
    if username is not None:

        def authenticate(
            server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
        ) -> Any:
            from aiosmtpd.smtp import AuthResult, LoginPassword

            ok = (
                isinstance(auth_data, LoginPassword)
                and auth_data.login.decode() == username
                and auth_data.password.decode() == password
            )
            if ok:
                mailbox.logins.append((username, mechanism))
            return AuthResult(success=ok)

        kwargs = {
            "authenticator": authenticate,
            "auth_required": True,
            "auth_require_tls": False,
        }
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


# Aliyun SMS ------------------------------------------------------------------------------


def _encode(value: str) -> str:
    return quote(value, safe="~")


def expected_signature(method: str, params: dict[str, str], secret: str) -> str:
    """Written from Aliyun's description of the RPC signature, apart from the adapter's code."""
    pairs = sorted((k, v) for k, v in params.items() if k != "Signature")
    canonical = "&".join(f"{_encode(k)}={_encode(v)}" for k, v in pairs)
    to_sign = "&".join([method, _encode("/"), _encode(canonical)])
    mac = hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(mac).decode()


@dataclass
class FakeAliyunSms:
    sent: list[dict[str, str]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    nonces: set[str] = field(default_factory=set)
    # Answer every request with this Code (an outage of the account, a blocked number).
    fail_with: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, method: str, params: dict[str, str]) -> tuple[int, dict[str, str]]:
        with self.lock:
            if params.get("AccessKeyId") != KEY_ID:
                return self._refuse(404, "InvalidAccessKeyId.NotFound")
            if params.get("Signature") != expected_signature(method, params, KEY_SECRET):
                return self._refuse(400, "SignatureDoesNotMatch")
            if (
                params.get("SignatureMethod") != "HMAC-SHA1"
                or params.get("SignatureVersion") != "1.0"
            ):
                return self._refuse(400, "InvalidSignatureMethod")
            stamp = datetime.strptime(params.get("Timestamp", ""), "%Y-%m-%dT%H:%M:%SZ")
            if abs(datetime.now(UTC) - stamp.replace(tzinfo=UTC)) > timedelta(minutes=15):
                return self._refuse(400, "InvalidTimeStamp.Expired")
            nonce = params.get("SignatureNonce", "")
            if not nonce or nonce in self.nonces:
                return self._refuse(400, "SignatureNonceUsed")
            self.nonces.add(nonce)
            if (params.get("Action"), params.get("Version")) != ("SendSms", "2017-05-25"):
                return self._refuse(400, "InvalidAction")
            if self.fail_with:
                return self._refuse(200, self.fail_with)
            for required in ("PhoneNumbers", "SignName", "TemplateCode"):
                if not params.get(required):
                    return self._refuse(400, f"MissingParameter.{required}")
            json.loads(params.get("TemplateParam", "{}"))
            self.sent.append(params)
            return 200, {
                "Code": "OK",
                "Message": "OK",
                "BizId": f"biz-{len(self.sent)}",
                "RequestId": nonce,
            }

    def _refuse(self, status: int, code: str) -> tuple[int, dict[str, str]]:
        self.refused.append(code)
        return status, {"Code": code, "Message": code, "RequestId": "r"}

    def codes_to(self, phone: str) -> list[str]:
        return [
            json.loads(p["TemplateParam"])["code"] for p in self.sent if p["PhoneNumbers"] == phone
        ]


@contextmanager
def aliyun_sms_server() -> Iterator[tuple[FakeAliyunSms, str]]:
    fake = FakeAliyunSms()

    class Handler(BaseHTTPRequestHandler):
        def _serve(self, params: dict[str, str]) -> None:
            status, body = fake.answer(self.command, params)
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json;charset=utf-8")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            self._serve(dict(parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True)))

        def do_GET(self) -> None:
            self._serve(dict(parse_qsl(self.path.partition("?")[2], keep_blank_values=True)))

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake, f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
