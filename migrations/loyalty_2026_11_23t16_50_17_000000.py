"""CRM constraints: external ids unique per source, imported history marked and keyed,
lifecycle thresholds in order, follow-up calls with their outcome."""

from adapters.persistence.raw_migration import sql_migration

ID = "2026-11-23T16:50:17:000000"
VERSION = "1.38.0"
DESCRIPTION = "crm constraints and indexes"

FORWARDS_SQL = """
ALTER TABLE member_external_ids
    ADD CONSTRAINT member_external_ids_key UNIQUE (source, external_id),
    ADD CONSTRAINT member_external_ids_source CHECK (source <> ''),
    ADD CONSTRAINT member_external_ids_external_id CHECK (external_id <> '');
CREATE INDEX member_external_ids_member ON member_external_ids (member_id);

ALTER TABLE members ADD CONSTRAINT members_region CHECK (region <> '');

-- Imported history earns nothing: it is the past, replayed for analytics.
ALTER TABLE sales
    ADD CONSTRAINT sales_imported_no_points CHECK (
        imported_from IS NULL OR (points_earned = 0 AND points_redeemed = 0)
    );

-- A refund without its sale exists only as imported history; an import's refund ids are
-- its natural key, so a rerun adds nothing.
ALTER TABLE refunds
    ADD CONSTRAINT refunds_sale_or_imported CHECK (sale_id IS NOT NULL OR imported_from IS NOT NULL);
CREATE UNIQUE INDEX refunds_imported_key ON refunds (imported_from, refund_id)
    WHERE imported_from IS NOT NULL;
CREATE INDEX refunds_member_created ON refunds (member_id, created_at) INCLUDE (amount)
    WHERE member_id IS NOT NULL;

ALTER TABLE program_settings
    ADD CONSTRAINT program_settings_lifecycle CHECK (
        1 <= crm_new_days AND crm_new_days <= crm_dormant_days
        AND crm_dormant_days < crm_churned_days AND crm_churned_days <= 3660
    ),
    ADD CONSTRAINT program_settings_follow_up_days CHECK (crm_follow_up_days BETWEEN 1 AND 365);

ALTER TABLE follow_ups
    ADD CONSTRAINT follow_ups_status
        CHECK (status IN ('pending', 'reached', 'unreachable', 'declined')),
    ADD CONSTRAINT follow_ups_called CHECK ((status = 'pending') = (called_at IS NULL)),
    ADD CONSTRAINT follow_ups_satisfaction CHECK (
        satisfaction IS NULL OR (status = 'reached' AND satisfaction BETWEEN 1 AND 5)
    );
CREATE INDEX follow_ups_due ON follow_ups (due_on, id);
CREATE INDEX follow_ups_member ON follow_ups (member_id);
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, FORWARDS_SQL)
