"""The reward catalogue and its redemptions, and guest sale claims, on PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from typing import Any
from uuid import UUID

from adapters.persistence.session import connection
from domain.earning_rules import breakdown_document
from domain.guest_claims import GuestSaleClaim
from domain.reward_catalogue import (
    CatalogueReward,
    CatalogueRewardKind,
    RedemptionStatus,
    RewardOffer,
    RewardRedemption,
)
from domain.sales import Sale


def _reward(row: Mapping[str, Any]) -> CatalogueReward:
    return CatalogueReward(
        id=row["id"],
        offer=RewardOffer(
            name=row["name"],
            description=row["description"],
            kind=CatalogueRewardKind(row["kind"]),
            points_cost=row["points_cost"],
            cash_price=row["cash_price"],
            coupon_template_id=row["coupon_template_id"],
            stock=row["stock"],
            per_member_limit=row["per_member_limit"],
            available_from=row["available_from"],
            available_until=row["available_until"],
            tiers=frozenset(row["tiers"]),
        ),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        version=row["version"],
        redeemed=row["redeemed"],
        retired_at=row["retired_at"],
    )


def _redemption(row: Mapping[str, Any]) -> RewardRedemption:
    return RewardRedemption(
        id=row["id"],
        reward_id=row["reward_id"],
        reward_version=row["reward_version"],
        member_id=row["member_id"],
        kind=CatalogueRewardKind(row["kind"]),
        name=row["name"],
        points=row["points"],
        cash_price=row["cash_price"],
        redeemed_at=row["redeemed_at"],
        coupon_id=row["coupon_id"],
        fulfilment_code=row["fulfilment_code"],
        status=RedemptionStatus(row["status"]),
        cancelled_at=row["cancelled_at"],
        cancelled_by=row["cancelled_by"],
        cancel_reason=row["cancel_reason"],
        fulfilled_at=row["fulfilled_at"],
        fulfilled_by=row["fulfilled_by"],
        fulfilled_store_id=row["fulfilled_store_id"],
        fulfilled_terminal_id=row["fulfilled_terminal_id"],
        cash_paid=row["cash_paid"],
    )


_BY_CODE = "SELECT * FROM reward_redemptions WHERE fulfilment_code = $1"
_BY_CODE_FOR_UPDATE = _BY_CODE + " FOR UPDATE"

_INSERT_REWARD = """
INSERT INTO catalogue_rewards (id, version, name, description, kind, points_cost, cash_price,
    coupon_template_id, stock, redeemed, per_member_limit, available_from, available_until,
    tiers, created_at, updated_at, retired_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
"""

_SAVE_REWARD = """
UPDATE catalogue_rewards SET version = $2, name = $3, description = $4, kind = $5,
    points_cost = $6, cash_price = $7, coupon_template_id = $8, stock = $9, redeemed = $10,
    per_member_limit = $11, available_from = $12, available_until = $13, tiers = $14,
    created_at = $15, updated_at = $16, retired_at = $17
WHERE id = $1
"""


def _reward_values(reward: CatalogueReward) -> tuple[Any, ...]:
    offer = reward.offer
    return (
        reward.id,
        reward.version,
        offer.name.strip(),
        offer.description,
        offer.kind.value,
        offer.points_cost,
        offer.cash_price,
        offer.coupon_template_id,
        offer.stock,
        reward.redeemed,
        offer.per_member_limit,
        offer.available_from,
        offer.available_until,
        sorted(offer.tiers),
        reward.created_at,
        reward.updated_at,
        reward.retired_at,
    )


class PostgresRewardCatalogueRepository:
    async def add(self, reward: CatalogueReward) -> None:
        await connection().execute(_INSERT_REWARD, *_reward_values(reward))

    async def get(self, reward_id: UUID) -> CatalogueReward | None:
        row = await connection().fetchrow(
            "SELECT * FROM catalogue_rewards WHERE id = $1", reward_id
        )
        return _reward(row) if row else None

    async def get_for_update(self, reward_id: UUID) -> CatalogueReward | None:
        row = await connection().fetchrow(
            "SELECT * FROM catalogue_rewards WHERE id = $1 FOR UPDATE", reward_id
        )
        return _reward(row) if row else None

    async def save(self, reward: CatalogueReward) -> None:
        await connection().execute(_SAVE_REWARD, *_reward_values(reward))

    async def list(
        self, *, after: UUID | None, limit: int, include_retired: bool = True
    ) -> Sequence[CatalogueReward]:
        rows = await connection().fetch(
            "SELECT * FROM catalogue_rewards "
            "WHERE ($1::uuid IS NULL OR id > $1) AND ($2 OR retired_at IS NULL) "
            "ORDER BY id LIMIT $3",
            after,
            include_retired,
            limit,
        )
        return [_reward(row) for row in rows]

    async def holdings(self, member_id: UUID, reward_ids: Collection[UUID]) -> dict[UUID, int]:
        if not reward_ids:
            return {}
        rows = await connection().fetch(
            "SELECT reward_id, count(*) AS held FROM reward_redemptions "
            "WHERE member_id = $1 AND reward_id = ANY($2::uuid[]) AND status <> 'cancelled' "
            "GROUP BY reward_id",
            member_id,
            list(reward_ids),
        )
        return {row["reward_id"]: int(row["held"]) for row in rows}

    async def add_redemption(self, redemption: RewardRedemption) -> bool:
        stored = await connection().fetchval(
            "INSERT INTO reward_redemptions (id, reward_id, reward_version, member_id, "
            "kind, name, points, cash_price, coupon_id, fulfilment_code, status, "
            "redeemed_at, cancelled_at, cancelled_by, cancel_reason, fulfilled_at) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) "
            # A taken fulfilment code: draw another (any other conflict is an error).
            "ON CONFLICT (fulfilment_code) DO NOTHING RETURNING id",
            redemption.id,
            redemption.reward_id,
            redemption.reward_version,
            redemption.member_id,
            redemption.kind.value,
            redemption.name,
            redemption.points,
            redemption.cash_price,
            redemption.coupon_id,
            redemption.fulfilment_code,
            redemption.status.value,
            redemption.redeemed_at,
            redemption.cancelled_at,
            redemption.cancelled_by,
            redemption.cancel_reason,
            redemption.fulfilled_at,
        )
        return stored is not None

    async def get_redemption(self, redemption_id: UUID) -> RewardRedemption | None:
        row = await connection().fetchrow(
            "SELECT * FROM reward_redemptions WHERE id = $1", redemption_id
        )
        return _redemption(row) if row else None

    async def get_redemption_for_update(self, redemption_id: UUID) -> RewardRedemption | None:
        row = await connection().fetchrow(
            "SELECT * FROM reward_redemptions WHERE id = $1 FOR UPDATE", redemption_id
        )
        return _redemption(row) if row else None

    async def save_redemption(self, redemption: RewardRedemption) -> None:
        await connection().execute(
            "UPDATE reward_redemptions SET status = $2, cancelled_at = $3, cancelled_by = $4, "
            "cancel_reason = $5, fulfilled_at = $6, fulfilled_by = $7, fulfilled_store_id = $8, "
            "fulfilled_terminal_id = $9, cash_paid = $10 WHERE id = $1",
            redemption.id,
            redemption.status.value,
            redemption.cancelled_at,
            redemption.cancelled_by,
            redemption.cancel_reason,
            redemption.fulfilled_at,
            redemption.fulfilled_by,
            redemption.fulfilled_store_id,
            redemption.fulfilled_terminal_id,
            redemption.cash_paid,
        )

    async def redemption_by_code(
        self, code: str, *, for_update: bool = False
    ) -> RewardRedemption | None:
        # The unique index on fulfilment_code answers it.
        row = await connection().fetchrow(_BY_CODE_FOR_UPDATE if for_update else _BY_CODE, code)
        return _redemption(row) if row else None

    async def recent_redemptions(
        self, *, after: UUID | None, limit: int, status: RedemptionStatus | None = None
    ) -> Sequence[RewardRedemption]:
        rows = await connection().fetch(
            "SELECT * FROM reward_redemptions WHERE ($1::text IS NULL OR status = $1) AND "
            "($2::uuid IS NULL OR (redeemed_at, id) < "
            "(SELECT redeemed_at, id FROM reward_redemptions WHERE id = $2)) "
            "ORDER BY redeemed_at DESC, id DESC LIMIT $3",
            status.value if status is not None else None,
            after,
            limit,
        )
        return [_redemption(row) for row in rows]

    async def redemptions_of(
        self, member_id: UUID, *, after: UUID | None, limit: int
    ) -> Sequence[RewardRedemption]:
        rows = await connection().fetch(
            "SELECT * FROM reward_redemptions WHERE member_id = $1 AND ($2::uuid IS NULL OR "
            "(redeemed_at, id) < (SELECT redeemed_at, id FROM reward_redemptions WHERE id = $2)) "
            "ORDER BY redeemed_at DESC, id DESC LIMIT $3",
            member_id,
            after,
            limit,
        )
        return [_redemption(row) for row in rows]


def _claim(row: Mapping[str, Any]) -> GuestSaleClaim:
    return GuestSaleClaim(
        sale_id=row["sale_id"],
        code=row["code"],
        member_id=row["member_id"],
        claimed_at=row["claimed_at"],
        claimed_via=row["claimed_via"],
        terminal_id=row["terminal_id"],
    )


class PostgresGuestClaimRepository:
    async def add(self, claim: GuestSaleClaim) -> bool:
        stored = await connection().fetchval(
            "INSERT INTO guest_sale_claims (sale_id, code) VALUES ($1, $2) "
            "ON CONFLICT (code) DO NOTHING RETURNING sale_id",
            claim.sale_id,
            claim.code,
        )
        return stored is not None

    async def sale_for_code(self, code: str) -> UUID | None:
        sale_id: UUID | None = await connection().fetchval(
            "SELECT sale_id FROM guest_sale_claims WHERE code = $1", code
        )
        return sale_id

    async def of_sale(self, sale_id: UUID) -> GuestSaleClaim | None:
        row = await connection().fetchrow(
            "SELECT * FROM guest_sale_claims WHERE sale_id = $1", sale_id
        )
        return _claim(row) if row else None

    async def attach(self, sale: Sale, claim: GuestSaleClaim) -> None:
        db = connection()
        breakdown = sale.pricing.breakdown
        await db.execute(
            "UPDATE sales SET member_id = $2, points_earned = $3, points_breakdown = $4::jsonb "
            "WHERE id = $1",
            sale.id,
            sale.member_id,
            sale.pricing.points_earned,
            json.dumps(breakdown_document(breakdown)) if breakdown is not None else None,
        )
        await db.execute(
            "UPDATE sale_lines SET member_id = $2 WHERE sale_id = $1", sale.id, sale.member_id
        )
        await db.execute(
            "INSERT INTO guest_sale_claims (sale_id, code, member_id, claimed_at, claimed_via, "
            "terminal_id) VALUES ($1, $2, $3, $4, $5, $6) "
            "ON CONFLICT (sale_id) DO UPDATE SET member_id = EXCLUDED.member_id, "
            "claimed_at = EXCLUDED.claimed_at, claimed_via = EXCLUDED.claimed_via, "
            "terminal_id = EXCLUDED.terminal_id",
            claim.sale_id,
            claim.code,
            claim.member_id,
            claim.claimed_at,
            claim.claimed_via,
            claim.terminal_id,
        )
