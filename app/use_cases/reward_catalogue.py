"""The reward catalogue: admins define rewards, members redeem them with points.

Not the review or birthday rewards (review_rewards.py, birthdays.py): a catalogue reward is
bought with points. See domain/reward_catalogue.py for the rules.

A redemption runs in one transaction and takes its locks in one order, the reward's row first,
then the member's points account (then, for a coupon, the template's, inside the issuing):
redemptions of one reward queue on its row, which is what makes the stock and the per-member
limit exact; a refusal raises, and the rollback leaves the points, the stock and the wallet as
they were. A cancellation locks the redemption, then the reward, then the account, then
withdraws the coupon (a sale, too, locks the account before the coupons it redeems).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from app.unit_of_work import WithAudit, WithCatalogue, WithPoints
from app.use_cases.announcements import save_announced
from app.use_cases.coupon_issuing import CouponIssuingUnit, Issuer, issue_from_template
from app.use_cases.erased_members import named_member
from app.use_cases.views import Balances
from domain import integration_events, notifications
from domain.coupon_codes import new_code
from domain.coupon_repositories import IssuedFrom
from domain.coupons import Coupon, CouponSource, CouponStatus
from domain.errors import (
    CatalogueRewardNotFound,
    CouponTemplateNotFound,
    CouponTemplateRetired,
    InvalidInput,
    RewardNotRedeemable,
    RewardRedemptionCancelled,
    RewardRedemptionNotFound,
    RewardRedemptionUsed,
)
from domain.points import EntryType, PointsAccount
from domain.ports import Clock, IdGenerator, RandomSource
from domain.repositories import AuditRecord
from domain.reward_catalogue import (
    CatalogueReward,
    CatalogueRewardKind,
    RedemptionStatus,
    RewardOffer,
    RewardRedemption,
    Unavailable,
)

CODE_ATTEMPTS = 3
MAX_REASON = 500


class CatalogueUnit(CouponIssuingUnit, WithAudit, WithCatalogue, WithPoints, Protocol):
    """What these use cases use of the unit of work (any ``UnitOfWork`` has it)."""


def _audit_details(reward: CatalogueReward) -> dict[str, object]:
    offer = reward.offer
    return {
        "version": reward.version,
        "name": offer.name,
        "kind": offer.kind.value,
        "points_cost": offer.points_cost,
        "cash_price": offer.cash_price,
        "coupon_template_id": str(offer.coupon_template_id) if offer.coupon_template_id else None,
        "stock": offer.stock,
        "per_member_limit": offer.per_member_limit,
        "available_from": offer.available_from.isoformat() if offer.available_from else None,
        "available_until": offer.available_until.isoformat() if offer.available_until else None,
        "tiers": sorted(offer.tiers),
    }


async def _check_template(offer: RewardOffer, uow: CatalogueUnit) -> None:
    if offer.coupon_template_id is None:
        return
    template = await uow.coupon_templates.get(offer.coupon_template_id)
    if template is None:
        raise CouponTemplateNotFound()
    if not template.active:
        raise CouponTemplateRetired()


# Admin -----------------------------------------------------------------------------------------


async def create_reward(
    offer: RewardOffer, actor: str, uow: CatalogueUnit, *, clock: Clock, ids: IdGenerator
) -> CatalogueReward:
    await _check_template(offer, uow)
    now = clock.now()
    reward = CatalogueReward(id=ids.new_id(), offer=offer, created_at=now, updated_at=now)
    await uow.catalogue.add(reward)
    await uow.audit.record(
        AuditRecord(
            actor,
            "catalogue_reward.created",
            f"catalogue_reward:{reward.id}",
            _audit_details(reward),
        )
    )
    return reward


async def revise_reward(
    reward_id: UUID, offer: RewardOffer, actor: str, uow: CatalogueUnit, *, clock: Clock
) -> CatalogueReward:
    """The reward's next version (a whole new offer); redemptions made keep what they cost."""
    reward = await uow.catalogue.get_for_update(reward_id)
    if reward is None:
        raise CatalogueRewardNotFound()
    await _check_template(offer, uow)
    reward.revise(offer, now=clock.now())
    await uow.catalogue.save(reward)
    await uow.audit.record(
        AuditRecord(
            actor,
            "catalogue_reward.revised",
            f"catalogue_reward:{reward.id}",
            _audit_details(reward),
        )
    )
    return reward


