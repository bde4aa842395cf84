"""Terminal secrets: generated with 256 bits of entropy, stored only as a hash.

A fast hash is the right tool for secrets this long: nobody can brute-force 2**256, so a slow
password KDF would only slow down every terminal login.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from domain.ports import RandomSource

SECRET_BYTES = 32


def new_secret(random: RandomSource) -> str:
    return base64.urlsafe_b64encode(random.token_bytes(SECRET_BYTES)).rstrip(b"=").decode()


def hash_secret(secret: str) -> str:
    return "sha256$" + hashlib.sha256(secret.encode()).hexdigest()


def verify_secret(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret), stored_hash)
