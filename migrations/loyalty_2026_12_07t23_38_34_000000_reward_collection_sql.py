"""Constraints of a reward redemption collected at a till.

- the cash taken is the redemption's cash price, and only on a handed-over item;
- a store or terminal is named only by a collected redemption, and a fulfilled one says when;
- the back office's list of every redemption reads newest first from an index.
"""

from adapters.persistence.raw_migration import sql_migration

ID = "2026-12-07T23:38:34:000000"
VERSION = "1.38.0"
DESCRIPTION = "Constraints of reward redemptions collected at a till"

SQL = """
ALTER TABLE reward_redemptions
    ADD CONSTRAINT reward_redemptions_fulfilled
        CHECK ((status = 'fulfilled') = (fulfilled_at IS NOT NULL)),
    ADD CONSTRAINT reward_redemptions_cash_paid CHECK (
        cash_paid IS NULL OR (status = 'fulfilled' AND kind = 'item' AND cash_paid = cash_price)
    ),
    ADD CONSTRAINT reward_redemptions_collected_at CHECK (
        (fulfilled_store_id IS NULL AND fulfilled_terminal_id IS NULL) OR status = 'fulfilled'
    );
CREATE INDEX reward_redemptions_time ON reward_redemptions (redeemed_at DESC, id DESC);
"""


async def forwards():  # type: ignore[no-untyped-def]
    return sql_migration(ID, DESCRIPTION, SQL)
