"""A programme of any size in a few set-based statements (generate_series), for the console's
page timings (tests/bench/console_pages.py) and the snapshot job's tests.

Deterministic: member i has the id md5('seed-member-i'), enrols ``i * 7919`` seconds (mod the
period) before ``now``; sale j belongs to member 1 + j mod N. A tenth of the members are
gold, a quarter silver; regions cycle through four names and none. Sales earn points (one
per 100 minor units, plus one), every seventh sale also redeems five; every third member has a
coupon, every ninth redeemed against one of their sales; every fifth sale grants a draw
chance, every second of those played. Everything happens within ``days`` days before ``now``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

SEED_STORE = "00000000-0000-0000-0000-000000005eed"
SEED_TEMPLATE = "00000000-0000-0000-0000-0000000c0de5"
SEED_CAMPAIGN = "00000000-0000-0000-0000-0000000d4a35"


@dataclass(frozen=True, slots=True)
class Seeded:
    members: int
    sales: int


_SETUP = f"""
INSERT INTO tiers (code, name, rank, threshold, earn_multiplier)
VALUES ('silver', 'Silver', 1, 100000, 1.25), ('gold', 'Gold', 2, 500000, 1.5)
ON CONFLICT DO NOTHING;
INSERT INTO stores (id, code, name) VALUES ('{SEED_STORE}', 'SEED', 'Seed store')
ON CONFLICT DO NOTHING;
"""

# $1 members, $2 now, $3 period in seconds.
_MEMBERS = """
INSERT INTO members (id, phone, name, tier_code, enrolled_at, region)
SELECT md5('seed-member-' || i)::uuid, '+8613' || lpad(i::text, 9, '0'), 'Member ' || i,
       CASE WHEN i % 10 = 0 THEN 'gold' WHEN i % 4 = 0 THEN 'silver' ELSE 'member' END,
       $2::timestamptz - make_interval(secs => (i::bigint * 7919) % $3),
       (ARRAY['North', 'South', 'East', 'West', NULL])[1 + i % 5]
FROM generate_series(1, $1::int) AS i
"""

# Every member's card: '6' and the member's number on 15 digits. $1 first, $2 last member.
CARDS = """
INSERT INTO member_cards (card_number, member_id, status, issued_at)
SELECT '6' || lpad(i::text, 15, '0'), md5('seed-member-' || i)::uuid, 'active', now()
FROM generate_series($1::int, $2::int) AS i
"""

# $1 members, $2 sales, $3 now, $4 period in seconds.
_SALES = f"""
INSERT INTO sales (id, store_id, receipt_id, member_id, channel, currency, occurred_at,
                   recorded_at, subtotal, payable, points_earned)
SELECT md5('seed-sale-' || j)::uuid, '{SEED_STORE}', 'S' || j,
       md5('seed-member-' || (1 + j % $1::int))::uuid, 'pos', 'CNY', at, at,
       1000 + (j * 37) % 5000, 1000 + (j * 37) % 5000, (1000 + (j * 37) % 5000) / 100 + 1
FROM generate_series(1, $2::int) AS j,
     LATERAL (SELECT $3::timestamptz - make_interval(secs => (j::bigint * 104729) % $4) AS at) t
"""

_POINTS = """
INSERT INTO points_entries (member_id, entry_type, points, reference, posting_key, created_at)
SELECT member_id, 'earn', points_earned, 'sale:' || id, 'earn:' || id, occurred_at
FROM sales WHERE receipt_id LIKE 'S%' ORDER BY occurred_at;
INSERT INTO points_entries (member_id, entry_type, points, reference, posting_key, created_at)
SELECT member_id, 'redeem', -5, 'sale:' || id, 'redeem:' || id, occurred_at + interval '1 second'
FROM sales WHERE receipt_id LIKE 'S%' AND substr(receipt_id, 2)::int % 7 = 0 ORDER BY occurred_at;
INSERT INTO points_accounts (member_id, available, updated_at)
SELECT member_id, sum(points), max(created_at) FROM points_entries GROUP BY member_id
ON CONFLICT (member_id) DO UPDATE SET available = EXCLUDED.available;
"""

# $1 members, $2 now.
_COUPONS = f"""
INSERT INTO coupon_templates (id, name, kind, value, channels, valid_days)
VALUES ('{SEED_TEMPLATE}', 'Seed 5 off', 'fixed', 500, ARRAY['pos'], 30)
ON CONFLICT DO NOTHING;
INSERT INTO coupons (code, member_id, template_id, template_version, title, kind, value,
                     channels, valid_from, expires_at, issued_at, source, status, redeemed_at,
                     redeemed_sale_id, updated_at)
SELECT upper(substr(md5('seed-coupon-' || i), 1, 15)), md5('seed-member-' || i)::uuid,
       '{SEED_TEMPLATE}', 1, 'Seed 5 off', 'fixed', 500, ARRAY['pos'], m.enrolled_at,
       m.enrolled_at + interval '400 days', m.enrolled_at, 'admin',
       CASE WHEN s.id IS NULL THEN 'available' ELSE 'redeemed' END,
       s.occurred_at, s.id, $2::timestamptz
FROM generate_series(3, $1::int, 3) AS i
JOIN members m ON m.id = md5('seed-member-' || i)::uuid
LEFT JOIN LATERAL (
    SELECT id, occurred_at FROM sales
    WHERE i % 9 = 0 AND member_id = m.id AND occurred_at > m.enrolled_at
    ORDER BY occurred_at LIMIT 1
) s ON true
"""

# $1 now, $2 period in seconds.
_DRAWS = f"""
INSERT INTO draw_campaigns (id, name, threshold, chances, chance_valid_days, starts_at, ends_at)
VALUES ('{SEED_CAMPAIGN}', 'Seed draw', 1000, 'one', 400,
        $1::timestamptz - make_interval(secs => $2::int) - interval '1 day',
        $1::timestamptz + interval '400 days')
ON CONFLICT DO NOTHING;
INSERT INTO draw_prizes (campaign_id, position, code, name, weight)
VALUES ('{SEED_CAMPAIGN}', 0, 'none', 'Thank you', 1)
ON CONFLICT DO NOTHING;
INSERT INTO draw_chances (campaign_id, member_id, sale_id, granted_at, expires_at, status,
                          played_at, prize_code)
SELECT '{SEED_CAMPAIGN}', member_id, id, occurred_at, occurred_at + interval '400 days',
       CASE WHEN n % 10 = 0 THEN 'played' ELSE 'unplayed' END,
       CASE WHEN n % 10 = 0 THEN occurred_at + interval '1 minute' END,
       CASE WHEN n % 10 = 0 THEN 'none' END
FROM (SELECT *, substr(receipt_id, 2)::int AS n FROM sales WHERE receipt_id LIKE 'S%') s
WHERE n % 5 = 0
"""


async def seed(
    connection: asyncpg.Connection,
    *,
    members: int,
    sales_per_member: int,
    now: datetime,
    days: int,
) -> Seeded:
    period = days * 86_400
    sales = members * sales_per_member
    await connection.execute(_SETUP)
    await connection.execute(_MEMBERS, members, now, period)
    await connection.execute(CARDS, 1, members)
    await connection.execute(_SALES, members, sales, now, period)
    await connection.execute(_POINTS)
    template, coupons = _COUPONS.split(";", 1)
    await connection.execute(template)
    await connection.execute(coupons, members, now)
    campaign, prize, chances = _DRAWS.split(";", 2)
    await connection.execute(campaign, now, period)
    await connection.execute(prize)
    await connection.execute(chances)
    return Seeded(members, sales)
