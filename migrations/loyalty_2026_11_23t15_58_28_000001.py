"""Constraints for webhooks, shop identities and reviews, Stripe payments and feedback.

UNIQUE (source, event_id) is what makes a webhook event apply once: the claim is an INSERT
that a second delivery of the same id, however concurrent, cannot also make.
"""

from adapters.persistence.raw_migration import sql_migration

ID = "2026-11-23T15:58:28:000001"
VERSION = "1.38.0"
DESCRIPTION = "webhook, shop, payment and feedback constraints"

FORWARDS_SQL = """
ALTER TABLE webhook_events
    ADD CONSTRAINT webhook_events_once UNIQUE (source, event_id),
    ADD CONSTRAINT webhook_events_source CHECK (source IN ('shop', 'stripe')),
    ADD CONSTRAINT webhook_events_event_id CHECK (length(event_id) >= 1);

CREATE INDEX shop_customers_member ON shop_customers (member_id);
ALTER TABLE shop_customers ADD CONSTRAINT shop_customers_id CHECK (length(customer_id) >= 1);

ALTER TABLE shop_reviews ADD CONSTRAINT shop_reviews_rating CHECK (rating BETWEEN 1 AND 5);
CREATE INDEX shop_reviews_member ON shop_reviews (member_id);
CREATE INDEX shop_reviews_sale ON shop_reviews (sale_id);

ALTER TABLE stripe_payments
    ADD CONSTRAINT stripe_payments_amounts
        CHECK (amount_received >= 0 AND amount_refunded BETWEEN 0 AND amount_received),
    ADD CONSTRAINT stripe_payments_currency CHECK (currency ~ '^[A-Z]{3}$');
CREATE INDEX stripe_payments_member ON stripe_payments (member_id);
CREATE INDEX stripe_payments_sale ON stripe_payments (sale_id) WHERE sale_id IS NOT NULL;

ALTER TABLE feedback
    ADD CONSTRAINT feedback_kind CHECK (kind IN ('suggestion', 'complaint', 'praise')),
    ADD CONSTRAINT feedback_status CHECK (status IN ('new', 'acknowledged', 'resolved')),
    ADD CONSTRAINT feedback_text CHECK (length(text) BETWEEN 1 AND 2000);
CREATE INDEX feedback_member ON feedback (member_id, created_at);
CREATE INDEX feedback_newest ON feedback (created_at DESC, id DESC);
CREATE INDEX feedback_status_newest ON feedback (status, created_at DESC, id DESC);
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, FORWARDS_SQL)
