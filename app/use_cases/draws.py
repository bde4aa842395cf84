"""Prize draws: campaigns admins set up, chances members play, odds anyone can read."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol
from uuid import UUID

from app.unit_of_work import (
    WithAudit,
    WithDraws,
)
from app.use_cases.coupon_issuing import CouponIssuingUnit, Issuer, issue_from_template
from app.use_cases.erased_members import hold_own_account
from domain.coupon_repositories import IssuedFrom
from domain.coupons import Coupon, CouponSource
from domain.draws import (
    Chance,
    ChanceRule,
    ChanceStatus,
    DrawCampaign,
    Odds,
    Prize,
    draw,
    odds,
)
from domain.errors import (
    ChanceNotFound,
    ChanceNotPlayable,
    CouponTemplateClosed,
    CouponTemplateNotFound,
    CouponTemplateRetired,
    DrawCampaignNotFound,
    Forbidden,
)
from domain.integration_events import draw_won
from domain.ports import Clock, IdGenerator, RandomSource
from domain.repositories import AuditRecord


class DrawsUnit(CouponIssuingUnit, WithAudit, WithDraws, Protocol):
    """What these use cases use of the unit of work (any ``UnitOfWork`` has it)."""


@dataclass(frozen=True, slots=True)
class NewCampaign:
    name: str
    threshold: int
    chances: ChanceRule
    chance_valid_days: int
    starts_at: datetime
    ends_at: datetime
    prizes: Sequence[Prize]


async def create_campaign(
    cmd: NewCampaign, actor: str, uow: DrawsUnit, *, clock: Clock, ids: IdGenerator
) -> DrawCampaign:
    campaign = _defined(cmd, ids.new_id(), clock.now())
    await _check_prize_templates(campaign, uow, clock)
    await uow.draws.add_campaign(campaign)
    await uow.audit.record(
        AuditRecord(
            actor, "draw_campaign.created", f"draw_campaign:{campaign.id}", _details(campaign)
        )
    )
    return campaign


def _defined(cmd: NewCampaign, campaign_id: UUID, created_at: datetime | None) -> DrawCampaign:
    return DrawCampaign(
        id=campaign_id,
        name=cmd.name.strip(),
        threshold=cmd.threshold,
        chances=cmd.chances,
        chance_valid_days=cmd.chance_valid_days,
        starts_at=cmd.starts_at,
        ends_at=cmd.ends_at,
        prizes=tuple(cmd.prizes),
        created_at=created_at,
    )


async def _check_prize_templates(campaign: DrawCampaign, uow: DrawsUnit, clock: Clock) -> None:
    for template_id in {p.template_id for p in campaign.prizes if p.template_id is not None}:
        template = await uow.coupon_templates.get(template_id)
        if template is None:
            raise CouponTemplateNotFound(f"prize template {template_id} does not exist")
        if not template.active:
            raise CouponTemplateRetired(f"prize template {template_id} was retired")
        if template.validity.closed_at(clock.now()):
            raise CouponTemplateClosed(f"prize template {template_id} no longer issues coupons")


def _details(campaign: DrawCampaign) -> dict[str, object]:
    return {
        "name": campaign.name,
        "threshold": campaign.threshold,
        "chances": campaign.chances.value,
        "chance_valid_days": campaign.chance_valid_days,
        "starts_at": campaign.starts_at.isoformat(),
        "ends_at": campaign.ends_at.isoformat(),
        "prizes": [{"code": p.code, "weight": p.weight, "stock": p.stock} for p in campaign.prizes],
    }


async def edit_campaign(
    campaign_id: UUID, cmd: NewCampaign, actor: str, uow: DrawsUnit, *, clock: Clock
) -> DrawCampaign:
    """Replaces the definition of a campaign that has not started (409 draw_campaign_started
    once it has: a purchase may have earned a chance on its terms). Audited with the new
    definition. Two edits at once run one after the other on the campaign's lock."""
    current = await uow.draws.hold_campaign(campaign_id)
    if current is None:
        raise DrawCampaignNotFound()
    edited = current.revised(_defined(cmd, current.id, current.created_at), clock.now())
    await _check_prize_templates(edited, uow, clock)
    await uow.draws.save_campaign(edited)
    await uow.audit.record(
        AuditRecord(actor, "draw_campaign.edited", f"draw_campaign:{campaign_id}", _details(edited))
    )
    return edited


async def end_campaign(
    campaign_id: UUID, actor: str, uow: DrawsUnit, *, clock: Clock, reason: str | None = None
) -> DrawCampaign:
    """Ends a running campaign now (409 draw_campaign_not_running otherwise): purchases from
    now on earn no chance; chances already earned stay playable until they expire."""
    current = await uow.draws.hold_campaign(campaign_id)
    if current is None:
        raise DrawCampaignNotFound()
    ended = current.ended(clock.now())
    await uow.draws.save_campaign(ended)
    await uow.audit.record(
        AuditRecord(
            actor,
            "draw_campaign.ended",
            f"draw_campaign:{campaign_id}",
            {
                "planned_end": current.ends_at.isoformat(),
                "ended_at": ended.ends_at.isoformat(),
                "reason": reason,
            },
        )
    )
    return ended


async def get_campaign(campaign_id: UUID, uow: DrawsUnit) -> DrawCampaign:
    campaign = await uow.draws.get_campaign(campaign_id)
    if campaign is None:
        raise DrawCampaignNotFound()
    return campaign


async def list_campaigns(
    uow: DrawsUnit, *, after: UUID | None, limit: int
) -> Sequence[DrawCampaign]:
    return await uow.draws.campaigns(after=after, limit=limit)


