"""Webhook signatures: the ports that check a sender's signature on the raw body, before it
is parsed, so that a forged request learns nothing about the schema."""

from __future__ import annotations

from typing import Protocol


class SignatureRefused(Exception):
    """A webhook whose signature does not hold, checked on the raw body before it is parsed;
    ``code`` is the problem's stable code (signature_missing, _invalid, _expired)."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


class WebhookSignatures(Protocol):
    def verify(self, header: str | None, body: bytes, *, now: float) -> None:
        """Returns if ``header`` signs ``body`` with a configured secret at a time within the
        tolerance of ``now`` (Unix seconds), either way; raises SignatureRefused otherwise."""
        ...
