"""Constraints and indexes of outbound webhooks.

- one delivery per endpoint and event (a fan-out that runs twice writes none twice);
- the delivery job's claim reads the partial index of pending deliveries by due time, and the
  fan-out the partial index of events not yet fanned out;
- the delivery log is read per endpoint, newest first.
"""

from adapters.persistence.raw_migration import sql_migration

ID = "2026-12-07T21:37:41:000000"
DESCRIPTION = "Outbound webhooks: one delivery per endpoint and event, due and log indexes"

SQL = """
ALTER TABLE webhook_deliveries
    ADD CONSTRAINT webhook_deliveries_once UNIQUE (endpoint_id, event_id),
    ADD CONSTRAINT webhook_deliveries_attempts CHECK (attempts >= round_attempts
        AND round_attempts >= 0),
    ADD CONSTRAINT webhook_deliveries_settled CHECK (delivered_at IS NULL OR dead_at IS NULL);
ALTER TABLE webhook_endpoints
    ADD CONSTRAINT webhook_endpoints_event_types CHECK (cardinality(event_types) >= 1),
    ADD CONSTRAINT webhook_endpoints_overlap CHECK
        ((sealed_previous_secret IS NULL) = (previous_secret_until IS NULL));
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at, id)
    WHERE delivered_at IS NULL AND dead_at IS NULL;
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id);
CREATE INDEX integration_events_fan_out ON integration_events (occurred_at, id)
    WHERE fanned_out_at IS NULL;
CREATE INDEX integration_events_member ON integration_events (member_id)
    WHERE member_id IS NOT NULL AND personal IS NOT NULL;
CREATE INDEX integration_events_occurred ON integration_events (occurred_at);
CREATE INDEX webhook_attempts_endpoint ON webhook_attempts (endpoint_id, id);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id);
"""


async def forwards():  # type: ignore[no-untyped-def]
    return sql_migration(ID, DESCRIPTION, SQL)
