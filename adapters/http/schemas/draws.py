from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from msgspec import Meta

from adapters.http.schemas.common import Input, Output, Page, PositiveMoney, Timestamp
from app.use_cases.draws import NewCampaign, Played
from domain.coupon_codes import display
from domain.draws import Chance, ChanceRule, DrawCampaign, Odds, Prize
from domain.errors import InvalidInput


class PrizeIn(Input, kw_only=True):
    code: Annotated[str, Meta(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_\-]+$")]
    name: Annotated[str, Meta(min_length=1, max_length=100)]
    weight: Annotated[int, Meta(ge=1, le=1_000_000)]
    template_id: UUID | None = None
    stock: Annotated[int, Meta(ge=0, le=100_000_000)] | None = None


class DrawCampaignIn(Input, kw_only=True):
    name: Annotated[str, Meta(min_length=1, max_length=100)]
    threshold: PositiveMoney
    chances: Literal["one", "per_multiple"]
    chance_valid_days: Annotated[int, Meta(ge=1, le=3660)]
    starts_at: Timestamp
    ends_at: Timestamp
    prizes: Annotated[list[PrizeIn], Meta(min_length=1, max_length=50)]

    def to_command(self) -> NewCampaign:
        prizes = []
        for i, p in enumerate(self.prizes):
            try:
                prizes.append(Prize(p.code, p.name, p.weight, p.template_id, p.stock))
            except InvalidInput as error:
                field = (error.field or "").removeprefix("prizes.")
                raise InvalidInput(error.detail, field=f"prizes[{i}].{field}") from None
        return NewCampaign(
            name=self.name,
            threshold=self.threshold,
            chances=ChanceRule(self.chances),
            chance_valid_days=self.chance_valid_days,
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            prizes=prizes,
        )


class PrizeOut(Output, kw_only=True):
    code: str
    name: str
    weight: int
    template_id: UUID | None
    stock: int | None


class DrawCampaignEndIn(Input, kw_only=True):
    reason: Annotated[str, Meta(min_length=1, max_length=500)] | None = None


class DrawCampaignOut(Output, kw_only=True):
    id: UUID
    name: str
    threshold: int
    chances: str
    chance_valid_days: int
    starts_at: datetime
    ends_at: datetime
    prizes: list[PrizeOut]

    @classmethod
    def of(cls, c: DrawCampaign) -> DrawCampaignOut:
        return cls(
            id=c.id,
            name=c.name,
            threshold=c.threshold,
            chances=c.chances.value,
            chance_valid_days=c.chance_valid_days,
            starts_at=c.starts_at,
            ends_at=c.ends_at,
            prizes=[
                PrizeOut(
                    code=p.code,
                    name=p.name,
                    weight=p.weight,
                    template_id=p.template_id,
                    stock=p.stock,
                )
                for p in c.prizes
            ],
        )


class DrawCampaignPageOut(Page, kw_only=True):
    items: list[DrawCampaignOut]


class PrizeOddsOut(Output, kw_only=True):
    code: str
    name: str
    weight: int
    stock: int | None
    probability: Annotated[
        str, Meta(description="exact fraction of the next draw, e.g. '3/10'; '0' out of stock")
    ]
    percent: Annotated[str, Meta(description="the same, in percent to four decimal places")]


class OddsOut(Output, kw_only=True):
    campaign_id: UUID
    name: str
    starts_at: datetime
    ends_at: datetime
    prizes: list[PrizeOddsOut]

    @classmethod
    def of(cls, campaign: DrawCampaign, odds: list[Odds]) -> OddsOut:
        return cls(
            campaign_id=campaign.id,
            name=campaign.name,
            starts_at=campaign.starts_at,
            ends_at=campaign.ends_at,
            prizes=[
                PrizeOddsOut(
                    code=o.code,
                    name=o.name,
                    weight=o.weight,
                    stock=o.stock,
                    probability=str(o.probability),
                    percent=_percent(o),
                )
                for o in odds
            ],
        )


def _percent(odds: Odds) -> str:
    # Exact rational to a fixed-point string: no float on the way.
    scaled = odds.probability * 100 * 10_000
    whole = scaled.numerator * 2 + scaled.denominator  # round half up
    units = whole // (2 * scaled.denominator)
    return f"{units // 10_000}.{units % 10_000:04d}"


class WonCouponOut(Output, kw_only=True):
    coupon_id: UUID
    code: str
    title: str
    expires_at: datetime


class WonPrizeOut(Output, kw_only=True):
    code: str
    name: str
    coupon: WonCouponOut | None = None

    @classmethod
    def of(cls, played: Played) -> WonPrizeOut | None:
        if played.prize is None:
            return None
        coupon = None
        if played.coupon is not None:
            coupon = WonCouponOut(
                coupon_id=played.coupon.id,
                code=display(played.coupon.code),
                title=played.coupon.title,
                expires_at=played.coupon.expires_at,
            )
        return cls(code=played.prize.code, name=played.prize.name, coupon=coupon)


class ChanceOut(Output, kw_only=True):
    chance_id: UUID
    campaign_id: UUID
    expires_at: datetime
    status: Annotated[str, Meta(examples=["unplayed", "played", "revoked"])] = "unplayed"
    played_at: datetime | None = None
    prize: Annotated[
        WonPrizeOut | None,
        Meta(description="what a played chance won; null for unplayed ones and for no prize"),
    ] = None

    @classmethod
    def of(cls, chance: Chance) -> ChanceOut:
        return cls(
            chance_id=chance.id,
            campaign_id=chance.campaign_id,
            expires_at=chance.expires_at,
            status=chance.status.value,
            played_at=chance.played_at,
        )

    @classmethod
    def of_played(cls, played: Played) -> ChanceOut:
        chance = played.chance
        return cls(
            chance_id=chance.id,
            campaign_id=chance.campaign_id,
            expires_at=chance.expires_at,
            status=chance.status.value,
            played_at=chance.played_at,
            prize=WonPrizeOut.of(played),
        )


class ChancePageOut(Page, kw_only=True):
    items: list[ChanceOut]


class PlayOut(Output, kw_only=True):
    chance_id: UUID
    prize: WonPrizeOut | None

    @classmethod
    def of(cls, played: Played) -> PlayOut:
        return cls(chance_id=played.chance.id, prize=WonPrizeOut.of(played))
