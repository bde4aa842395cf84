"""Checks of the console's snapshots, and the index that pages a cell of the RFM grid.

- dashboard_days: counts are never negative; the standing (liability, tiers) is all or none;
- report_snapshots: one row per known report;
- member_rfm_scores: a cell's members, most valuable first, a page at a time (keyset on
  monetary, member_id), without sorting the cell on every page.
"""

from adapters.persistence.raw_migration import sql_migration

ID = "2026-12-07T23:34:23:000000"
VERSION = "1.38.0"
DESCRIPTION = "Checks of the console snapshots; the RFM cell index"

SQL = """
ALTER TABLE dashboard_days
    ADD CONSTRAINT dashboard_days_counts CHECK (
        members_total >= 0 AND members_new >= 0 AND sales >= 0 AND points_earned >= 0
        AND points_redeemed >= 0 AND coupons_issued >= 0 AND coupons_redeemed >= 0
        AND draw_plays >= 0
    ),
    ADD CONSTRAINT dashboard_days_standing CHECK (
        (points_available IS NULL) = (members_per_tier IS NULL)
        AND (points_available IS NULL) = (points_pending IS NULL)
        AND (points_available IS NULL) = (points_debt IS NULL)
    );

ALTER TABLE report_snapshots
    ADD CONSTRAINT report_snapshots_name CHECK (name IN ('rfm_grid', 'lifecycle', 'regions'));

CREATE INDEX member_rfm_scores_cell
    ON member_rfm_scores (r, f, monetary DESC, member_id DESC);
"""


async def forwards():  # type: ignore[no-untyped-def]
    return sql_migration(ID, DESCRIPTION, SQL)
