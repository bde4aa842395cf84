from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from adapters.persistence.tables import ProgramSettingsRow, TierPolicyRow, TierRow
from domain.program import ExpiryKind, PointsExpiryRule, ProgramSettings
from domain.tier_policy import TierPolicy
from domain.tiers import Tier, TierLadder

SINGLETON_ID = 1
RANK_PARKING = 1_000_000  # far above domain.tiers.MAX_RANK


class PostgresProgramRepository:
    async def get(self) -> ProgramSettings:
        return await self._get(lock=False)

    async def get_for_update(self) -> ProgramSettings:
        return await self._get(lock=True)

    async def _get(self, *, lock: bool) -> ProgramSettings:
        query = ProgramSettingsRow.select().where(ProgramSettingsRow.id == SINGLETON_ID)
        if lock:
            query = query.lock_rows("UPDATE")
        row = await query.first()
        if row is None:
            raise LookupError("program_settings has no row: have the migrations run?")
        return ProgramSettings(
            currency=row["currency"],
            time_zone=row["time_zone"],
            earn_rate=Decimal(row["earn_rate"]),
            point_value=Decimal(row["point_value"]),
            points_expiry=PointsExpiryRule(ExpiryKind(row["expiry_kind"]), row["expiry_count"]),
            pending_days=row["pending_days"],
            version=row["version"],
        )

    async def save(self, settings: ProgramSettings) -> None:
        await ProgramSettingsRow.update(
            {
                ProgramSettingsRow.currency: settings.currency,
                ProgramSettingsRow.time_zone: settings.time_zone,
                ProgramSettingsRow.earn_rate: settings.earn_rate,
                ProgramSettingsRow.point_value: settings.point_value,
                ProgramSettingsRow.expiry_kind: settings.points_expiry.kind.value,
                ProgramSettingsRow.expiry_count: settings.points_expiry.count,
                ProgramSettingsRow.pending_days: settings.pending_days,
                ProgramSettingsRow.version: settings.version,
                ProgramSettingsRow.updated_at: datetime.now(UTC),
            }
        ).where(ProgramSettingsRow.id == SINGLETON_ID)


def _tier_json(tier: Tier) -> dict[str, object]:
    return {
        "code": tier.code,
        "name": tier.name,
        "rank": tier.rank,
        "threshold": tier.threshold,
        "earn_multiplier": str(tier.earn_multiplier),
    }


class PostgresTierRepository:
    async def policy(self) -> TierPolicy:
        row = (
            await TierPolicyRow.select(
                TierPolicyRow.version, TierPolicyRow.window_days, TierPolicyRow.grace_days
            )
            .order_by(TierPolicyRow.version, ascending=False)
            .first()
        )
        if row is None:
            raise LookupError("tier_policies has no row: have the migrations run?")
        return TierPolicy(
            window_days=row["window_days"],
            grace_days=row["grace_days"],
            ladder=await self.ladder(),
            version=row["version"],
        )

    async def save_policy(self, policy: TierPolicy, actor: str, at: datetime) -> None:
        # The version is the primary key: two admins saving at once cannot both win.
        await TierPolicyRow.insert(
            TierPolicyRow(
                version=policy.version,
                window_days=policy.window_days,
                grace_days=policy.grace_days,
                tiers=[_tier_json(t) for t in policy.ladder.tiers],
                actor=actor,
                created_at=at,
            )
        )
        await self.replace(policy.ladder)

    async def ladder(self) -> TierLadder:
        rows = await TierRow.select().order_by(TierRow.rank)
        return TierLadder.of(
            Tier(
                code=r["code"],
                name=r["name"],
                rank=r["rank"],
                threshold=r["threshold"],
                earn_multiplier=Decimal(r["earn_multiplier"]),
            )
            for r in rows
        )

    async def replace(self, ladder: TierLadder) -> None:
        """Makes the stored tiers exactly the ladder's. Removing a tier members still hold is
        refused by the foreign key; moving members off a tier is the tier policy's job."""
        # Ranks are unique; park the kept tiers above any valid rank so that the upserts below
        # can hand ranks around (silver becomes rank 2 while gold leaves it) in any order.
        await TierRow.raw("UPDATE tiers SET rank = rank + {}", RANK_PARKING)
        for tier in ladder.tiers:
            await TierRow.raw(
                "INSERT INTO tiers (code, name, rank, threshold, earn_multiplier) "
                "VALUES ({}, {}, {}, {}, {}) ON CONFLICT (code) DO UPDATE SET "
                "name = EXCLUDED.name, rank = EXCLUDED.rank, threshold = EXCLUDED.threshold, "
                "earn_multiplier = EXCLUDED.earn_multiplier",
                tier.code,
                tier.name,
                tier.rank,
                tier.threshold,
                tier.earn_multiplier,
            )
        codes = [t.code for t in ladder.tiers]
        await TierRow.delete().where(TierRow.code.not_in(codes))