@dataclass(frozen=True, slots=True)
class RetireReward:
    reward_id: UUID
    actor: str
    reason: str | None = None


async def retire_reward(cmd: RetireReward, uow: CatalogueUnit, *, clock: Clock) -> CatalogueReward:
    """Nothing more is redeemed; redemptions made stay valid. Retiring it again changes
    nothing and is not audited again."""
    reward = await uow.catalogue.get_for_update(cmd.reward_id)
    if reward is None:
        raise CatalogueRewardNotFound()
    if reward.retire(now=clock.now()):
        await uow.catalogue.save(reward)
        await uow.audit.record(
            AuditRecord(
                cmd.actor,
                "catalogue_reward.retired",
                f"catalogue_reward:{reward.id}",
                {"version": reward.version, "reason": cmd.reason},
            )
        )
    return reward


async def get_reward(reward_id: UUID, uow: CatalogueUnit) -> CatalogueReward:
    reward = await uow.catalogue.get(reward_id)
    if reward is None:
        raise CatalogueRewardNotFound()
    return reward


async def list_rewards(
    uow: CatalogueUnit, *, after: UUID | None, limit: int
) -> Sequence[CatalogueReward]:
    return await uow.catalogue.list(after=after, limit=limit)


# The member's catalogue ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OfferToMember:
    reward: CatalogueReward
    unavailable: Unavailable | None  # None: the member can redeem it now
    holds: int

    @property
    def affordable(self) -> bool:
        return self.unavailable is None


def spendable_now(account: PointsAccount, clock: Clock) -> int:
    """What the member can spend now: never a debt, never points past their expiry."""
    return min(max(account.balance, 0), account.spendable_points(clock.now()))


async def member_catalogue(
    member_id: UUID, uow: CatalogueUnit, *, clock: Clock, after: UUID | None, limit: int
) -> tuple[Sequence[OfferToMember], Balances]:
    """The rewards on offer now (not retired, inside their window), each marked with whether
    the member can redeem it now and why not."""
    now = clock.now()
    member = named_member(await uow.members.get(member_id))
    account = await uow.points.get(member_id)
    spendable = spendable_now(account, clock)
    rewards = await uow.catalogue.list(after=after, limit=limit, include_retired=False)
    holdings = await uow.catalogue.holdings(member_id, [r.id for r in rewards])
    offers = []
    for reward in rewards:
        holds = holdings.get(reward.id, 0)
        why = reward.why_not(
            now=now, tier_code=member.tier_code, member_holds=holds, spendable=spendable
        )
        if why in (Unavailable.NOT_YET_AVAILABLE, Unavailable.NO_LONGER_AVAILABLE):
            continue
        offers.append(OfferToMember(reward, why, holds))
    return offers, Balances.of(account)


# Redeeming -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RedeemReward:
    member_id: UUID
    reward_id: UUID


@dataclass(frozen=True, slots=True)
class Redeemed:
    redemption: RewardRedemption
    coupon: Coupon | None
    points: Balances


