"""Coupons: templates an admin defines, coupons issued from them, and what they take off a sale.

A coupon keeps a copy of its template's terms as they were when it was issued: editing a
template makes a new version and never changes a coupon already in a member's wallet.

Discounts, in the order the coupons are presented:

- a coupon applies to its eligible lines (all lines, or those of its categories); its minimum
  spend is measured on the subtotal of those lines;
- fixed: its value; percent: value % of the eligible subtotal, rounded down to the minor unit;
- no coupon takes more than what is left to pay after the coupons before it, nor more than
  its eligible lines are worth: a discount never exceeds the amount;
- at most one coupon that is not stackable per sale; stackable coupons go with anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID
from zoneinfo import ZoneInfo

from domain.errors import InvalidInput
from domain.money import MAX_AMOUNT
from domain.program import end_of_day
from domain.sales import IN_STORE, ONLINE, SaleLine

MAX_NAME = 100
MAX_VALID_DAYS = 3660
MAX_CATEGORIES = 50
CHANNELS = frozenset({IN_STORE, ONLINE})


class CouponKind(StrEnum):
    FIXED = "fixed"  # value in minor units
    PERCENT = "percent"  # value in whole percent, 1-100


class CouponStatus(StrEnum):
    AVAILABLE = "available"
    REDEEMED = "redeemed"
    EXPIRED = "expired"
    VOIDED = "voided"  # withdrawn: a prize whose chance was revoked


class CouponSource(StrEnum):
    ADMIN = "admin"
    REVIEW = "review"
    DRAW = "draw"
    BIRTHDAY = "birthday"
    CAMPAIGN = "campaign"
    REWARD = "reward"  # bought from the reward catalogue with points


class Rejection(StrEnum):
    """Why a coupon does not apply to a basket: the quote's ``code_reason``.

    ``NOT_REDEEMABLE`` is all an untrusted caller ever learns about a code that is not the
    member's own (unknown, another member's, or presented without a member): the same answer
    for each, so that codes cannot be probed. The precise reasons are for the member's own.
    """

    NOT_REDEEMABLE = "not_redeemable"
    MALFORMED = "malformed"  # fails the check symbol: mistyped, never looked up
    DUPLICATE = "duplicate"  # the same coupon twice in one basket
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    REDEEMED = "redeemed"
    VOIDED = "voided"
    WRONG_CHANNEL = "wrong_channel"
    MIN_SPEND_NOT_MET = "min_spend_not_met"
    NO_ELIGIBLE_LINES = "no_eligible_lines"
    NOT_STACKABLE = "not_stackable"  # another coupon that is not stackable already applies
    NOTHING_LEFT_TO_PAY = "nothing_left_to_pay"


@dataclass(frozen=True, slots=True)
class CouponTerms:
    kind: CouponKind
    value: int
    min_spend: int = 0
    channels: frozenset[str] = CHANNELS
    stackable: bool = False
    categories: frozenset[str] = frozenset()  # empty: every line is eligible

    def __post_init__(self) -> None:
        if self.kind is CouponKind.PERCENT and not 1 <= self.value <= 100:
            raise InvalidInput("a percent coupon's value is between 1 and 100", field="value")
        if self.kind is CouponKind.FIXED and not 1 <= self.value <= MAX_AMOUNT:
            raise InvalidInput(
                f"a fixed coupon's value is between 1 and {MAX_AMOUNT} minor units", field="value"
            )
        if not 0 <= self.min_spend <= MAX_AMOUNT:
            raise InvalidInput(f"min_spend is between 0 and {MAX_AMOUNT}", field="min_spend")
        if not self.channels:
            raise InvalidInput("a coupon is valid in at least one channel", field="channels")
        if not self.channels <= CHANNELS:
            unknown = ", ".join(sorted(self.channels - CHANNELS))
            raise InvalidInput(f"unknown channel(s): {unknown}; use pos or web", field="channels")
        if len(self.categories) > MAX_CATEGORIES:
            raise InvalidInput(f"at most {MAX_CATEGORIES} categories", field="categories")

    def eligible(self, line: SaleLine) -> bool:
        return not self.categories or line.category in self.categories

    def discount_on(self, eligible_subtotal: int) -> int:
        """The discount before any cap: percent rounds down to the minor unit."""
        if self.kind is CouponKind.PERCENT:
            return eligible_subtotal * self.value // 100
        return self.value


@dataclass(frozen=True, slots=True)
class Validity:
    """Either a number of days from issue or a fixed window."""

    valid_days: int | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None

    def __post_init__(self) -> None:
        fixed = self.valid_from is not None or self.valid_until is not None
        if (self.valid_days is None) == (not fixed):
            raise InvalidInput(
                "give either valid_days or valid_from and valid_until", field="valid_days"
            )
        if self.valid_days is not None and not 1 <= self.valid_days <= MAX_VALID_DAYS:
            raise InvalidInput(f"valid_days is between 1 and {MAX_VALID_DAYS}", field="valid_days")
        if fixed:
            if self.valid_from is None or self.valid_until is None:
                raise InvalidInput("valid_from and valid_until go together", field="valid_until")
            if self.valid_from.tzinfo is None or self.valid_until.tzinfo is None:
                raise InvalidInput("validity times need a UTC offset", field="valid_from")
            if self.valid_until <= self.valid_from:
                raise InvalidInput("valid_until must be after valid_from", field="valid_until")

    def window_for(self, issued_at: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """(valid from, expires at) of a coupon issued at ``issued_at``.

        ``valid_days`` coupons run to the end of the local day ``valid_days`` days after the
        issue day: one issued on the 1st with 7 days can be used until the end of the 8th.
        """
        if self.valid_days is not None:
            issued_on = issued_at.astimezone(zone).date()
            return issued_at, end_of_day(issued_on + timedelta(days=self.valid_days), zone)
        assert self.valid_from is not None
        assert self.valid_until is not None
        return self.valid_from, self.valid_until

    def closed_at(self, now: datetime) -> bool:
        """True when no coupon can be issued any more: its window has ended."""
        return self.valid_until is not None and self.valid_until <= now


@dataclass(frozen=True, slots=True)
class CouponTemplate:
    id: UUID
    version: int
    name: str
    terms: CouponTerms
    validity: Validity
    per_member_limit: int | None = None
    total_limit: int | None = None
    issued: int = 0  # coupons issued from every version so far
    created_at: datetime | None = None
    retired_at: datetime | None = None  # retired: issues nothing more; its coupons stay valid

    def __post_init__(self) -> None:
        name = self.name.strip()
        if not 1 <= len(name) <= MAX_NAME:
            raise InvalidInput(f"a name has 1 to {MAX_NAME} characters", field="name")
        for limit, label in (
            (self.per_member_limit, "per_member_limit"),
            (self.total_limit, "total_limit"),
        ):
            if limit is not None and not 1 <= limit <= 10_000_000:
                raise InvalidInput(f"{label} is between 1 and 10000000", field=label)

    @property
    def active(self) -> bool:
        return self.retired_at is None

    def issues_at(self, now: datetime) -> bool:
        """True while coupons can be issued from it: not retired, its window not ended."""
        return self.active and not self.validity.closed_at(now)

    @property
    def remaining(self) -> int | None:
        return None if self.total_limit is None else max(self.total_limit - self.issued, 0)


@dataclass(slots=True)
class Coupon:
    id: UUID
    code: str  # canonical, see domain.coupon_codes
    member_id: UUID
    template_id: UUID
    template_version: int
    title: str
    terms: CouponTerms
    valid_from: datetime
    expires_at: datetime
    issued_at: datetime
    source: CouponSource = CouponSource.ADMIN
    status: CouponStatus = CouponStatus.AVAILABLE
    redeemed_at: datetime | None = None
    redeemed_sale_id: UUID | None = None

    def status_at(self, now: datetime) -> CouponStatus:
        """The status a member sees: an available coupon past its end reads as expired even
        before the expiry job has marked it."""
        if self.status is CouponStatus.AVAILABLE and now >= self.expires_at:
            return CouponStatus.EXPIRED
        return self.status

    def unusable_because(self, now: datetime, channel: str) -> Rejection | None:
        """Why the coupon cannot be used at all right now, whatever the basket."""
        status = self.status_at(now)
        if status is CouponStatus.EXPIRED:
            return Rejection.EXPIRED
        if status is CouponStatus.REDEEMED:
            return Rejection.REDEEMED
        if status is CouponStatus.VOIDED:
            return Rejection.VOIDED
        if now < self.valid_from:
            return Rejection.NOT_YET_VALID
        if channel not in self.terms.channels:
            return Rejection.WRONG_CHANNEL
        return None

    def usable(self, now: datetime, channel: str) -> bool:
        return self.unusable_because(now, channel) is None


@dataclass(frozen=True, slots=True)
class Presented:
    """A code as the till sent it, with the coupon it names if it is the member's own."""

    text: str
    coupon: Coupon | None
    malformed: bool = False


