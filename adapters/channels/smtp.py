"""Member e-mail through an SMTP server (the retailer's relay or a provider's SMTP endpoint).

Plain text in UTF-8, one message per connection (the outbox worker sends a few at a time, and
a fresh connection survives a relay that drops idle ones). ``security`` is ``starttls`` (port
587, the usual submission), ``tls`` (implicit TLS, port 465) or ``none`` (a relay on the same
host or network, and the tests' local server).
"""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import aiosmtplib

from domain.notifications import DeliveryFailed
from domain.ports import Clock

SECURITY_MODES = ("starttls", "tls", "none")


class SmtpEmailSender:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        clock: Clock,
        username: str | None = None,
        password: str | None = None,
        security: str = "starttls",
        timeout_seconds: float = 10.0,
    ) -> None:
        if security not in SECURITY_MODES:
            raise ValueError(f"security must be one of {SECURITY_MODES}")
        self._host = host
        self._port = port
        self._sender = sender
        self._clock = clock
        self._username = username
        self._password = password
        self._security = security
        self._timeout = timeout_seconds

    def message(self, to: str, subject: str, text: str) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self._sender
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = format_datetime(self._clock.now())
        message["Message-ID"] = make_msgid(domain=self._sender.rpartition("@")[2] or None)
        message.set_content(text, charset="utf-8")
        return message

    async def send_email(self, to: str, subject: str, text: str) -> None:
        try:
            await aiosmtplib.send(
                self.message(to, subject, text),
                hostname=self._host,
                port=self._port,
                username=self._username,
                password=self._password,
                use_tls=self._security == "tls",
                start_tls=self._security == "starttls",
                timeout=self._timeout,
            )
        except (aiosmtplib.SMTPException, OSError) as error:
            raise DeliveryFailed(f"SMTP: {type(error).__name__}: {error}") from error
