"""Member login and outbox constraints: what the domain promises, restated by the database."""

from adapters.persistence.raw_migration import sql_migration

ID = "2026-11-23T16:10:00:000002"
VERSION = "1.38.0"
DESCRIPTION = "login, refresh token and outbox constraints"

FORWARDS_SQL = """
ALTER TABLE login_challenges
    ADD CONSTRAINT login_challenges_phone_e164 CHECK (phone ~ '^\\+[1-9][0-9]{6,14}$'),
    ADD CONSTRAINT login_challenges_attempts CHECK (attempts BETWEEN 0 AND 5),
    ADD CONSTRAINT login_challenges_expiry CHECK (expires_at > created_at);

ALTER TABLE refresh_tokens
    ADD CONSTRAINT refresh_tokens_expiry CHECK (expires_at > issued_at),
    ADD CONSTRAINT refresh_tokens_parent CHECK (parent_id IS NULL OR parent_id <> id);

ALTER TABLE rate_limit_counters
    ADD CONSTRAINT rate_limit_counters_hits CHECK (hits >= 0);

ALTER TABLE outbox
    ADD CONSTRAINT outbox_recipient CHECK (member_id IS NOT NULL OR phone IS NOT NULL),
    ADD CONSTRAINT outbox_attempts CHECK (attempts >= 0),
    ADD CONSTRAINT outbox_delivered_or_dead CHECK (delivered_at IS NULL OR dead_at IS NULL);
-- The worker's claim reads only what is still to be sent, oldest due first.
CREATE INDEX outbox_due ON outbox (next_attempt_at)
    WHERE delivered_at IS NULL AND dead_at IS NULL;
CREATE INDEX outbox_member ON outbox (member_id, created_at) WHERE member_id IS NOT NULL;
CREATE INDEX rate_limit_counters_expiry ON rate_limit_counters (expires_at);
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, FORWARDS_SQL)