@dataclass(frozen=True, slots=True)
class Plays:
    """A campaign's chances so far: earned in all, played, waiting, taken back by refunds."""

    unplayed: int
    played: int
    revoked: int

    @property
    def earned(self) -> int:
        return self.unplayed + self.played + self.revoked


async def campaign_plays(campaign_id: UUID, uow: DrawsUnit) -> Plays:
    counts = await uow.draws.chance_counts(campaign_id)
    return Plays(
        unplayed=counts.get(ChanceStatus.UNPLAYED, 0),
        played=counts.get(ChanceStatus.PLAYED, 0),
        revoked=counts.get(ChanceStatus.REVOKED, 0),
    )


async def current_odds(
    campaign_id: UUID, uow: DrawsUnit, *, clock: Clock
) -> tuple[DrawCampaign, list[Odds]]:
    """The odds of the next draw, from the same function and prizes the draw itself uses."""
    campaign = await get_campaign(campaign_id, uow)
    return campaign, odds(await _drawable(campaign.prizes, uow, clock.now()))


async def _drawable(prizes: Sequence[Prize], uow: DrawsUnit, now: datetime) -> list[Prize]:
    """The prizes as the next draw sees them: a prize whose coupon template has stopped
    issuing counts as out of stock, so it drops out of the draw and of the published odds
    instead of making every play that lands on it fail."""
    drawable = []
    for prize in prizes:
        if prize.template_id is not None:
            template = await uow.coupon_templates.get(prize.template_id)
            if template is None or not template.issues_at(now):
                prize = replace(prize, stock=0)
        drawable.append(prize)
    return drawable


async def unplayed_chances(
    member_id: UUID, uow: DrawsUnit, *, clock: Clock, after: UUID | None, limit: int
) -> Sequence[Chance]:
    return await uow.draws.unplayed(member_id, clock.now(), after=after, limit=limit)


async def played_chances(
    member_id: UUID, uow: DrawsUnit, *, after: UUID | None, limit: int
) -> list[Played]:
    """The member's played chances, most recent first, each with what it won (a prize and
    its coupon, or nothing)."""
    chances = await uow.draws.played(member_id, after=after, limit=limit)
    campaigns: dict[UUID, DrawCampaign | None] = {}
    results = []
    for chance in chances:
        if chance.campaign_id not in campaigns:
            campaigns[chance.campaign_id] = await uow.draws.get_campaign(chance.campaign_id)
        campaign = campaigns[chance.campaign_id]
        prizes = campaign.prizes if campaign else ()
        prize = next((p for p in prizes if p.code == chance.prize_code), None)
        coupon = await uow.coupons.get(chance.coupon_id) if chance.coupon_id else None
        results.append(Played(chance, prize, coupon))
    return results


@dataclass(frozen=True, slots=True)
class Played:
    chance: Chance
    prize: Prize | None
    coupon: Coupon | None


async def play_chance(
    member_id: UUID,
    chance_id: UUID,
    uow: DrawsUnit,
    *,
    clock: Clock,
    random: RandomSource,
    ids: IdGenerator,
) -> Played:
    """Draws a prize for the chance, takes it from stock, issues its coupon and marks the
    chance played, in one transaction. Playing a chance again answers its first result."""
    # The member's account lock first (as an erasure takes it): no prize for an erased member.
    await hold_own_account(uow, member_id)
    chance = await uow.draws.get_chance_for_update(chance_id)
    if chance is None:
        raise ChanceNotFound()
    if chance.member_id != member_id:
        raise Forbidden("this chance belongs to another member")
    if chance.status is ChanceStatus.PLAYED:
        return await _result_of(chance, uow)
    now = clock.now()
    if chance.status is ChanceStatus.REVOKED:
        raise ChanceNotPlayable("the purchase that earned this chance was refunded")
    if not chance.playable(now):
        raise ChanceNotPlayable("this chance has expired")
    # Locks the campaign's prizes: plays of one campaign queue here, so stock holds.
    campaign = await uow.draws.get_campaign_for_update(chance.campaign_id)
    assert campaign is not None  # chances reference their campaign
    prize = draw(await _drawable(campaign.prizes, uow, now), random)
    coupon = None
    if prize is not None:
        if prize.stock is not None and not await uow.draws.take_stock(campaign.id, prize.code):
            raise RuntimeError(f"prize {prize.code} ran out of stock under the campaign's lock")
        if prize.template_id is not None:
            issued = await issue_from_template(
                uow,
                prize.template_id,
                [member_id],
                IssuedFrom(CouponSource.DRAW, f"chance:{chance.id}"),
                Issuer(now, random, ids),
                enforce_limits=False,  # the prize's stock is its limit
            )
            coupon = issued.coupons[0] if issued.coupons else None
    played = replace(
        chance,
        status=ChanceStatus.PLAYED,
        played_at=now,
        prize_code=prize.code if prize else None,
        coupon_id=coupon.id if coupon else None,
    )
    await uow.draws.save_chance(played)
    if prize is not None:
        await uow.integration_events.publish(
            draw_won(
                member_id,
                campaign.id,
                chance.id,
                prize.code,
                now,
                coupon_id=coupon.id if coupon else None,
            )
        )
    return Played(played, prize, coupon)


async def _result_of(chance: Chance, uow: DrawsUnit) -> Played:
    campaign = await uow.draws.get_campaign(chance.campaign_id)
    assert campaign is not None
    prize = next((p for p in campaign.prizes if p.code == chance.prize_code), None)
    coupon = await uow.coupons.get(chance.coupon_id) if chance.coupon_id else None
    return Played(chance, prize, coupon)