async def redeem_reward(
    cmd: RedeemReward,
    uow: CatalogueUnit,
    *,
    clock: Clock,
    ids: IdGenerator,
    random: RandomSource,
) -> Redeemed:
    """Takes the points through the ledger, one from the stock, and issues the coupon or the
    item's code, all or nothing."""
    now = clock.now()
    reward = await uow.catalogue.get_for_update(cmd.reward_id)
    if reward is None:
        raise CatalogueRewardNotFound()
    member = named_member(await uow.members.get(cmd.member_id))
    account = await uow.points.get_for_update(cmd.member_id)
    holds = (await uow.catalogue.holdings(cmd.member_id, [reward.id])).get(reward.id, 0)
    reward.take_one(
        now=now,
        tier_code=member.tier_code,
        member_holds=holds,
        spendable=spendable_now(account, clock),
    )
    offer = reward.offer
    redemption = RewardRedemption(
        id=ids.new_id(),
        reward_id=reward.id,
        reward_version=reward.version,
        member_id=member.id,
        kind=offer.kind,
        name=offer.name,
        points=offer.points_cost,
        cash_price=offer.cash_price,
        redeemed_at=now,
    )
    # Soonest-expiring lots first, never below zero: the ledger's own redemption.
    account.redeem(offer.points_cost, reference=redemption.reference, now=now)
    await save_announced(uow, account)
    coupon = None
    if offer.kind is CatalogueRewardKind.COUPON:
        assert offer.coupon_template_id is not None
        issued = await issue_from_template(
            uow,
            offer.coupon_template_id,
            [member.id],
            IssuedFrom(CouponSource.REWARD, str(redemption.id)),
            Issuer(now, random, ids),
        )
        if not issued.coupons:
            reason = issued.skipped[0].reason.value if issued.skipped else "coupon_unavailable"
            raise RewardNotRedeemable(
                "coupon_unavailable", f"the reward's coupon cannot be issued ({reason})"
            )
        coupon = issued.coupons[0]
        redemption.coupon_id = coupon.id
        await _store(uow, redemption, random, with_code=False)
    else:
        await _store(uow, redemption, random, with_code=True)
    await uow.catalogue.save(reward)
    # Told in the redemption's own transaction: nothing is announced that did not commit.
    await uow.outbox.add_all(
        [
            notifications.reward_redeemed(
                member.id, redemption.id, redemption.name, redemption.points, now
            )
        ]
    )
    await uow.integration_events.publish_all(
        [
            integration_events.reward_redeemed(
                redemption.id,
                reward.id,
                member.id,
                redemption.points,
                redemption.cash_price,
                now,
                coupon_id=redemption.coupon_id,
            )
        ]
    )
    return Redeemed(redemption, coupon, Balances.of(account))


async def _store(
    uow: CatalogueUnit, redemption: RewardRedemption, random: RandomSource, *, with_code: bool
) -> None:
    for _ in range(CODE_ATTEMPTS):
        if with_code:
            redemption.fulfilment_code = new_code(random)
        if await uow.catalogue.add_redemption(redemption):
            return
        if not with_code:
            break
    raise RuntimeError("could not store the redemption with a unique fulfilment code")


async def member_redemptions(
    member_id: UUID, uow: CatalogueUnit, *, after: UUID | None, limit: int
) -> Sequence[RewardRedemption]:
    return await uow.catalogue.redemptions_of(member_id, after=after, limit=limit)


# Admin: cancelling and handing over ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CancelRedemption:
    redemption_id: UUID
    actor: str
    reason: str


@dataclass(frozen=True, slots=True)
class Cancelled:
    redemption: RewardRedemption
    points: Balances


