"""Spend-threshold prize draws: chances earned by spending, prizes drawn by weight.

A purchase in a campaign's window whose payable amount reaches the threshold earns one chance,
or one per whole multiple of the threshold. Playing a chance draws one prize among those still
in stock, each with probability weight / (sum of the weights in stock): the odds published are
computed by the same function the draw uses. A refund that takes the purchase below what its
chances needed revokes the chances it no longer earns, unplayed ones first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from fractions import Fraction
from uuid import UUID

from domain.errors import DrawCampaignNotRunning, DrawCampaignStarted, InvalidInput
from domain.money import MAX_AMOUNT
from domain.ports import RandomSource

MAX_PRIZES = 50
MAX_WEIGHT = 1_000_000
MAX_CHANCES_PER_PURCHASE = 100
MAX_CHANCE_VALID_DAYS = 3660


class ChanceRule(StrEnum):
    ONE = "one"  # one chance per qualifying purchase
    PER_MULTIPLE = "per_multiple"  # one per whole multiple of the threshold


class ChanceStatus(StrEnum):
    UNPLAYED = "unplayed"
    PLAYED = "played"
    REVOKED = "revoked"


@dataclass(frozen=True, slots=True)
class Prize:
    code: str
    name: str
    weight: int
    template_id: UUID | None = None  # the coupon the prize gives; None: a prize without one
    stock: int | None = None  # None: unlimited; otherwise what is left

    def __post_init__(self) -> None:
        if (
            not 1 <= len(self.code) <= 32
            or not self.code.replace("_", "").replace("-", "").isalnum()
        ):
            raise InvalidInput(
                "a prize code has 1-32 letters, digits, '-' or '_'", field="prizes.code"
            )
        if not 1 <= len(self.name.strip()) <= 100:
            raise InvalidInput("a prize name has 1 to 100 characters", field="prizes.name")
        if not 1 <= self.weight <= MAX_WEIGHT:
            raise InvalidInput(f"a weight is between 1 and {MAX_WEIGHT}", field="prizes.weight")
        if self.stock is not None and not 0 <= self.stock <= 100_000_000:
            raise InvalidInput("stock is between 0 and 100000000", field="prizes.stock")

    @property
    def in_stock(self) -> bool:
        return self.stock is None or self.stock > 0


@dataclass(frozen=True, slots=True)
class DrawCampaign:
    id: UUID
    name: str
    threshold: int
    chances: ChanceRule
    chance_valid_days: int
    starts_at: datetime
    ends_at: datetime
    prizes: tuple[Prize, ...]
    created_at: datetime | None = None

    def __post_init__(self) -> None:
        if not 1 <= len(self.name.strip()) <= 100:
            raise InvalidInput("a name has 1 to 100 characters", field="name")
        if not 1 <= self.threshold <= MAX_AMOUNT:
            raise InvalidInput(f"threshold is between 1 and {MAX_AMOUNT}", field="threshold")
        if not 1 <= self.chance_valid_days <= MAX_CHANCE_VALID_DAYS:
            raise InvalidInput(
                f"chance_valid_days is between 1 and {MAX_CHANCE_VALID_DAYS}",
                field="chance_valid_days",
            )
        if self.starts_at.tzinfo is None or self.ends_at.tzinfo is None:
            raise InvalidInput("starts_at and ends_at need a UTC offset", field="starts_at")
        if self.ends_at <= self.starts_at:
            raise InvalidInput("ends_at must be after starts_at", field="ends_at")
        if not 1 <= len(self.prizes) <= MAX_PRIZES:
            raise InvalidInput(f"a campaign has 1 to {MAX_PRIZES} prizes", field="prizes")
        codes = [prize.code for prize in self.prizes]
        if len(set(codes)) != len(codes):
            raise InvalidInput("prize codes must be unique", field="prizes.code")

    def runs_at(self, at: datetime) -> bool:
        return self.starts_at <= at < self.ends_at

    def revised(self, definition: DrawCampaign, at: datetime) -> DrawCampaign:
        """This campaign as ``definition`` says (same id and creation), while it has not
        started: once a purchase could have earned a chance, its terms hold to the end."""
        if at >= self.starts_at:
            raise DrawCampaignStarted()
        return replace(definition, id=self.id, created_at=self.created_at)

    def ended(self, at: datetime) -> DrawCampaign:
        """The campaign ended early at ``at``: purchases from then on earn no chance; the
        chances already earned can still be played until they expire."""
        if not self.runs_at(at):
            raise DrawCampaignNotRunning(
                "the campaign has not started yet (edit its dates instead)"
                if at < self.starts_at
                else "the campaign has already ended"
            )
        # At the very instant it started, it ends a microsecond later: a window is never empty.
        return replace(self, ends_at=max(at, self.starts_at + timedelta(microseconds=1)))

    def chances_for(self, payable: int) -> int:
        """How many chances a purchase of ``payable`` earns."""
        if payable < self.threshold:
            return 0
        if self.chances is ChanceRule.ONE:
            return 1
        return min(payable // self.threshold, MAX_CHANCES_PER_PURCHASE)

    def chance_expires_at(self, granted_at: datetime) -> datetime:
        return granted_at + timedelta(days=self.chance_valid_days)


@dataclass(frozen=True, slots=True)
class Odds:
    code: str
    name: str
    weight: int
    stock: int | None
    probability: Fraction


def odds(prizes: Sequence[Prize]) -> list[Odds]:
    """The chance of each prize on the next draw: out-of-stock prizes drop out and the
    remaining weights are renormalised."""
    total = sum(prize.weight for prize in prizes if prize.in_stock)
    return [
        Odds(
            prize.code,
            prize.name,
            prize.weight,
            prize.stock,
            Fraction(prize.weight, total) if prize.in_stock and total else Fraction(0),
        )
        for prize in prizes
    ]


def draw(prizes: Sequence[Prize], random: RandomSource) -> Prize | None:
    """One prize by weight among those in stock; None when every prize is out of stock."""
    in_stock = [prize for prize in prizes if prize.in_stock]
    total = sum(prize.weight for prize in in_stock)
    if total == 0:
        return None
    ticket = random.randbelow(total)
    for prize in in_stock:
        if ticket < prize.weight:
            return prize
        ticket -= prize.weight
    raise AssertionError("unreachable: the ticket is below the total weight")


@dataclass(frozen=True, slots=True)
class Chance:
    id: UUID
    campaign_id: UUID
    member_id: UUID
    sale_id: UUID
    granted_at: datetime
    expires_at: datetime
    status: ChanceStatus = ChanceStatus.UNPLAYED
    played_at: datetime | None = None
    prize_code: str | None = None
    coupon_id: UUID | None = None

    def playable(self, now: datetime) -> bool:
        return self.status is ChanceStatus.UNPLAYED and now < self.expires_at


def chances_to_revoke(chances: Sequence[Chance], entitled: int) -> list[Chance]:
    """Which of a purchase's chances in one campaign a refund takes back, leaving
    ``entitled``: unplayed ones first (nothing was won with them), then played ones."""
    active = [c for c in chances if c.status is not ChanceStatus.REVOKED]
    excess = len(active) - max(entitled, 0)
    if excess <= 0:
        return []
    ordered = sorted(
        active, key=lambda c: (c.status is ChanceStatus.PLAYED, -c.granted_at.timestamp())
    )
    return ordered[:excess]
