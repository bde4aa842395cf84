from __future__ import annotations

import json
from datetime import UTC, datetime

import asyncpg

from adapters.persistence.config_cache import program_from
from adapters.persistence.session import configuration, configuration_changed, connection
from domain.errors import TierPolicyChanged
from domain.program import ProgramSettings
from domain.tier_policy import TierPolicy
from domain.tiers import Tier, TierLadder

SINGLETON_ID = 1

# A policy change, set-based: each member's qualifying value over the new window, the highest
# tier of the new ladder it reaches; members whose tier the ladder lacks go there, members who
# reach a tier above theirs move up, nobody moves down. Every move gets a history row.
_MOVE_MEMBERS = """
WITH ladder AS (
    SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[]) AS l(code, rank, threshold)
),
spend AS (
    SELECT member_id, sum(payable - refunded_amount) AS value
    FROM sales
    WHERE member_id IS NOT NULL AND occurred_at >= $4
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
    SELECT id, from_code, to_code, 'policy_change', $5, $6, NULL, $7 FROM moved
    RETURNING member_id, from_code, to_code, at
),
notified AS (
    INSERT INTO outbox (kind, member_id, payload, created_at, next_attempt_at, attempts)
    SELECT 'tier_changed', member_id,
           jsonb_build_object('from', from_code, 'to', to_code, 'reason', 'policy_change'),
           at, at, 0
    FROM recorded
    RETURNING 1
),
announced AS (
    INSERT INTO integration_events (id, event_type, occurred_at, data, member_id)
    SELECT gen_random_uuid(), 'tier.changed', at,
           jsonb_build_object('member_id', member_id, 'from', from_code, 'to', to_code,
                              'reason', 'policy_change'),
           member_id
    FROM recorded
    RETURNING 1
)
SELECT count(*) AS moved FROM recorded
"""
RANK_PARKING = 1_000_000  # far above domain.tiers.MAX_RANK

_SAVE_PROGRAM = """
UPDATE program_settings SET currency = $2, time_zone = $3, earn_rate = $4, point_value = $5,
    expiry_kind = $6, expiry_count = $7, pending_days = $8, version = $9, updated_at = $10,
    crm_new_days = $11, crm_dormant_days = $12, crm_churned_days = $13, crm_follow_up_days = $14,
    refunds_at_any_store = $15, guest_claim_days = $16
WHERE id = $1
"""


class PostgresProgramRepository:
    async def get(self) -> ProgramSettings:
        return (await configuration()).program

    async def get_for_update(self) -> ProgramSettings:
        # Past the cache: the lock is the point, and the row read under it is the latest.
        row = await connection().fetchrow(
            "SELECT * FROM program_settings WHERE id = $1 FOR UPDATE", SINGLETON_ID
        )
        if row is None:
            raise LookupError("program_settings has no row: have the migrations run?")
        return program_from(row)

    async def save(self, settings: ProgramSettings) -> None:
        configuration_changed()
        await connection().execute(
            _SAVE_PROGRAM,
            SINGLETON_ID,
            settings.currency,
            settings.time_zone,
            settings.earn_rate,
            settings.point_value,
            settings.points_expiry.kind.value,
            settings.points_expiry.count,
            settings.pending_days,
            settings.version,
            datetime.now(UTC),
            settings.crm.new_days,
            settings.crm.dormant_days,
            settings.crm.churned_days,
            settings.crm.follow_up_days,
            settings.refunds_at_any_store,
            settings.guest_claim_days,
        )


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
        return (await configuration()).policy

    async def ladder(self) -> TierLadder:
        return (await configuration()).policy.ladder

    async def save_policy(self, policy: TierPolicy, actor: str, at: datetime) -> None:
        await self._insert_version(policy, actor, at)
        await self.replace(policy.ladder)

    async def adopt_policy(self, policy: TierPolicy, actor: str, at: datetime) -> int:
        await self._insert_version(policy, actor, at)
        # New tiers must exist before members move onto them, and members must have left a
        # removed tier before it is deleted (members.tier_code references tiers).
        # The upsert rewrites every tier's rank (a unique key): it waits for any sale that
        # is moving a member onto a tier (its foreign-key check holds the tier row), and no
        # sale can move one until this commits, so the move below decides from settled tiers
        # (tests/integration/test_policy_adoption_races.py).
        await self._upsert(policy.ladder)
        moved = await self._move_members(policy, actor, at)
        await self._delete_missing(policy.ladder)
        return moved

    async def _insert_version(self, policy: TierPolicy, actor: str, at: datetime) -> None:
        # The version is the primary key: two admins saving at once cannot both win.
        configuration_changed()
        try:
            await connection().execute(
                "INSERT INTO tier_policies (version, window_days, grace_days, tiers, actor, "
                "created_at) VALUES ($1, $2, $3, $4::jsonb, $5, $6)",
                policy.version,
                policy.window_days,
                policy.grace_days,
                json.dumps([_tier_json(t) for t in policy.ladder.tiers]),
                actor,
                at,
            )
        except asyncpg.UniqueViolationError:
            raise TierPolicyChanged() from None

    async def _move_members(self, policy: TierPolicy, actor: str, at: datetime) -> int:
        tiers = policy.ladder.tiers
        moved: int = await connection().fetchval(
            _MOVE_MEMBERS,
            [t.code for t in tiers],
            [t.rank for t in tiers],
            [t.threshold for t in tiers],
            policy.window_start(at),
            at,
            actor,
            policy.version,
        )
        return moved

    async def replace(self, ladder: TierLadder) -> None:
        """Makes the stored tiers exactly the ladder's. Removing a tier members still hold is
        refused by the foreign key; moving members off a tier is the tier policy's job."""
        await self._upsert(ladder)
        await self._delete_missing(ladder)

    async def _upsert(self, ladder: TierLadder) -> None:
        # Ranks are unique; park the kept tiers above any valid rank so that the upserts below
        # can hand ranks around (silver becomes rank 2 while gold leaves it) in any order.
        configuration_changed()
        db = connection()
        await db.execute("UPDATE tiers SET rank = rank + $1", RANK_PARKING)
        await db.executemany(
            "INSERT INTO tiers (code, name, rank, threshold, earn_multiplier) "
            "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (code) DO UPDATE SET "
            "name = EXCLUDED.name, rank = EXCLUDED.rank, threshold = EXCLUDED.threshold, "
            "earn_multiplier = EXCLUDED.earn_multiplier",
            [(t.code, t.name, t.rank, t.threshold, t.earn_multiplier) for t in ladder.tiers],
        )

    async def _delete_missing(self, ladder: TierLadder) -> None:
        configuration_changed()
        await connection().execute(
            "DELETE FROM tiers WHERE NOT code = ANY($1::text[])", [t.code for t in ladder.tiers]
        )
