"""A till that presents coupon codes by the hundred is guessing, not selling."""

from __future__ import annotations

import math
from datetime import datetime
from uuid import UUID

from domain.errors import RateLimited
from domain.login import RateLimit, RateLimiter


async def admit_coupon_codes(
    limiter: RateLimiter, rule: RateLimit, terminal_id: UUID | None, codes: int, now: datetime
) -> None:
    """Counts the codes a terminal presents; refuses (429) once it is over its limit.

    Every answer to a code that is not the member's own is the same, and codes carry 70
    random bits, so guessing is hopeless anyway; the limit makes it visibly so and keeps a
    compromised till from trying.
    """
    if codes == 0 or terminal_id is None:
        return
    retry = await limiter.hit(f"coupon-codes:terminal:{terminal_id}", rule, now, weight=codes)
    if retry is not None:
        raise RateLimited(
            math.ceil(retry.total_seconds()),
            "this till has presented too many coupon codes; try again later",
        )
