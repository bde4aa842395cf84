from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import asyncpg

from adapters.persistence.tables import ProgramSettingsRow, TierPolicyRow, TierRow
from domain.crm import CrmSettings
from domain.errors import TierPolicyChanged
from domain.program import ExpiryKind, PointsExpiryRule, ProgramSettings
from domain.tier_policy import TierPolicy
from domain.tiers import Tier, TierLadder

SINGLETON_ID = 1

# A policy change, set-based: each member's qualifying value over the new window, the highest
# tier of the new ladder it reaches; members whose tier the ladder lacks go there, members who
# reach a tier above theirs move up, nobody moves down. Every move gets a history row.
_MOVE_MEMBERS = """
WITH ladder AS (
    SELECT * FROM unnest({}::text[], {}::int[], {}::bigint[]) AS l(code, rank, threshold)
),
spend AS (
    SELECT member_id, sum(payable - refunded_amount) AS value
    FROM sales
    WHERE member_id IS NOT NULL AND occurred_at >= {}
    GROUP BY member_id
),
decided AS (
    SELECT m.id, m.tier_code AS from_code, cur.rank AS current_rank,
           q.code AS to_code, q.rank AS to_rank
    FROM members m
    LEFT JOIN spend s ON s.member_id = m.id
    LEFT JOIN ladder cur ON cur.code = m.tier_code
    CROSS JOIN LATERAL (
        SELECT l.code, l.rank FROM ladder l
        WHERE l.threshold <= coalesce(s.value, 0)
        ORDER BY l.rank DESC LIMIT 1
    ) q
),
moved AS (
    UPDATE members m SET tier_code = d.to_code, tier_short_since = NULL
    FROM decided d
    WHERE m.id = d.id
      AND d.to_code <> d.from_code
      AND (d.current_rank IS NULL OR d.to_rank > d.current_rank)
    RETURNING m.id, d.from_code, d.to_code
),
recorded AS (
    INSERT INTO tier_changes (member_id, from_code, to_code, reason, at, actor, note,
                              policy_version)
    SELECT id, from_code, to_code, 'policy_change', {}, {}, NULL, {} FROM moved
    RETURNING member_id, from_code, to_code, at
),
notified AS (
    INSERT INTO outbox (kind, member_id, payload, created_at, next_attempt_at, attempts)
    SELECT 'tier_changed', member_id,
           jsonb_build_object('from', from_code, 'to', to_code, 'reason', 'policy_change'),
           at, at, 0
    FROM recorded
    RETURNING 1
)
SELECT count(*) AS moved FROM recorded
"""
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
            crm=CrmSettings(
                new_days=row["crm_new_days"],
                dormant_days=row["crm_dormant_days"],
                churned_days=row["crm_churned_days"],
                follow_up_days=row["crm_follow_up_days"],
            ),
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
                ProgramSettingsRow.crm_new_days: settings.crm.new_days,
                ProgramSettingsRow.crm_dormant_days: settings.crm.dormant_days,
                ProgramSettingsRow.crm_churned_days: settings.crm.churned_days,
                ProgramSettingsRow.crm_follow_up_days: settings.crm.follow_up_days,
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
        await self._insert_version(policy, actor, at)
        await self.replace(policy.ladder)

    async def adopt_policy(self, policy: TierPolicy, actor: str, at: datetime) -> int:
        await self._insert_version(policy, actor, at)
        # New tiers must exist before members move onto them, and members must have left a
        # removed tier before it is deleted (members.tier_code references tiers).
        await self._upsert(policy.ladder)
        moved = await self._move_members(policy, actor, at)
        await self._delete_missing(policy.ladder)
        return moved

    async def _insert_version(self, policy: TierPolicy, actor: str, at: datetime) -> None:
        # The version is the primary key: two admins saving at once cannot both win.
        try:
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
        except asyncpg.UniqueViolationError:
            raise TierPolicyChanged() from None

    async def _move_members(self, policy: TierPolicy, actor: str, at: datetime) -> int:
        tiers = policy.ladder.tiers
        rows = await TierRow.raw(
            _MOVE_MEMBERS,
            [t.code for t in tiers],
            [t.rank for t in tiers],
            [t.threshold for t in tiers],
            policy.window_start(at),
            at,
            actor,
            policy.version,
        )
        return int(rows[0]["moved"])

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
        await self._upsert(ladder)
        await self._delete_missing(ladder)

    async def _upsert(self, ladder: TierLadder) -> None:
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

    async def _delete_missing(self, ladder: TierLadder) -> None:
        codes = [t.code for t in ladder.tiers]
        await TierRow.delete().where(TierRow.code.not_in(codes))
