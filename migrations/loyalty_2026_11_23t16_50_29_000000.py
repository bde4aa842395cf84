"""The RFM snapshot's invariants: scores 1-5, a known segment, positive frequency."""

from adapters.persistence.raw_migration import sql_migration

ID = "2026-11-23T16:50:29:000000"
VERSION = "1.38.0"
DESCRIPTION = "member RFM scores constraints"

FORWARDS_SQL = """
ALTER TABLE member_rfm_scores
    ADD CONSTRAINT member_rfm_scores_scores CHECK (
        r BETWEEN 1 AND 5 AND f BETWEEN 1 AND 5 AND m BETWEEN 1 AND 5
    ),
    ADD CONSTRAINT member_rfm_scores_values CHECK (
        recency_days >= 0 AND frequency >= 1 AND window_days BETWEEN 1 AND 3660
    ),
    ADD CONSTRAINT member_rfm_scores_segment CHECK (segment IN (
        'champions', 'loyal', 'potential_loyalists', 'new_customers', 'promising',
        'need_attention', 'about_to_sleep', 'at_risk', 'cant_lose_them', 'hibernating', 'lost'
    ));
CREATE INDEX member_rfm_scores_segment ON member_rfm_scores (segment);
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, FORWARDS_SQL)
