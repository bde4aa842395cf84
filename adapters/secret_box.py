"""AES-256-GCM for secrets that must be read back once (a login code waiting in the outbox).

The key is derived from the service secret; a sealed value is base64url(nonce | ciphertext |
tag), and the purpose is bound as associated data, so a value sealed for one use never opens
for another.
"""

from __future__ import annotations

import base64
import binascii
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_NONCE_BYTES = 12


class AesGcmSecretBox:
    def __init__(self, key: bytes, purpose: bytes = b"loyalty/outbox") -> None:
        if len(key) != 32:
            raise ValueError("AES-256-GCM needs a 32-byte key")
        self._aead = AESGCM(key)
        self._purpose = purpose

    def seal(self, secret: str) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = nonce + self._aead.encrypt(nonce, secret.encode(), self._purpose)
        return base64.urlsafe_b64encode(sealed).decode()

    def open(self, sealed: str) -> str:
        try:
            raw = base64.urlsafe_b64decode(sealed.encode())
            nonce, ciphertext = raw[:_NONCE_BYTES], raw[_NONCE_BYTES:]
            return self._aead.decrypt(nonce, ciphertext, self._purpose).decode()
        except (InvalidTag, binascii.Error, ValueError) as error:
            raise ValueError("not sealed by this box") from error
