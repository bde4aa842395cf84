"""Prize draws: campaigns, their stock and members' chances."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from uuid import UUID

from domain.draws import Chance, ChanceStatus, DrawCampaign
from tests.support.fakes.common import Linked, require


class FakeDrawRepository(Linked):
    """Campaigns and chances; a chance's campaign, member and sale must exist."""

    def __init__(self) -> None:
        self.campaigns_by_id: dict[UUID, DrawCampaign] = {}
        self.chances: dict[UUID, Chance] = {}

    async def add_campaign(self, campaign: DrawCampaign) -> None:
        self.campaigns_by_id[campaign.id] = campaign

    async def get_campaign(self, campaign_id: UUID) -> DrawCampaign | None:
        return self.campaigns_by_id.get(campaign_id)

    async def get_campaign_for_update(self, campaign_id: UUID) -> DrawCampaign | None:
        return self.campaigns_by_id.get(campaign_id)

    async def hold_campaign(self, campaign_id: UUID) -> DrawCampaign | None:
        return self.campaigns_by_id.get(campaign_id)

    async def save_campaign(self, campaign: DrawCampaign) -> None:
        assert campaign.id in self.campaigns_by_id
        self.campaigns_by_id[campaign.id] = campaign

    async def campaigns(self, *, after: UUID | None, limit: int) -> Sequence[DrawCampaign]:
        ordered = sorted(self.campaigns_by_id.values(), key=lambda c: c.id)
        return [c for c in ordered if after is None or c.id > after][:limit]

    async def running_at(self, at: datetime) -> Sequence[DrawCampaign]:
        return [c for c in self.campaigns_by_id.values() if c.runs_at(at)]

    async def take_stock(self, campaign_id: UUID, prize_code: str) -> bool:
        campaign = self.campaigns_by_id[campaign_id]
        prizes = list(campaign.prizes)
        for i, prize in enumerate(prizes):
            if prize.code == prize_code:
                if prize.stock is None or prize.stock <= 0:
                    return False
                prizes[i] = replace(prize, stock=prize.stock - 1)
                self.campaigns_by_id[campaign_id] = replace(campaign, prizes=tuple(prizes))
                return True
        return False

    async def add_chances(self, chances: Sequence[Chance]) -> None:
        db = self.db
        for chance in chances:
            assert chance.id not in self.chances
            require(chance.campaign_id in self.campaigns_by_id, "draw_chances_campaign_id_fkey")
            require(chance.member_id in db.members.members, "draw_chances_member_id_fkey")
            require(chance.sale_id in db.sales.sales, "draw_chances_sale_id_fkey")
            self.chances[chance.id] = chance

    async def get_chance_for_update(self, chance_id: UUID) -> Chance | None:
        return self.chances.get(chance_id)

    async def chances_of_sale_for_update(self, sale_id: UUID) -> Sequence[Chance]:
        mine = [c for c in self.chances.values() if c.sale_id == sale_id]
        return sorted(mine, key=lambda c: (c.granted_at, c.id))

    async def save_chance(self, chance: Chance) -> None:
        assert chance.id in self.chances
        self.chances[chance.id] = chance

    async def unplayed(
        self, member_id: UUID, now: datetime, *, after: UUID | None, limit: int
    ) -> Sequence[Chance]:
        mine = sorted(
            (
                c
                for c in self.chances.values()
                if c.member_id == member_id
                and c.status is ChanceStatus.UNPLAYED
                and c.playable(now)
            ),
            key=lambda c: (c.expires_at, c.id),
        )
        if after is not None:
            anchor = self.chances[after]
            mine = [c for c in mine if (c.expires_at, c.id) > (anchor.expires_at, anchor.id)]
        return mine[:limit]

    async def chance_counts(self, campaign_id: UUID) -> dict[ChanceStatus, int]:
        counts: dict[ChanceStatus, int] = {}
        for chance in self.chances.values():
            if chance.campaign_id == campaign_id:
                counts[chance.status] = counts.get(chance.status, 0) + 1
        return counts

    async def played(self, member_id: UUID, *, after: UUID | None, limit: int) -> Sequence[Chance]:
        mine = sorted(
            (
                c
                for c in self.chances.values()
                if c.member_id == member_id and c.played_at is not None
            ),
            key=lambda c: (c.played_at, c.id),
            reverse=True,
        )
        if after is not None:
            anchor = self.chances[after]
            mine = [c for c in mine if (c.played_at, c.id) < (anchor.played_at, anchor.id)]
        return mine[:limit]
