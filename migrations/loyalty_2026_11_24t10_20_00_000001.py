"""The configuration epoch: one number that changes whenever the configuration does.

Each process caches the programme, the tier policy and ladder, and the draw campaigns
(adapters/persistence/config_cache.py) and checks this row once per transaction instead of
reading them all. A statement-level trigger on every configuration table sets the epoch in
the writer's own transaction, so the new epoch becomes visible exactly when the new
configuration does. The value comes from a sequence, which never hands a number out twice:
an epoch read inside a transaction that later rolls back can never be seen again, so a cache
filled from that transaction can never be mistaken for a committed state.

A prize's stock is not configuration (every play takes from it) and changes no epoch.
"""

from adapters.persistence.raw_migration import sql_migration

ID = "2026-11-24T10:20:00:000001"
VERSION = "1.38.0"
DESCRIPTION = "configuration epoch for the per-process configuration cache"

FORWARDS_SQL = r"""
CREATE SEQUENCE config_epoch_seq;
CREATE TABLE config_epoch (
    id smallint PRIMARY KEY CONSTRAINT config_epoch_singleton CHECK (id = 1),
    epoch bigint NOT NULL
);
INSERT INTO config_epoch (id, epoch) VALUES (1, nextval('config_epoch_seq'));

CREATE FUNCTION loyalty_config_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE config_epoch SET epoch = nextval('config_epoch_seq') WHERE id = 1;
    RETURN NULL;
END
$$;

CREATE TRIGGER program_settings_config_epoch
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON program_settings
    FOR EACH STATEMENT EXECUTE FUNCTION loyalty_config_changed();
CREATE TRIGGER tiers_config_epoch
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON tiers
    FOR EACH STATEMENT EXECUTE FUNCTION loyalty_config_changed();
CREATE TRIGGER tier_policies_config_epoch
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON tier_policies
    FOR EACH STATEMENT EXECUTE FUNCTION loyalty_config_changed();
CREATE TRIGGER draw_campaigns_config_epoch
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON draw_campaigns
    FOR EACH STATEMENT EXECUTE FUNCTION loyalty_config_changed();
CREATE TRIGGER draw_prizes_config_epoch
    AFTER INSERT OR DELETE OR TRUNCATE ON draw_prizes
    FOR EACH STATEMENT EXECUTE FUNCTION loyalty_config_changed();
CREATE TRIGGER draw_prizes_config_epoch_update
    AFTER UPDATE OF campaign_id, position, code, name, weight, template_id ON draw_prizes
    FOR EACH STATEMENT EXECUTE FUNCTION loyalty_config_changed();
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, FORWARDS_SQL)