async def cancel_redemption(
    cmd: CancelRedemption, uow: CatalogueUnit, *, clock: Clock
) -> Cancelled:
    """Gives the points back in lots that keep the expiry they were taken from, puts the one
    back in stock and withdraws the coupon; refused when it was used."""
    reason = cmd.reason.strip()
    if not reason or len(reason) > MAX_REASON:
        raise InvalidInput(f"a reason of 1-{MAX_REASON} characters is required", field="reason")
    now = clock.now()
    redemption = await uow.catalogue.get_redemption_for_update(cmd.redemption_id)
    if redemption is None:
        raise RewardRedemptionNotFound()
    if redemption.status is RedemptionStatus.CANCELLED:
        raise RewardRedemptionCancelled()
    if redemption.status is RedemptionStatus.FULFILLED:
        raise RewardRedemptionUsed("the item was handed over")
    # The reward, then the account (as a redemption takes them), then the coupon (as a sale
    # takes the account before the coupons it redeems): no order two of them could invert.
    reward = await uow.catalogue.get_for_update(redemption.reward_id)
    assert reward is not None  # the redemption references it
    account = await uow.points.get_for_update(redemption.member_id)
    if redemption.coupon_id is not None:
        coupon = await uow.coupons.get(redemption.coupon_id)
        assert coupon is not None  # the redemption references it
        # Withdrawn only if still available, in one statement: a till redeeming it at this
        # instant either wins (this is refused) or finds it voided.
        if coupon.status is CouponStatus.REDEEMED or (
            coupon.status is CouponStatus.AVAILABLE and not await uow.coupons.void(coupon.id, now)
        ):
            raise RewardRedemptionUsed("the reward's coupon was redeemed")
    reward.give_back_one()
    await uow.catalogue.save(reward)
    account.restore(
        redemption.points,
        reference=redemption.cancel_reference,
        now=now,
        consumed=await uow.points.consumed_by(
            redemption.member_id, f"{redemption.reference}:{EntryType.REDEEM.value}"
        ),
    )
    await save_announced(uow, account)
    redemption.status = RedemptionStatus.CANCELLED
    redemption.cancelled_at = now
    redemption.cancelled_by = cmd.actor
    redemption.cancel_reason = reason
    await uow.catalogue.save_redemption(redemption)
    await uow.audit.record(
        AuditRecord(
            cmd.actor,
            "reward_redemption.cancelled",
            f"reward_redemption:{redemption.id}",
            {
                "reward_id": str(redemption.reward_id),
                "member_id": str(redemption.member_id),
                "points": redemption.points,
                "reason": reason,
            },
        )
    )
    return Cancelled(redemption, Balances.of(account))


@dataclass(frozen=True, slots=True)
class FulfilRedemption:
    redemption_id: UUID
    actor: str


async def fulfil_redemption(
    cmd: FulfilRedemption, uow: CatalogueUnit, *, clock: Clock
) -> RewardRedemption:
    """The item was handed over: the redemption is used and can no longer be cancelled.
    Handing it over again answers it as it is."""
    redemption = await uow.catalogue.get_redemption_for_update(cmd.redemption_id)
    if redemption is None:
        raise RewardRedemptionNotFound()
    if redemption.kind is not CatalogueRewardKind.ITEM:
        raise InvalidInput("only an item is handed over; a coupon is used at the till")
    if redemption.status is RedemptionStatus.CANCELLED:
        raise RewardRedemptionCancelled()
    if redemption.status is RedemptionStatus.ISSUED:
        redemption.status = RedemptionStatus.FULFILLED
        redemption.fulfilled_at = clock.now()
        redemption.fulfilled_by = cmd.actor
        await uow.catalogue.save_redemption(redemption)
        await uow.audit.record(
            AuditRecord(
                cmd.actor,
                "reward_redemption.fulfilled",
                f"reward_redemption:{redemption.id}",
                {"reward_id": str(redemption.reward_id), "member_id": str(redemption.member_id)},
            )
        )
    return redemption


async def get_redemption(redemption_id: UUID, uow: CatalogueUnit) -> RewardRedemption:
    redemption = await uow.catalogue.get_redemption(redemption_id)
    if redemption is None:
        raise RewardRedemptionNotFound()
    return redemption


async def recent_redemptions(
    uow: CatalogueUnit,
    *,
    after: UUID | None,
    limit: int,
    status: RedemptionStatus | None = None,
) -> Sequence[RewardRedemption]:
    """Every member's redemptions, newest first (the back office's list)."""
    return await uow.catalogue.recent_redemptions(after=after, limit=limit, status=status)