@dataclass(frozen=True, slots=True)
class CouponDiscount:
    applied: tuple[tuple[Coupon, int], ...] = ()  # (coupon, discount) in the order applied
    rejected: tuple[tuple[str, Rejection], ...] = field(default=())

    @property
    def total(self) -> int:
        return sum(amount for _, amount in self.applied)

    @property
    def coupons(self) -> tuple[Coupon, ...]:
        return tuple(coupon for coupon, _ in self.applied)


def apply_coupons(
    lines: Sequence[SaleLine], presented: Sequence[Presented], *, now: datetime, channel: str
) -> CouponDiscount:
    """What the presented coupons take off these lines (the rules are in the module doc)."""
    subtotal = sum(line.amount for line in lines)
    applied: list[tuple[Coupon, int]] = []
    rejected: list[tuple[str, Rejection]] = []
    seen: set[UUID] = set()
    exclusive_taken = False
    for item in presented:
        coupon = item.coupon
        if item.malformed:
            rejected.append((item.text, Rejection.MALFORMED))
            continue
        if coupon is None:
            rejected.append((item.text, Rejection.NOT_REDEEMABLE))
            continue
        if coupon.id in seen:
            rejected.append((item.text, Rejection.DUPLICATE))
            continue
        seen.add(coupon.id)
        reason = coupon.unusable_because(now, channel)
        if reason is None:
            reason, amount = _discount(coupon.terms, lines, subtotal - sum(a for _, a in applied))
            if reason is None and not coupon.terms.stackable:
                if exclusive_taken:
                    reason = Rejection.NOT_STACKABLE
                exclusive_taken = True
        if reason is not None:
            rejected.append((item.text, reason))
            continue
        applied.append((coupon, amount))
    return CouponDiscount(tuple(applied), tuple(rejected))


def _discount(
    terms: CouponTerms, lines: Sequence[SaleLine], left_to_pay: int
) -> tuple[Rejection | None, int]:
    eligible = sum(line.amount for line in lines if terms.eligible(line))
    if eligible == 0 and terms.categories:
        return Rejection.NO_ELIGIBLE_LINES, 0
    if eligible < terms.min_spend:
        return Rejection.MIN_SPEND_NOT_MET, 0
    if left_to_pay <= 0:
        return Rejection.NOTHING_LEFT_TO_PAY, 0
    return None, min(terms.discount_on(eligible), eligible, left_to_pay)
