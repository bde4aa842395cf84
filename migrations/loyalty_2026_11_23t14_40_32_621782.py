"""Tier history constraints, and version 1 of the tier policy from the tiers already set."""

from adapters.persistence.raw_migration import sql_migration

ID = "2026-11-23T14:40:32:621782"
VERSION = "1.38.0"
DESCRIPTION = "tier constraints and the first policy version"

FORWARDS_SQL = """
ALTER TABLE tier_policies
    ADD CONSTRAINT tier_policies_version CHECK (version >= 1),
    ADD CONSTRAINT tier_policies_window CHECK (window_days BETWEEN 1 AND 3660),
    ADD CONSTRAINT tier_policies_grace CHECK (grace_days BETWEEN 0 AND 365);
CREATE TRIGGER tier_policies_append_only BEFORE UPDATE OR DELETE ON tier_policies
    FOR EACH ROW EXECUTE FUNCTION loyalty_forbid_change();

ALTER TABLE tier_changes
    ADD CONSTRAINT tier_changes_reason
        CHECK (reason IN ('qualified', 'review', 'manual', 'policy_change')),
    ADD CONSTRAINT tier_changes_moved CHECK (from_code <> to_code);
CREATE INDEX tier_changes_member ON tier_changes (member_id, at);
CREATE TRIGGER tier_changes_append_only BEFORE UPDATE OR DELETE ON tier_changes
    FOR EACH ROW EXECUTE FUNCTION loyalty_forbid_change();

INSERT INTO tier_policies (version, window_days, grace_days, tiers, actor, created_at)
SELECT 1, 365, 30,
    coalesce(jsonb_agg(jsonb_build_object(
        'code', code, 'name', name, 'rank', rank, 'threshold', threshold,
        'earn_multiplier', earn_multiplier::text) ORDER BY rank), '[]'::jsonb),
    'migration', now()
FROM tiers;
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, FORWARDS_SQL)
