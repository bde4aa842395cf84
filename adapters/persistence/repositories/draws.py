"""Draw campaigns, their prizes and members' chances on PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import structlog

from adapters.persistence.session import configuration, configuration_changed, connection
from adapters.persistence.tables import DrawCampaignRow, DrawChanceRow, DrawPrizeRow
from domain.draws import Chance, ChanceRule, ChanceStatus, DrawCampaign, Prize
from domain.errors import InvalidInput

log = structlog.get_logger("loyalty.config")


def _chance(row: dict[str, Any]) -> Chance:
    return Chance(
        id=row["id"],
        campaign_id=row["campaign_id"],
        member_id=row["member_id"],
        sale_id=row["sale_id"],
        granted_at=row["granted_at"],
        expires_at=row["expires_at"],
        status=ChanceStatus(row["status"]),
        played_at=row["played_at"],
        prize_code=row["prize_code"],
        coupon_id=row["coupon_id"],
    )


def _campaign(row: dict[str, Any], prizes: Sequence[dict[str, Any]]) -> DrawCampaign:
    return DrawCampaign(
        id=row["id"],
        name=row["name"],
        threshold=row["threshold"],
        chances=ChanceRule(row["chances"]),
        chance_valid_days=row["chance_valid_days"],
        starts_at=row["starts_at"],
        ends_at=row["ends_at"],
        prizes=tuple(
            Prize(p["code"], p["name"], p["weight"], p["template_id"], p["stock"]) for p in prizes
        ),
        created_at=row["created_at"],
    )


class PostgresDrawRepository:
    async def add_campaign(self, campaign: DrawCampaign) -> None:
        configuration_changed()
        await DrawCampaignRow.insert(
            DrawCampaignRow(
                id=campaign.id,
                name=campaign.name,
                threshold=campaign.threshold,
                chances=campaign.chances.value,
                chance_valid_days=campaign.chance_valid_days,
                starts_at=campaign.starts_at,
                ends_at=campaign.ends_at,
                created_at=campaign.created_at,
            )
        )
        await self._add_prizes(campaign)

    async def _add_prizes(self, campaign: DrawCampaign) -> None:
        await DrawPrizeRow.insert(
            *(
                DrawPrizeRow(
                    campaign_id=campaign.id,
                    position=position,
                    code=prize.code,
                    name=prize.name,
                    weight=prize.weight,
                    template_id=prize.template_id,
                    stock=prize.stock,
                )
                for position, prize in enumerate(campaign.prizes)
            )
        )

    async def hold_campaign(self, campaign_id: UUID) -> DrawCampaign | None:
        # NO KEY UPDATE: a purchase earning a chance holds KEY SHARE on the campaign (the
        # chance's foreign key) and goes on while the definition is being changed.
        locked = await connection().fetchval(
            "SELECT id FROM draw_campaigns WHERE id = $1 FOR NO KEY UPDATE", campaign_id
        )
        return None if locked is None else await self._load(campaign_id, lock=True)

    async def save_campaign(self, campaign: DrawCampaign) -> None:
        configuration_changed()
        await DrawCampaignRow.update(
            {
                DrawCampaignRow.name: campaign.name,
                DrawCampaignRow.threshold: campaign.threshold,
                DrawCampaignRow.chances: campaign.chances.value,
                DrawCampaignRow.chance_valid_days: campaign.chance_valid_days,
                DrawCampaignRow.starts_at: campaign.starts_at,
                DrawCampaignRow.ends_at: campaign.ends_at,
            }
        ).where(DrawCampaignRow.id == campaign.id)
        current = await self._load(campaign.id, lock=False)
        if current is not None and current.prizes == campaign.prizes:
            return
        await DrawPrizeRow.delete().where(DrawPrizeRow.campaign_id == campaign.id)
        await self._add_prizes(campaign)

    async def get_campaign(self, campaign_id: UUID) -> DrawCampaign | None:
        return await self._load(campaign_id, lock=False)

    async def get_campaign_for_update(self, campaign_id: UUID) -> DrawCampaign | None:
        return await self._load(campaign_id, lock=True)

    async def _load(self, campaign_id: UUID, *, lock: bool) -> DrawCampaign | None:
        row = await DrawCampaignRow.select().where(DrawCampaignRow.id == campaign_id).first()
        if row is None:
            return None
        query = (
            DrawPrizeRow.select()
            .where(DrawPrizeRow.campaign_id == campaign_id)
            .order_by(DrawPrizeRow.position)
        )
        if lock:
            query = query.lock_rows("UPDATE")
        return _campaign(row, await query)

    async def campaigns(self, *, after: UUID | None, limit: int) -> Sequence[DrawCampaign]:
        query = DrawCampaignRow.select().order_by(DrawCampaignRow.id).limit(limit)
        if after is not None:
            query = query.where(DrawCampaignRow.id > after)
        rows = await query
        return await self._with_prizes(rows)

    async def running_at(self, at: datetime) -> Sequence[DrawCampaign]:
        return (await configuration()).campaigns_running_at(at)

    async def _with_prizes(self, rows: Sequence[dict[str, Any]]) -> list[DrawCampaign]:
        if not rows:
            return []
        prizes = await (
            DrawPrizeRow.select()
            .where(DrawPrizeRow.campaign_id.is_in([row["id"] for row in rows]))
            .order_by(DrawPrizeRow.position)
        )
        by_campaign: dict[UUID, list[dict[str, Any]]] = {}
        for prize in prizes:
            by_campaign.setdefault(prize["campaign_id"], []).append(prize)
        campaigns = []
        for row in rows:
            try:
                campaigns.append(_campaign(row, by_campaign.get(row["id"], [])))
            except InvalidInput as error:
                # A row no version of the API would write: left out of the list, as the
                # configuration leaves it out of sales (config_cache; GET /health names it).
                log.error(
                    "config.row_refused",
                    table="draw_campaigns",
                    row=str(row["id"]),
                    reason=error.detail,
                )
        return campaigns

    async def take_stock(self, campaign_id: UUID, prize_code: str) -> bool:
        rows = await DrawPrizeRow.raw(
            "UPDATE draw_prizes SET stock = stock - 1 "
            "WHERE campaign_id = {} AND code = {} AND stock > 0 RETURNING id",
            campaign_id,
            prize_code,
        )
        return bool(rows)

    async def add_chances(self, chances: Sequence[Chance]) -> None:
        await connection().execute(
            "INSERT INTO draw_chances (id, campaign_id, member_id, sale_id, granted_at, "
            "expires_at, status) SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], "
            "$4::uuid[], $5::timestamptz[], $6::timestamptz[], $7::text[])",
            [c.id for c in chances],
            [c.campaign_id for c in chances],
            [c.member_id for c in chances],
            [c.sale_id for c in chances],
            [c.granted_at for c in chances],
            [c.expires_at for c in chances],
            [c.status.value for c in chances],
        )

    async def chance_counts(self, campaign_id: UUID) -> dict[ChanceStatus, int]:
        rows = await DrawChanceRow.raw(
            "SELECT status, count(*) AS n FROM draw_chances WHERE campaign_id = {} GROUP BY status",
            campaign_id,
        )
        return {ChanceStatus(row["status"]): row["n"] for row in rows}

    async def get_chance_for_update(self, chance_id: UUID) -> Chance | None:
        row = (
            await DrawChanceRow.select()
            .where(DrawChanceRow.id == chance_id)
            .lock_rows("UPDATE")
            .first()
        )
        return _chance(row) if row else None

    async def chances_of_sale_for_update(self, sale_id: UUID) -> Sequence[Chance]:
        rows = (
            await DrawChanceRow.select()
            .where(DrawChanceRow.sale_id == sale_id)
            .order_by(DrawChanceRow.id)
            .lock_rows("UPDATE")
        )
        return sorted((_chance(row) for row in rows), key=lambda c: (c.granted_at, c.id))

    async def save_chance(self, chance: Chance) -> None:
        await DrawChanceRow.update(
            {
                DrawChanceRow.status: chance.status.value,
                DrawChanceRow.played_at: chance.played_at,
                DrawChanceRow.prize_code: chance.prize_code,
                DrawChanceRow.coupon_id: chance.coupon_id,
            }
        ).where(DrawChanceRow.id == chance.id)

    async def unplayed(
        self, member_id: UUID, now: datetime, *, after: UUID | None, limit: int
    ) -> Sequence[Chance]:
        sql = (
            "SELECT * FROM draw_chances WHERE member_id = {} AND status = 'unplayed' "
            "AND expires_at > {} "
        )
        args: list[Any] = [member_id, now]
        if after is not None:
            sql += "AND (expires_at, id) > (SELECT expires_at, id FROM draw_chances WHERE id = {}) "
            args.append(after)
        rows = await DrawChanceRow.raw(sql + "ORDER BY expires_at, id LIMIT {}", *args, limit)
        return [_chance(row) for row in rows]

    async def played(self, member_id: UUID, *, after: UUID | None, limit: int) -> Sequence[Chance]:
        sql = "SELECT * FROM draw_chances WHERE member_id = {} AND played_at IS NOT NULL "
        args: list[Any] = [member_id]
        if after is not None:
            sql += "AND (played_at, id) < (SELECT played_at, id FROM draw_chances WHERE id = {}) "
            args.append(after)
        rows = await DrawChanceRow.raw(
            sql + "ORDER BY played_at DESC, id DESC LIMIT {}", *args, limit
        )
        return [_chance(row) for row in rows]
