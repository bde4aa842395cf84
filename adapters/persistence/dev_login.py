"""Development only: the newest login-code message to a phone, as the outbox holds it.

`loyalty dev otp` reads it so that a developer without an SMS gateway can log in. The code
waits in the outbox sealed (domain.notifications.SecretBox) until it is sent, and the sender
erases it then; the CLI refuses to run in production (app.wiring.cli).
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

_NEWEST = """
SELECT payload->>'sealed_code' AS sealed_code, delivered_at IS NOT NULL AS delivered
FROM outbox WHERE kind = 'login_code' AND phone = $1
ORDER BY id DESC LIMIT 1
"""


@dataclass(frozen=True, slots=True)
class NewestLoginCode:
    sealed_code: str | None  # None once the message was sent (the sender erases it)
    delivered: bool


async def newest_login_code(database_url: str, phone: str) -> NewestLoginCode | None:
    connection = await asyncpg.connect(database_url)
    try:
        row = await connection.fetchrow(_NEWEST, phone)
    finally:
        await connection.close()
    if row is None:
        return None
    return NewestLoginCode(row["sealed_code"], row["delivered"])
