"""The programme's settings: currency, time zone, how points are earned and what they are worth."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from domain.crm import CrmSettings
from domain.errors import InvalidInput
from domain.money import currency_exponent, floor_int, require_currency, require_decimal

MAX_EARN_RATE = Decimal(1000)
MAX_POINT_VALUE = Decimal(1_000_000)
MAX_PENDING_DAYS = 365
MAX_GUEST_CLAIM_DAYS = 365
RATE_PLACES = 4  # NUMERIC(12, 4) in the database


@cache
def _time_zones() -> frozenset[str]:
    # Scanning the zone database takes milliseconds; settings are built on every sale.
    return frozenset(available_timezones())


class ExpiryKind(StrEnum):
    NEVER = "never"
    DAYS = "days"  # N days after earning
    END_OF_MONTH = "end_of_month"  # end of the month N months after earning
    END_OF_YEAR = "end_of_year"  # end of the year after earning


def end_of_day(day: date, zone: ZoneInfo) -> datetime:
    """The instant a local calendar day ends (the next local midnight), as an aware datetime.

    Points "expire at the end of the day": they can be spent until this instant, not at it.
    """
    local = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=zone)
    # Stored and compared in UTC: arithmetic on zone-aware datetimes is wall-clock arithmetic.
    return local.astimezone(UTC)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + (day.month - 1) + months
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True, slots=True)
class PointsExpiryRule:
    kind: ExpiryKind = ExpiryKind.NEVER
    count: int | None = None

    def expiry_for(self, earned_at: datetime, zone: ZoneInfo) -> datetime | None:
        """When points earned at ``earned_at`` expire, at the end of a day in ``zone``."""
        earned_on = earned_at.astimezone(zone).date()
        if self.kind is ExpiryKind.NEVER:
            return None
        if self.kind is ExpiryKind.DAYS:
            return end_of_day(earned_on + timedelta(days=self.count or 0), zone)
        if self.kind is ExpiryKind.END_OF_MONTH:
            first_of_next = _add_months(earned_on, (self.count or 0) + 1)
            return end_of_day(first_of_next - timedelta(days=1), zone)
        return end_of_day(date(earned_on.year + 1, 12, 31), zone)

    def __post_init__(self) -> None:
        needs_count = self.kind in (ExpiryKind.DAYS, ExpiryKind.END_OF_MONTH)
        # End of month 0 is the end of the month of earning; 0 days would expire at once.
        lowest = 0 if self.kind is ExpiryKind.END_OF_MONTH else 1
        if needs_count and (self.count is None or not lowest <= self.count <= 3660):
            raise InvalidInput(
                f"expiry rule {self.kind.value!r} needs a count between {lowest} and 3660",
                field="points_expiry.count",
            )
        if not needs_count and self.count is not None:
            raise InvalidInput(
                f"expiry rule {self.kind.value!r} takes no count", field="points_expiry.count"
            )


@dataclass(frozen=True, slots=True)
class ProgramSettings:
    currency: str
    time_zone: str
    earn_rate: Decimal  # points per whole currency unit of payable amount
    point_value: Decimal  # minor units of money one point is worth when redeemed
    points_expiry: PointsExpiryRule
    pending_days: int  # online points stay pending this long unless the order completes
    version: int = 1
    crm: CrmSettings = field(default_factory=CrmSettings)  # lifecycle thresholds, follow-ups
    # A sale can be returned at any store of the retailer (audited with both stores); off:
    # only at the store that recorded it.
    refunds_at_any_store: bool = True
    # A member may claim a guest sale this many days after it (0: claims are off).
    guest_claim_days: int = 30

    def __post_init__(self) -> None:
        require_currency(self.currency)
        try:
            if self.time_zone not in _time_zones():
                raise ZoneInfoNotFoundError(self.time_zone)
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidInput(
                f"{self.time_zone!r} is not an IANA time zone", field="time_zone"
            ) from None
        require_decimal(self.earn_rate, "earn_rate", places=RATE_PLACES)
        require_decimal(self.point_value, "point_value", places=RATE_PLACES)
        if not Decimal(0) <= self.earn_rate <= MAX_EARN_RATE:
            raise InvalidInput(
                f"earn_rate must be between 0 and {MAX_EARN_RATE}", field="earn_rate"
            )
        if not Decimal(0) < self.point_value <= MAX_POINT_VALUE:
            raise InvalidInput(
                f"point_value must be above 0 and at most {MAX_POINT_VALUE}", field="point_value"
            )
        if not 0 <= self.guest_claim_days <= MAX_GUEST_CLAIM_DAYS:
            raise InvalidInput(
                f"guest_claim_days must be between 0 and {MAX_GUEST_CLAIM_DAYS}",
                field="guest_claim_days",
            )
        if not 0 <= self.pending_days <= MAX_PENDING_DAYS:
            raise InvalidInput(
                f"pending_days must be between 0 and {MAX_PENDING_DAYS}", field="pending_days"
            )

    @property
    def currency_exponent(self) -> int:
        return currency_exponent(self.currency)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def expiry_for(self, earned_at: datetime) -> datetime | None:
        return self.points_expiry.expiry_for(earned_at, self.zone)

    def pending_until(self, earned_at: datetime) -> datetime | None:
        """When online points are released if the order is not completed first."""
        if self.pending_days == 0:
            return None
        return end_of_day(
            earned_at.astimezone(self.zone).date() + timedelta(days=self.pending_days),
            self.zone,
        )

    def value_of(self, points: int) -> int:
        """What ``points`` are worth in minor units when redeemed, floored."""
        return floor_int(Decimal(points) * self.point_value)

    def points_for(self, payable: int, multiplier: Decimal) -> int:
        """Points earned on a payable amount in minor units, floored."""
        if payable <= 0:
            return 0
        major_units = Decimal(payable).scaleb(-self.currency_exponent)
        return floor_int(major_units * self.earn_rate * multiplier)

    def revised(self, new: ProgramSettings) -> ProgramSettings:
        return replace(new, version=self.version + 1)


DEFAULT_PROGRAM = ProgramSettings(
    currency="CNY",
    time_zone="Asia/Shanghai",
    earn_rate=Decimal(1),
    point_value=Decimal(1),
    points_expiry=PointsExpiryRule(),
    pending_days=14,
)
