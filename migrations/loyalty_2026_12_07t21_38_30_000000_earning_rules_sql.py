"""Constraints, triggers and indexes of the earning rules.

- earning_rules is configuration: a change bumps config_epoch, so every process's cached rules
  are current within the transaction that reads them (adapters/persistence/config_cache.py).
- earning_rule_versions is append-only, like tier_policies.
- earning_rule_budgets.spent never goes below 0: a refund gives back only what was spent.
- earning_rule_awards is read by member, rule and time for the per-member limits, and by rule
  for reports.
"""

from adapters.persistence.raw_migration import sql_migration

ID = "2026-12-07T21:38:30:000000"
DESCRIPTION = "Earning rules: epoch trigger, append-only versions, budget and award checks"

SQL = """
ALTER TABLE earning_rules
    ADD CONSTRAINT earning_rules_status CHECK (status IN ('active', 'paused', 'ended')),
    ADD CONSTRAINT earning_rules_version CHECK (version >= 1);
CREATE TRIGGER earning_rules_config_epoch
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON earning_rules
    FOR EACH STATEMENT EXECUTE FUNCTION loyalty_config_changed();

ALTER TABLE earning_rule_versions
    ADD CONSTRAINT earning_rule_versions_unique UNIQUE (rule_id, version);
CREATE FUNCTION earning_rule_versions_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'earning_rule_versions is append-only';
END
$$;
CREATE TRIGGER earning_rule_versions_append_only
    BEFORE UPDATE OR DELETE ON earning_rule_versions
    FOR EACH ROW EXECUTE FUNCTION earning_rule_versions_append_only();

ALTER TABLE earning_rule_budgets
    ADD CONSTRAINT earning_rule_budgets_spent CHECK (spent >= 0);

ALTER TABLE sales
    ADD CONSTRAINT sales_refunded_by_amount CHECK (
        refunded_by_amount >= 0 AND refunded_by_amount <= refunded_amount);

CREATE INDEX earning_rule_awards_member ON earning_rule_awards (member_id, rule_id, occurred_at);
CREATE INDEX earning_rule_awards_sale ON earning_rule_awards (sale_id);
CREATE INDEX earning_rule_awards_rule ON earning_rule_awards (rule_id);
"""



async def forwards():  # type: ignore[no-untyped-def]
    return sql_migration(ID, DESCRIPTION, SQL)
