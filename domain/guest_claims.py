"""Claims of guest sales: a member who forgot their card claims the sale afterwards.

A guest sale recorded at a till gets a claim code the till prints on the receipt. Within the
programme's ``guest_claim_days`` of the purchase, the member claims it once: in the app with
the code, or at a till that looks the member up and names the receipt. The sale becomes the
member's, and the points are earned as if the member had been named at the till, by the same
earn calculation the sale itself uses (dated by the purchase: lots expire from it).

A sale is claimed at most once: the claim locks the sale's row and a claimed sale names its
member. A sale already refunded (in part or in full) cannot be claimed; a claimed sale is
refunded like any member's sale, its points reversed with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol
from uuid import UUID

from domain.sales import Sale

MAX_CLAIM_DAYS = 365
CLAIMED_IN_APP = "app"
CLAIMED_AT_TILL = "pos"


@dataclass(slots=True)
class GuestSaleClaim:
    sale_id: UUID
    code: str | None  # canonical; None for a guest sale recorded without one (claimed at a till)
    member_id: UUID | None = None
    claimed_at: datetime | None = None
    claimed_via: str | None = None  # "app" or "pos"
    terminal_id: UUID | None = None  # the till that took a claim at a till


def claim_window_open(occurred_at: datetime, now: datetime, days: int) -> bool:
    """A sale can be claimed up to ``days`` x 24 hours after it happened; 0: claims are off."""
    return days > 0 and now - occurred_at <= timedelta(days=days)


class GuestClaimRepository(Protocol):
    async def add(self, claim: GuestSaleClaim) -> bool:
        """Stores a guest sale's claim code; False when the code is taken (draw another)."""
        ...

    async def sale_for_code(self, code: str) -> UUID | None:
        """The sale a canonical claim code was printed for."""
        ...

    async def of_sale(self, sale_id: UUID) -> GuestSaleClaim | None: ...

    async def attach(self, sale: Sale, claim: GuestSaleClaim) -> None:
        """The sale becomes ``claim.member_id``'s with ``sale.pricing.points_earned`` (its
        lines too), and the claim is kept (the caller holds the sale's lock)."""
        ...
