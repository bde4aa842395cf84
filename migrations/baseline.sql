-- The loyalty schema: every table, constraint, index, function and trigger, and the rows a new
-- programme starts with. Run once, in one transaction, by the baseline migration
-- (loyalty_2026_12_07t21_39_11_000000_baseline.py); later changes are new migrations.
--
-- Sections, in the order they must be created (foreign keys point upwards):
--   1. Append-only tables: the one trigger function they share
--   2. Programme configuration: settings, tiers, tier policy versions
--   3. Stores and terminals
--   4. Members and cards
--   5. Tier history
--   6. Points ledger: accounts, entries and their hash chain, lots, lot movements
--   7. Sales and refunds
--   8. Coupons: templates, issued coupons, automatic rewards
--   9. Prize draws
--  10. Web shop, Stripe, feedback
--  11. Member login and rate limits
--  12. Outbox, idempotency keys, audit log
--  13. CRM: external ids, follow-up calls, RFM scores
--  14. The rows a new programme starts with
--  15. Configuration epoch (for the per-process configuration cache)
--  16. Staff and console sessions
--  17. Segment campaigns
--  18. Outbound webhooks
--  19. Earning rules
--  20. Message templates
--  21. Reward catalogue and guest sale claims
--
-- Conventions:
-- - Every CHECK and UNIQUE restates a rule of the domain, so that a bug shows up as an error
--   instead of as bad data. Names are <table>_<rule>; the service maps some of them to problems.
-- - Foreign keys are ON UPDATE RESTRICT ON DELETE RESTRICT: nothing financial may vanish or
--   move because a parent row did (Piccolo's own default would be CASCADE).
-- - Column types, nullability and defaults are exactly what Piccolo derives from
--   adapters/persistence/tables.py (tests/integration/test_migrations.py compares the two):
--   NOT NULL columns default to '' / 0 / CURRENT_TIMESTAMP, nullable text to NULL, foreign keys
--   carry Piccolo's DEFAULT NULL. The ORM writes every column it inserts, so these defaults
--   only matter to raw SQL; the meaningful ones are statuses and settings.
-- - Columns are in the order the pre-baseline migrations added them (a few tables have late
--   additions at the end), so that this schema is identical to the one those built.
-- - Every member-owned table carries member_id, so the data can later be distributed by member.


-- 1. Append-only tables ----------------------------------------------------------------------

-- The ledger, the audit log, lot movements, tier changes and tier policy versions are history:
-- a row, once written, is never changed or removed. Each of them has a BEFORE UPDATE OR DELETE
-- row trigger calling this function. (TRUNCATE fires no row trigger.)
CREATE FUNCTION loyalty_forbid_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END
$$;


-- 2. Programme configuration -----------------------------------------------------------------

-- The programme's settings: one row, id 1, created below (section 14) and only ever updated.
CREATE TABLE program_settings (
    id integer NOT NULL DEFAULT 0 PRIMARY KEY
        CONSTRAINT program_settings_singleton CHECK (id = 1),
    currency varchar(3) NOT NULL DEFAULT ''
        CONSTRAINT program_settings_currency CHECK (currency ~ '^[A-Z]{3}$'),  -- ISO 4217
    time_zone varchar(64) NOT NULL DEFAULT ''  -- IANA; day-based rules use it
        CONSTRAINT program_settings_time_zone CHECK (time_zone <> ''),
    earn_rate numeric(12,4) NOT NULL DEFAULT 0  -- points per currency unit paid
        CONSTRAINT program_settings_earn_rate CHECK (earn_rate >= 0),
    point_value numeric(12,4) NOT NULL DEFAULT 0  -- minor units one point pays for
        CONSTRAINT program_settings_point_value CHECK (point_value > 0),
    expiry_kind varchar(16) NOT NULL DEFAULT 'never',
    expiry_count integer,
    pending_days integer NOT NULL DEFAULT 14  -- online points wait out the return window
        CONSTRAINT program_settings_pending_days CHECK (pending_days BETWEEN 0 AND 365),
    version integer NOT NULL DEFAULT 1,  -- optimistic concurrency for admin updates
    updated_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    -- CRM: lifecycle stage thresholds and the follow-up call delay, in days.
    crm_churned_days integer NOT NULL DEFAULT 180,
    crm_dormant_days integer NOT NULL DEFAULT 90,
    crm_follow_up_days integer NOT NULL DEFAULT 7
        CONSTRAINT program_settings_follow_up_days CHECK (crm_follow_up_days BETWEEN 1 AND 365),
    crm_new_days integer NOT NULL DEFAULT 30,
    -- Returns taken at any store of the retailer (true) or only at the store of the sale.
    refunds_at_any_store boolean NOT NULL DEFAULT true,
    -- A guest sale can be claimed by a member this many days after it (0: never).
    guest_claim_days integer NOT NULL DEFAULT 30
        CONSTRAINT program_settings_guest_claim_days CHECK (guest_claim_days BETWEEN 0 AND 365),
    -- never; N days after earning; end of the month N months after earning; end of the year
    -- after earning: the N (expiry_count) exists exactly for the two kinds that need it.
    CONSTRAINT program_settings_expiry CHECK (
        expiry_kind IN ('never', 'days', 'end_of_month', 'end_of_year')
        AND (expiry_count IS NULL) = (expiry_kind IN ('never', 'end_of_year'))
    ),
    -- new <= dormant < churned: a member's stage is decided by the first threshold passed.
    CONSTRAINT program_settings_lifecycle CHECK (
        1 <= crm_new_days AND crm_new_days <= crm_dormant_days
        AND crm_dormant_days < crm_churned_days AND crm_churned_days <= 3660
    )
);

-- The tier ladder in force. Ranks are unique: rank orders tiers, threshold says how much
-- qualifying spend reaches them. Every change is also written as a new tier_policies version.
CREATE TABLE tiers (
    code varchar(32) NOT NULL DEFAULT '' PRIMARY KEY
        CONSTRAINT tiers_code CHECK (code <> ''),
    name varchar(100) NOT NULL DEFAULT '',
    rank integer NOT NULL DEFAULT 0 UNIQUE,
    threshold bigint NOT NULL DEFAULT 0  -- qualifying spend, minor units
        CONSTRAINT tiers_threshold CHECK (threshold >= 0),
    earn_multiplier numeric(6,3) NOT NULL DEFAULT 0
        CONSTRAINT tiers_multiplier CHECK (earn_multiplier BETWEEN 1 AND 10)
);

-- Every version of the tier policy (window, grace period, the ladder as JSON); the highest
-- version is in force. History: append-only.
CREATE TABLE tier_policies (
    version integer NOT NULL DEFAULT 0 PRIMARY KEY
        CONSTRAINT tier_policies_version CHECK (version >= 1),
    window_days integer NOT NULL DEFAULT 0  -- qualifying spend is summed over this window
        CONSTRAINT tier_policies_window CHECK (window_days BETWEEN 1 AND 3660),
    grace_days integer NOT NULL DEFAULT 0  -- a member short of their tier keeps it this long
        CONSTRAINT tier_policies_grace CHECK (grace_days BETWEEN 0 AND 365),
    tiers jsonb NOT NULL DEFAULT '{}',
    actor varchar(200) NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE TRIGGER tier_policies_append_only BEFORE UPDATE OR DELETE ON tier_policies
    FOR EACH ROW EXECUTE FUNCTION loyalty_forbid_change();


-- 3. Stores and terminals --------------------------------------------------------------------

CREATE TABLE stores (
    id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
    code varchar(64) NOT NULL DEFAULT '' UNIQUE
        CONSTRAINT stores_code CHECK (code <> ''),
    name varchar(200) NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- A till. It signs in with its code and a secret (kept only as a hash); codes are per store.
CREATE TABLE terminals (
    id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
    store_id uuid NOT NULL REFERENCES stores (id) ON UPDATE RESTRICT ON DELETE RESTRICT,
    code varchar(64) NOT NULL DEFAULT ''
        CONSTRAINT terminals_code CHECK (code <> ''),
    secret_hash varchar(128) NOT NULL DEFAULT '',
    active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    -- A deactivated terminal is refused at its next request; its history stays.
    deactivated_at timestamptz DEFAULT null,
    -- Each rotation of the secret counts up; a POS token names the version it was issued
    -- under, and a token of an older version (or of a deactivated terminal) is refused.
    secret_version integer NOT NULL DEFAULT 1
        CONSTRAINT terminals_secret_version CHECK (secret_version >= 1),
    CONSTRAINT terminals_store_code UNIQUE (store_id, code),
    CONSTRAINT terminals_deactivated CHECK (active = (deactivated_at IS NULL))
);


-- 4. Members and cards -----------------------------------------------------------------------

-- A tenth of each page is left free (fillfactor 90) for the tier review's updates. The review
-- rewrites a member row whenever their tier standing changes; with full pages every such
-- update moves the row to another page and writes an entry in every index of the table. With
-- room on the page, an update that leaves the indexed columns alone stays on its page (a HOT
-- update) and writes no index entry. That is also why tier_code has no index (measured on
-- 1,000,000 members, tests/bench/bench_tiers.py): with one, every tier change would write new
-- entries in every index (primary key, phone, tier) and usually move the row. What such an
-- index would serve costs little without it: a segment of one tier (CRM previews, coupon
-- issues) reads the table, about as fast for a tier of 14 % of the members (both about 0.2 s),
-- and removing a tier (a policy change) checks members.tier_code with one scan per tier.
CREATE TABLE members (
    id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
    -- E.164. Members imported from a retailer's history may have no phone yet. An erased
    -- member's phone is a tombstone, 'x' and 15 hex digits derived from the member id
    -- (domain/member_privacy.py): unique, and never an E.164 number, so no lookup by phone
    -- ever finds an erased member.
    phone varchar(16) UNIQUE
        CONSTRAINT members_phone_e164
            CHECK (phone ~ '^\+[1-9][0-9]{6,14}$' OR phone ~ '^x[0-9a-f]{15}$'),
    name varchar(100) DEFAULT NULL,
    email varchar(254) DEFAULT NULL,
    birthday date,
    tier_code varchar(32) NOT NULL DEFAULT NULL
        REFERENCES tiers (code) ON UPDATE RESTRICT ON DELETE RESTRICT,
    enrolled_store_id uuid REFERENCES stores (id) ON UPDATE RESTRICT ON DELETE RESTRICT,
    enrolled_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    -- Tier standing: a tier set by hand holds until tier_manual_until; tier_short_since is
    -- when a review first found the member short of their tier (the grace period's start).
    tier_manual_until timestamptz,
    tier_short_since timestamptz,
    region varchar(64) DEFAULT NULL
        CONSTRAINT members_region CHECK (region <> ''),
    -- Consent per channel for marketing messages (transactional ones need none); every change
    -- is also a row of member_consent_changes.
    consent_email boolean NOT NULL DEFAULT false,
    consent_push boolean NOT NULL DEFAULT false,
    consent_sms boolean NOT NULL DEFAULT false,
    -- A BCP 47 tag; messages fall back to the programme's language without one.
    preferred_language varchar(35) DEFAULT null
        CONSTRAINT members_preferred_language_shape
            CHECK (preferred_language ~ '^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}$'),
    -- Erasure keeps the row (the books must still add up) and removes what identifies a person.
    CONSTRAINT members_erased_has_no_personal_data
        CHECK (phone !~ '^x' OR (name IS NULL AND email IS NULL AND birthday IS NULL))
) WITH (fillfactor = 90);

-- A member's cards (12-19 digits with a Luhn check digit, checked by the domain). A lost card
-- is replaced and the old number blocked, not deleted: a till scanning it is told so.
CREATE TABLE member_cards (
    card_number varchar(19) NOT NULL DEFAULT '' PRIMARY KEY
        CONSTRAINT member_cards_digits CHECK (card_number ~ '^[0-9]{12,19}$'),
    member_id uuid NOT NULL REFERENCES members (id) ON UPDATE RESTRICT ON DELETE RESTRICT,
    status varchar(16) NOT NULL DEFAULT 'active'
        CONSTRAINT member_cards_status CHECK (status IN ('active', 'blocked')),
    issued_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    blocked_at timestamptz,
    CONSTRAINT member_cards_blocked_at CHECK ((status = 'blocked') = (blocked_at IS NOT NULL))
);
-- A member has exactly one card that works, however two replacements race.
CREATE UNIQUE INDEX member_cards_one_active ON member_cards (member_id) WHERE status = 'active';
CREATE INDEX member_cards_member ON member_cards (member_id);

-- The member search of the console and GET /v1/admin/members reads by
-- - phone: the UNIQUE index on members.phone (the till's lookup, same E.164 normalisation);
-- - card number: member_cards' primary key;
-- - e-mail: members_email_lower, an exact match after normalisation;
-- - external id: member_external_ids_external_id (section 13) and shop_customers' key;
-- - name: a case-insensitive substring, lower(name) LIKE '%...%'. With pg_trgm installed (it is
--   in PostgreSQL's contrib, on every packaged server) a trigram GIN index serves it; without
--   it (the embedded development server has no contrib) the same query scans the table, with
--   the same answers. A substring rather than a prefix: a name's parts come in either order
--   (family name first or last), and a service agent types the part the caller said.
CREATE INDEX members_email_lower ON members (lower(email)) WHERE email IS NOT NULL;
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm') THEN
        CREATE EXTENSION IF NOT EXISTS pg_trgm;
        CREATE INDEX members_name_trgm ON members USING gin (lower(name) gin_trgm_ops)
            WHERE name IS NOT NULL;
    END IF;
END
$$;

-- Every change of a member's consent: which channel, granted or withdrawn, when, and through
-- what (the member's app, or an admin who is named). Read by member, newest first; the member's
-- export carries it.
CREATE TABLE member_consent_changes (
    id bigserial PRIMARY KEY NOT NULL,
    member_id uuid NOT NULL REFERENCES members (id) ON UPDATE RESTRICT ON DELETE RESTRICT DEFAULT null,
    channel varchar(8) NOT NULL DEFAULT '',
    granted boolean NOT NULL DEFAULT false,
    changed_at timestamptz NOT NULL DEFAULT current_timestamp,
    source varchar(16) NOT NULL DEFAULT '',
    actor varchar(200) DEFAULT null
);
ALTER TABLE member_consent_changes
    ADD CONSTRAINT member_consent_changes_channel_known
        CHECK (channel IN ('sms', 'email', 'push')),
    ADD CONSTRAINT member_consent_changes_source_known
        CHECK (source IN ('member_app', 'admin')),
    ADD CONSTRAINT member_consent_changes_admin_named
        CHECK (source <> 'admin' OR actor IS NOT NULL);
CREATE INDEX member_consent_changes_member_newest
    ON member_consent_changes (member_id, id DESC);


-- 5. Tier history ----------------------------------------------------------------------------

-- Every move of a member between tiers, with its reason and the policy version that decided
-- it. History: append-only.
CREATE TABLE tier_changes (
    id bigserial PRIMARY KEY,
    member_id uuid NOT NULL REFERENCES members (id) ON UPDATE RESTRICT ON DELETE RESTRICT,
    from_code varchar(32) NOT NULL DEFAULT '',
    to_code varchar(32) NOT NULL DEFAULT '',
    -- qualified: upgraded as soon as the spend reached the tier; review: the periodic review
    -- (downgrades only there, after the grace period); manual: by staff; policy_change: the
    -- ladder changed under the member.
    reason varchar(16) NOT NULL DEFAULT ''
        CONSTRAINT tier_changes_reason
            CHECK (reason IN ('qualified', 'review', 'manual', 'policy_change')),
    at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    actor varchar(200) DEFAULT NULL,
    note varchar(500) DEFAULT NULL,
    policy_version integer NOT NULL DEFAULT 0,
    CONSTRAINT tier_changes_moved CHECK (from_code <> to_code)
);
CREATE INDEX tier_changes_member ON tier_changes (member_id, at);
CREATE TRIGGER tier_changes_append_only BEFORE UPDATE OR DELETE ON tier_changes
    FOR EACH ROW EXECUTE FUNCTION loyalty_forbid_change();


-- 6. Points ledger ---------------------------------------------------------------------------

-- A member's balances. Invariants of domain/points.py: nothing is ever negative; a member
-- either owes points (debt: a refund clawed back points already spent, later earnings pay it
-- off first) or has some available, never both; and, checked by adapters/persistence/
-- ledger_audit.py, available - debt = the sum of the entries and available = the sum of the
-- open lots' remaining points.
CREATE TABLE points_accounts (
    member_id uuid NOT NULL PRIMARY KEY
        REFERENCES members (id) ON UPDATE RESTRICT ON DELETE RESTRICT,
    available bigint NOT NULL DEFAULT 0
        CONSTRAINT points_accounts_available CHECK (available >= 0),
    pending bigint NOT NULL DEFAULT 0  -- earned online, inside the return window
        CONSTRAINT points_accounts_pending CHECK (pending >= 0),
    debt bigint NOT NULL DEFAULT 0
        CONSTRAINT points_accounts_debt CHECK (debt >= 0),
    updated_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT points_accounts_debt_or_available CHECK (debt = 0 OR available = 0)
);

-- The ledger: every change of a balance is an entry that explains it. Append-only, and each
-- member's entries form a hash chain (seq, prev_hash, entry_hash; see the functions below), so
-- that an entry changed or removed outside the service (with the triggers disabled, say) is
-- found by `loyalty ledger verify` (adapters/persistence/ledger_audit.py).
CREATE TABLE points_entries (
    id bigserial PRIMARY KEY,
    member_id uuid NOT NULL REFERENCES members (id) ON UPDATE RESTRICT ON DELETE RESTRICT,
    entry_type varchar(16) NOT NULL DEFAULT ''
        CONSTRAINT points_entries_type
            CHECK (entry_type IN ('earn', 'redeem', 'expire', 'reverse', 'restore', 'adjust')),
    points bigint NOT NULL DEFAULT 0
        CONSTRAINT points_entries_nonzero CHECK (points <> 0),
    reference varchar(128) NOT NULL DEFAULT '',  -- sale, order, refund, adjustment, expiry run
    -- Every posting carries an idempotency key: a retried posting finds its entry instead of
    -- writing a second one.
    posting_key varchar(200) NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    expires_at timestamptz,
    actor varchar(200) DEFAULT NULL,
    -- The chain. tables.py declares these as Piccolo sees them (seq DEFAULT 0, hashes
    -- nullable) so that the ORM's inserts may leave them out; the database fills them in
    -- (points_entries_chain) and requires them.
    entry_hash bytea NOT NULL,
    prev_hash bytea NOT NULL,
    reason varchar(500) DEFAULT NULL,
    seq bigint NOT NULL
        CONSTRAINT points_entries_seq CHECK (seq >= 1),
    -- Earning and restoring add points; redeeming, expiring and reversing take them; only an
    -- adjustment goes either way, and it says who made it and why.
    CONSTRAINT points_entries_sign CHECK (
        (entry_type IN ('earn', 'restore') AND points > 0)
        OR (entry_type IN ('redeem', 'expire', 'reverse') AND points < 0)
        OR entry_type = 'adjust'
    ),
    CONSTRAINT points_entries_adjust_reason CHECK (
        entry_type <> 'adjust' OR (actor IS NOT NULL AND reason IS NOT NULL)
    ),
    CONSTRAINT points_entries_posting_key UNIQUE (member_id, posting_key),
    -- One entry per position in the chain: a fork is impossible even if two writers skipped
    -- the account lock.
    CONSTRAINT points_entries_chain UNIQUE (member_id, seq)
);
CREATE INDEX points_entries_member_newest ON points_entries (member_id, id DESC);
CREATE INDEX points_entries_created_at ON points_entries (created_at);  -- liability report
CREATE TRIGGER points_entries_append_only BEFORE UPDATE OR DELETE ON points_entries
    FOR EACH ROW EXECUTE FUNCTION loyalty_forbid_change();

-- The hash of an entry: sha256 over a canonical text of its fields, each length-prefixed
-- ("5:hello") and joined by '|', so that no two different entries can produce the same text.
-- Timestamps are written in UTC with microseconds. adapters/persistence/ledger_hash.py
-- computes the same bytes independently, in Python; a test pins the two together.
--
-- These functions are STABLE, not IMMUTABLE: they call to_char, convert_to and casts of
-- numbers to text, which are only STABLE, and a SQL function that claims IMMUTABLE over them
-- is never inlined and is planned again on every call (measured: 25,000 entry hashes took
-- 10 s, 0.35 s once STABLE). Every ledger insert pays this.
CREATE FUNCTION loyalty_field(value text) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT length(coalesce(value, '')) || ':' || coalesce(value, '')
$$;

CREATE FUNCTION loyalty_instant(value timestamptz) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT to_char(value AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US')
$$;

CREATE FUNCTION loyalty_entry_hash(
    member_id uuid, seq bigint, entry_type text, points bigint, reference text,
    posting_key text, created_at timestamptz, expires_at timestamptz, actor text,
    reason text, prev_hash bytea
) RETURNS bytea LANGUAGE sql STABLE AS $$
    SELECT sha256(convert_to(concat_ws('|',
        loyalty_field(member_id::text), loyalty_field(seq::text), loyalty_field(entry_type),
        loyalty_field(points::text), loyalty_field(reference), loyalty_field(posting_key),
        loyalty_field(loyalty_instant(created_at)), loyalty_field(loyalty_instant(expires_at)),
        loyalty_field(actor), loyalty_field(reason), loyalty_field(encode(prev_hash, 'hex'))
    ), 'UTF8'))
$$;

-- Chaining an entry that arrives without its chain columns (most writers, such as the sale
-- path, leave them empty): number it after the member's last entry, link it to that entry's
-- hash (empty for the first) and hash it. The writer holds the member's account lock, so the
-- last entry cannot change underneath; UNIQUE (member_id, seq) catches one that skipped it.
CREATE FUNCTION loyalty_chain_entry() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    last_seq bigint;
    last_hash bytea;
BEGIN
    SELECT seq, entry_hash INTO last_seq, last_hash
    FROM points_entries WHERE member_id = NEW.member_id ORDER BY seq DESC LIMIT 1;
    NEW.seq := coalesce(last_seq, 0) + 1;
    NEW.prev_hash := coalesce(last_hash, ''::bytea);
    NEW.entry_hash := loyalty_entry_hash(
        NEW.member_id, NEW.seq, NEW.entry_type, NEW.points, NEW.reference, NEW.posting_key,
        NEW.created_at, NEW.expires_at, NEW.actor, NEW.reason, NEW.prev_hash
    );
    RETURN NEW;
END
$$;
CREATE TRIGGER points_entries_chain BEFORE INSERT ON points_entries
    FOR EACH ROW WHEN (NEW.entry_hash IS NULL) EXECUTE FUNCTION loyalty_chain_entry();

-- Entries may also arrive already chained: a writer holding the member's account lock may
-- compute seq, prev_hash and entry_hash itself. The expiry job does, for a whole batch at once
-- (one entry per expired lot): chaining row by row in the trigger above was more than half of
-- its statement time. The database checks such entries instead of trusting them: after each
-- INSERT statement, set-based over the rows it inserted, every entry_hash must be the hash of
-- its row's content and every prev_hash the entry_hash of the member's entry seq - 1 (empty
-- for seq 1). With UNIQUE (member_id, seq) and seq >= 1 this admits exactly the rows the row
-- trigger would have written: a row that skips a seq, repeats one, links to the wrong hash or
-- carries a hash of other content fails the whole statement. Rows the row trigger chained
-- pass this check too.
CREATE FUNCTION loyalty_check_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    broken record;
BEGIN
    SELECT new_entry.member_id, new_entry.seq INTO broken
    FROM inserted_entries AS new_entry
    LEFT JOIN points_entries AS previous
        ON previous.member_id = new_entry.member_id AND previous.seq = new_entry.seq - 1
    WHERE new_entry.entry_hash IS DISTINCT FROM loyalty_entry_hash(
              new_entry.member_id, new_entry.seq, new_entry.entry_type, new_entry.points,
              new_entry.reference, new_entry.posting_key, new_entry.created_at,
              new_entry.expires_at, new_entry.actor, new_entry.reason, new_entry.prev_hash)
       OR new_entry.prev_hash IS DISTINCT FROM
              CASE WHEN new_entry.seq = 1 THEN ''::bytea ELSE previous.entry_hash END
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'points_entries: entry % of member % does not continue the hash chain',
            broken.seq, broken.member_id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER points_entries_chain_check AFTER INSERT ON points_entries
    REFERENCING NEW TABLE AS inserted_entries
    FOR EACH STATEMENT EXECUTE FUNCTION loyalty_check_chain();

-- Lots: earned points with their own expiry. Spending takes from the lots that expire soonest;
-- the expiry job expires what is left of a lot after its date. A pending lot (earned online)
-- is released at release_at, once the return window is over. A frozen lot belongs to a
-- disputed Stripe payment: counted in the balance, not spendable.
CREATE TABLE points_lots (
    id bigserial PRIMARY KEY,
    member_id uuid NOT NULL REFERENCES members (id) ON UPDATE RESTRICT ON DELETE RESTRICT,
    reference varchar(128) NOT NULL DEFAULT '',
    earned_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    expires_at timestamptz,
    points bigint NOT NULL DEFAULT 0
        CONSTRAINT points_lots_points CHECK (points >= 0),
    remaining bigint NOT NULL DEFAULT 0,
    pending boolean NOT NULL DEFAULT false,
    release_at timestamptz,
    frozen boolean NOT NULL DEFAULT false,
    CONSTRAINT points_lots_remaining CHECK (remaining BETWEEN 0 AND points),
    CONSTRAINT points_lots_release CHECK (pending OR release_at IS NULL)
);
-- What a spend reads, what the expiry job reads, what the release job reads.
CREATE INDEX points_lots_open ON points_lots (member_id) WHERE remaining > 0 OR pending;
CREATE INDEX points_lots_expiring ON points_lots (expires_at)
    WHERE remaining > 0 AND NOT pending AND expires_at IS NOT NULL;
CREATE INDEX points_lots_releasing ON points_lots (release_at) WHERE pending;
CREATE INDEX points_lots_member ON points_lots (member_id);

-- Which entry took how many points from (or gave back to) which lot. History: append-only.
CREATE TABLE points_lot_movements (
    id bigserial PRIMARY KEY,
    member_id uuid NOT NULL REFERENCES members (id) ON UPDATE RESTRICT ON DELETE RESTRICT,
    entry_id bigint NOT NULL
        REFERENCES points_entries (id) ON UPDATE RESTRICT ON DELETE RESTRICT,
    lot_id bigint NOT NULL REFERENCES points_lots (id) ON UPDATE RESTRICT ON DELETE RESTRICT,
    points bigint NOT NULL DEFAULT 0
        CONSTRAINT points_lot_movements_nonzero CHECK (points <> 0)
);
CREATE INDEX points_lot_movements_entry ON points_lot_movements (entry_id);
CREATE INDEX points_lot_movements_lot ON points_lot_movements (lot_id);
CREATE TRIGGER points_lot_movements_append_only BEFORE UPDATE OR DELETE ON points_lot_movements
    FOR EACH ROW EXECUTE FUNCTION loyalty_forbid_change();


-- 7. Sales and refunds -----------------------------------------------------------------------

-- Amounts are integers in minor units of the programme's currency.
CREATE TABLE sales (
    id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
    store_id uuid NOT NULL REFERENCES stores (id) ON UPDATE RESTRICT ON DELETE RESTRICT,
    terminal_id uuid REFERENCES terminals (id) ON UPDATE RESTRICT ON DELETE RESTRICT,
    receipt_id varchar(64) NOT NULL DEFAULT ''
        CONSTRAINT sales_receipt_id CHECK (receipt_id <> ''),
    member_id uuid REFERENCES members (id) ON UPDATE RESTRICT ON DELETE RESTRICT,
    channel varchar(8) NOT NULL DEFAULT 'pos'
        CONSTRAINT sales_channel CHECK (channel IN ('pos', 'web')),
    currency varchar(3) NOT NULL DEFAULT ''
        CONSTRAINT sales_currency CHECK (currency ~ '^[A-Z]{3}$'),
    occurred_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    recorded_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    subtotal bigint NOT NULL DEFAULT 0,
    discount_total bigint NOT NULL DEFAULT 0,
    points_redeemed bigint NOT NULL DEFAULT 0,
    points_value bigint NOT NULL DEFAULT 0,  -- what the redeemed points paid for
    payable bigint NOT NULL DEFAULT 0,
    points_earned bigint NOT NULL DEFAULT 0,
    refunded_amount bigint NOT NULL DEFAULT 0,
    points_reversed bigint NOT NULL DEFAULT 0,  -- earned points clawed back by refunds
    points_restored bigint NOT NULL DEFAULT 0,  -- redeemed points given back by refunds
    -- Set on history loaded in bulk (e.g. 'online-retail'): analytics only.
    imported_from varchar(32) DEFAULT NULL,
    -- What earned the points (base, tier multiplier, each earning rule and its lines); NULL on
    -- sales recorded before earning rules, and on guests' sales.
    points_breakdown jsonb DEFAULT null,
    -- The part of refunded_amount refunded by amount (naming no lines): rule points on lines
    -- follow it pro rata.
    refunded_by_amount bigint NOT NULL DEFAULT 0,
    -- A receipt is recorded once per store: a second recording of it is refused.
    CONSTRAINT sales_store_receipt UNIQUE (store_id, receipt_id),
    CONSTRAINT sales_amounts_nonneg CHECK (
        subtotal >= 0 AND discount_total >= 0 AND points_redeemed >= 0
        AND points_value >= 0 AND points_earned >= 0
    ),
    CONSTRAINT sales_payable CHECK (
        payable >= 0 AND payable = subtotal - discount_total - points_value
    ),
    -- Refunds never return more than was paid, take back more points than were earned, or
    -- give back more than were redeemed.
    CONSTRAINT sales_refunded CHECK (refunded_amount BETWEEN 0 AND payable),
    CONSTRAINT sales_points_reversed CHECK (points_reversed BETWEEN 0 AND points_earned),
    CONSTRAINT sales_points_restored CHECK (points_restored BETWEEN 0 AND points_redeemed),
    CONSTRAINT sales_refunded_by_amount CHECK (
        refunded_by_amount >= 0 AND refunded_by_amount <= refunded_amount),
    CONSTRAINT sales_points_need_member CHECK (member_id IS NOT NULL OR points_earned = 0),
    -- Imported history earns nothing: it is the past, replayed for analytics.
    CONSTRAINT sales_imported_no_points CHECK (
        imported_from IS NULL OR (points_earned = 0 AND points_redeemed = 0)
    )
);
-- Qualifying spend (tier upgrades, reviews, simulation) read from the index alone: the sum of
-- payable - refunded_amount over a member's window is the hottest read of the tier rules, and
-- carrying both amounts in the index lets PostgreSQL answer it with an index-only scan instead
-- of visiting every sale's heap page.
CREATE INDEX sales_member_spend ON sales (member_id, occurred_at)
    INCLUDE (payable, refunded_amount) WHERE member_id IS NOT NULL;

CREATE TABLE sale_lines (
    id bigserial PRIMARY KEY,
    sale_id uuid NOT NULL REFERENCES sales (id) ON UPDATE RESTRICT ON DELETE RESTRICT,
    member_id uuid,  -- the sale's, copied for distribution by member; no foreign key
    line_no integer NOT NULL DEFAULT 0,
    sku varchar(64) NOT NULL DEFAULT ''
        CONSTRAINT sale_lines_sku CHECK (sku <> ''),
    category varchar(64) DEFAULT NULL,
    quantity integer NOT NULL DEFAULT 0
        CONSTRAINT sale_lines_quantity CHECK (quantity > 0),
    unit_price bigint NOT NULL DEFAULT 0
        CONSTRAINT sale_lines_unit_price CHECK (unit_price >= 0),
    refunded_quantity integer NOT NULL DEFAULT 0,
    CONSTRAINT sale_lines_number UNIQUE (sale_id, line_no),
    -- A line is never refunded more often than it was sold, across all of its refunds.
    CONSTRAINT sale_lines_refunded CHECK (refunded_quantity BETWEEN 0 AND quantity)
);

-- A refund of a sale, applied once per refund id. A refund without its sale exists only as
-- imported history (cancellations whose original sale is not in the file); an import's refund
-- ids are its natural key, so a rerun adds nothing.
CREATE TABLE refunds (
    id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
    sale_id uuid REFERENCES sales (id) ON UPDATE RESTRICT ON DELETE RESTRICT,
    member_id uuid,  -- the sale's, copied; no foreign key
    refund_id varchar(64) NOT NULL DEFAULT ''
        CONSTRAINT refunds_refund_id CHECK (refund_id <> ''),
    amount bigint NOT NULL DEFAULT 0
        CONSTRAINT refunds_amount CHECK (amount >= 0),
    points_reversed bigint NOT NULL DEFAULT 0
        CONSTRAINT refunds_points_reversed CHECK (points_reversed >= 0),
    created_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    imported_from varchar(32) DEFAULT NULL,
    CONSTRAINT refunds_sale_refund_id UNIQUE (sale_id, refund_id),
    CONSTRAINT refunds_sale_or_imported CHECK (sale_id IS NOT NULL OR imported_from IS NOT NULL)
);
CREATE UNIQUE INDEX refunds_imported_key ON refunds (imported_from, refund_id)
    WHERE imported_from IS NOT NULL;
CREATE INDEX refunds_member_created ON refunds (member_id, created_at) INCLUDE (amount)
    WHERE member_id IS NOT NULL;

CREATE TABLE refund_lines (
    id bigserial PRIMARY KEY,
    refund uuid NOT NULL REFERENCES refunds (id) ON UPDATE RESTRICT ON DELETE RESTRICT,
    member_id uuid,
    line_no integer NOT NULL DEFAULT 0,  -- the sale line's number
    quantity integer NOT NULL DEFAULT 0
        CONSTRAINT refund_lines_quantity CHECK (quantity > 0)
);
CREATE INDEX refund_lines_refund ON refund_lines (refund);


-- 8. Coupons ---------------------------------------------------------------------------------

-- The current version of each template; earlier versions are in coupon_template_versions.
-- A coupon is a fixed amount (minor units) or a percentage, valid either for N days from issue
-- or in a fixed window, within optional per-member and total limits.
CREATE TABLE coupon_templates (
    id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
    version integer NOT NULL DEFAULT 1,
    name varchar(100) NOT NULL DEFAULT '',
    kind varchar(8) NOT NULL DEFAULT ''
        CONSTRAINT coupon_templates_kind CHECK (kind IN ('fixed', 'percent')),
    value bigint NOT NULL DEFAULT 0,
    min_spend bigint NOT NULL DEFAULT 0
        CONSTRAINT coupon_templates_min_spend CHECK (min_spend >= 0),
    channels varchar(8)[] NOT NULL DEFAULT '{}'
        CONSTRAINT coupon_templates_channels
            CHECK (cardinality(channels) >= 1 AND channels <@ ARRAY['pos', 'web']::varchar[]),
    stackable boolean NOT NULL DEFAULT false,
    categories varchar(64)[] NOT NULL DEFAULT '{}',
    valid_days integer,
    valid_from timestamptz,
    valid_until timestamptz,
    per_member_limit integer,
    total_limit integer,
    issued bigint NOT NULL DEFAULT 0,  -- coupons issued so far, against total_limit
    created_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    -- A retired template issues no more coupons; those issued stay valid.
    retired_at timestamptz DEFAULT null,
    CONSTRAINT coupon_templates_value CHECK (value >= 1 AND (kind <> 'percent' OR value <= 100)),
    CONSTRAINT coupon_templates_validity CHECK (
        (valid_days IS NOT NULL AND valid_days >= 1
            AND valid_from IS NULL AND valid_until IS NULL)
        OR (valid_days IS NULL AND valid_from IS NOT NULL AND valid_until > valid_from)
    ),
    CONSTRAINT coupon_templates_limits CHECK (
        (per_member_limit IS NULL OR per_member_limit >= 1)
        AND (total_limit IS NULL OR total_limit >= 1)
    ),
    -- The total budget is never overspent, whatever races the issuers run.
    CONSTRAINT coupon_templates_issued CHECK (
        issued >= 0 AND (total_limit IS NULL OR issued <= total_limit)
    )
);

CREATE TABLE coupon_template_versions (
    id bigserial PRIMARY KEY,
    template_id uuid NOT NULL
        REFERENCES coupon_templates (id) ON UPDATE RESTRICT ON DELETE RESTRICT,
    version integer NOT NULL DEFAULT 0,
    definition jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT coupon_template_versions_unique UNIQUE (template_id, version)
);

-- An issued coupon, with a copy of the terms it was issued with (a later template change does
-- not alter it). Redeemed exactly once: the redemption is an UPDATE ... WHERE status =
-- 'available' that a second till, however concurrent, cannot also make.
CREATE TABLE coupons (
    id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
    -- Unique, unguessable and canonical: 15 Crockford base32 symbols (no I, L, O, U).
    code varchar(16) NOT NULL DEFAULT '' UNIQUE
        CONSTRAINT coupons_code_canonical CHECK (code ~ '^[0-9A-HJKMNP-TV-Z]{15}$'),
    member_id uuid NOT NULL REFERENCES members (id) ON UPDATE RESTRICT ON DELETE RESTRICT,
    template_id uuid NOT NULL
        REFERENCES coupon_templates (id) ON UPDATE RESTRICT ON DELETE RESTRICT,
    template_version integer NOT NULL DEFAULT 0,
    title varchar(100) NOT NULL DEFAULT '',
    kind varchar(8) NOT NULL DEFAULT ''
        CONSTRAINT coupons_kind CHECK (kind IN ('fixed', 'percent')),
    value bigint NOT NULL DEFAULT 0,
    min_spend bigint NOT NULL DEFAULT 0
        CONSTRAINT coupons_min_spend CHECK (min_spend >= 0),
    channels varchar(8)[] NOT NULL DEFAULT '{}',
    stackable boolean NOT NULL DEFAULT false,
    categories varchar(64)[] NOT NULL DEFAULT '{}',
    valid_from timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    expires_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    issued_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    source varchar(16) NOT NULL DEFAULT ''
        CONSTRAINT coupons_source
            CHECK (source IN ('admin', 'review', 'draw', 'birthday', 'campaign', 'reward')),
    -- What the coupon was issued for: the reviewed order, the birthday's year, a campaign's
    -- key, a draw chance, a catalogue redemption.
    source_ref varchar(120) DEFAULT NULL,
    status varchar(16) NOT NULL DEFAULT 'available'
        CONSTRAINT coupons_status CHECK (status IN ('available', 'redeemed', 'expired', 'voided')),
    redeemed_at timestamptz,
    redeemed_sale_id uuid REFERENCES sales (id) ON UPDATE RESTRICT ON DELETE RESTRICT,
    updated_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT coupons_value CHECK (value >= 1 AND (kind <> 'percent' OR value <= 100)),
    CONSTRAINT coupons_window CHECK (expires_at > valid_from),
    -- A redeemed coupon names its sale and when, and only a redeemed one does.
    CONSTRAINT coupons_redeemed_by_a_sale CHECK (
        (status = 'redeemed') = (redeemed_sale_id IS NOT NULL)
        AND (status = 'redeemed') = (redeemed_at IS NOT NULL)
    )
);
-- One coupon per member per origin with a ref (review of an order, birthday of a year, a
-- campaign key, a draw chance), whatever races the issuers run.
CREATE UNIQUE INDEX coupons_once_per_origin ON coupons (source, source_ref, member_id)
    WHERE source_ref IS NOT NULL;
CREATE INDEX coupons_member ON coupons (member_id, issued_at DESC, id);
CREATE INDEX coupons_template_member ON coupons (template_id, member_id);  -- per-member limit
CREATE INDEX coupons_redeemed_sale ON coupons (redeemed_sale_id)
    WHERE redeemed_sale_id IS NOT NULL;
CREATE INDEX coupons_available_expiry ON coupons (expires_at) WHERE status = 'available';

-- One row per automatic reward: a coupon for a review with the qualifying rating of the
-- member's own paid order, and a birthday coupon some days ahead.
CREATE TABLE reward_settings (
    kind varchar(16) NOT NULL DEFAULT '' PRIMARY KEY
        CONSTRAINT reward_settings_kind CHECK (kind IN ('review', 'birthday')),
    enabled boolean NOT NULL DEFAULT false,
    template_id uuid REFERENCES coupon_templates (id) ON UPDATE RESTRICT ON DELETE RESTRICT,
    min_rating integer
        CONSTRAINT reward_settings_min_rating CHECK (min_rating BETWEEN 1 AND 5),
    days_ahead integer
        CONSTRAINT reward_settings_days_ahead CHECK (days_ahead BETWEEN 0 AND 60),
    version integer NOT NULL DEFAULT 1,
    updated_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT reward_settings_enabled_has_template CHECK (NOT enabled OR template_id IS NOT NULL)
);


-- 9. Prize draws -----------------------------------------------------------------------------

-- A purchase whose payable amount reaches the threshold earns one chance, or one per multiple
-- of the threshold; a chance is valid for chance_valid_days.
CREATE TABLE draw_campaigns (
    id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
    name varchar(100) NOT NULL DEFAULT '',
    threshold bigint NOT NULL DEFAULT 0
        CONSTRAINT draw_campaigns_threshold CHECK (threshold >= 1),
    chances varchar(16) NOT NULL DEFAULT ''
        CONSTRAINT draw_campaigns_chances CHECK (chances IN ('one', 'per_multiple')),
    chance_valid_days integer NOT NULL DEFAULT 0
        CONSTRAINT draw_campaigns_valid_days CHECK (chance_valid_days >= 1),
    starts_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    ends_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    created_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT draw_campaigns_window CHECK (ends_at > starts_at)
);
CREATE INDEX draw_campaigns_window ON draw_campaigns (starts_at, ends_at);

-- The prize table, drawn by the published weights among prizes in stock (NULL: unlimited).
-- A play takes stock with UPDATE ... WHERE stock > 0; the CHECK backs it.
CREATE TABLE draw_prizes (
    id bigserial PRIMARY KEY,
    campaign_id uuid NOT NULL
        REFERENCES draw_campaigns (id) ON UPDATE RESTRICT ON DELETE RESTRICT,
    position integer NOT NULL DEFAULT 0,
    code varchar(32) NOT NULL DEFAULT '',
    name varchar(100) NOT NULL DEFAULT '',
    weight integer NOT NULL DEFAULT 0
        CONSTRAINT draw_prizes_weight CHECK (weight >= 1),
    template_id uuid REFERENCES coupon_templates (id) ON UPDATE RESTRICT ON DELETE RESTRICT,
    stock integer
        CONSTRAINT draw_prizes_stock CHECK (stock IS NULL OR stock >= 0),
    CONSTRAINT draw_prizes_code UNIQUE (campaign_id, code)
);

-- A chance earned by a sale. A refund that drops the sale below the threshold revokes chances,
-- unplayed ones first: a revoked chance may have been played or not.
CREATE TABLE draw_chances (
    id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
    campaign_id uuid NOT NULL
        REFERENCES draw_campaigns (id) ON UPDATE RESTRICT ON DELETE RESTRICT,
    member_id uuid NOT NULL REFERENCES members (id) ON UPDATE RESTRICT ON DELETE RESTRICT,
    sale_id uuid NOT NULL REFERENCES sales (id) ON UPDATE RESTRICT ON DELETE RESTRICT,
    granted_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    expires_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    status varchar(16) NOT NULL DEFAULT 'unplayed'
        CONSTRAINT draw_chances_status CHECK (status IN ('unplayed', 'played', 'revoked')),
    played_at timestamptz,
    prize_code varchar(32) DEFAULT NULL,
    coupon_id uuid REFERENCES coupons (id) ON UPDATE RESTRICT ON DELETE RESTRICT,
    CONSTRAINT draw_chances_played
        CHECK ((status = 'unplayed') = (played_at IS NULL) OR status = 'revoked'),
    CONSTRAINT draw_chances_window CHECK (expires_at > granted_at)
);
CREATE INDEX draw_chances_member ON draw_chances (member_id, expires_at, id)
    WHERE status = 'unplayed';
CREATE INDEX draw_chances_sale ON draw_chances (sale_id);


-- 10. Web shop, Stripe, feedback -------------------------------------------------------------

-- Each delivered webhook event id, claimed in the transaction that applies it. UNIQUE (source,
-- event_id) is what makes an event apply once: the claim is an INSERT that a second delivery
-- of the same id, however concurrent, cannot also make.
CREATE TABLE webhook_events (
    id bigserial PRIMARY KEY,
    source varchar(16) NOT NULL DEFAULT ''
        CONSTRAINT webhook_events_source CHECK (source IN ('shop', 'stripe')),
    event_id varchar(255) NOT NULL DEFAULT ''
        CONSTRAINT webhook_events_event_id CHECK (length(event_id) >= 1),
    event_type varchar(64) NOT NULL DEFAULT '',
    outcome varchar(16) NOT NULL DEFAULT '',
    received_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT webhook_events_once UNIQUE (source, event_id)
);

-- The web shop's customer ids: an identity of a member in another system.
CREATE TABLE shop_customers (
    customer_id varchar(64) NOT NULL DEFAULT '' PRIMARY KEY
        CONSTRAINT shop_customers_id CHECK (length(customer_id) >= 1),
    member_id uuid NOT NULL REFERENCES members (id) ON UPDATE RESTRICT ON DELETE RESTRICT,
    linked_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX shop_customers_member ON shop_customers (member_id);

CREATE TABLE shop_reviews (
    review_id varchar(64) NOT NULL DEFAULT '' PRIMARY KEY,
    member_id uuid NOT NULL REFERENCES members (id) ON UPDATE RESTRICT ON DELETE RESTRICT,
    sale_id uuid NOT NULL REFERENCES sales (id) ON UPDATE RESTRICT ON DELETE RESTRICT,
    rating integer NOT NULL DEFAULT 0
        CONSTRAINT shop_reviews_rating CHECK (rating BETWEEN 1 AND 5),
    posted_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX shop_reviews_member ON shop_reviews (member_id);
CREATE INDEX shop_reviews_sale ON shop_reviews (sale_id);

-- A member's Stripe payment and the sale its points belong to (none for a shop order, which
-- earns through the shop's webhook). A dispute freezes the points the payment earned.
CREATE TABLE stripe_payments (
    payment_intent_id varchar(255) NOT NULL DEFAULT '' PRIMARY KEY,
    member_id uuid NOT NULL REFERENCES members (id) ON UPDATE RESTRICT ON DELETE RESTRICT,
    sale_id uuid REFERENCES sales (id) ON UPDATE RESTRICT ON DELETE RESTRICT,
    order_id varchar(64) DEFAULT NULL,
    currency varchar(3) NOT NULL DEFAULT ''
        CONSTRAINT stripe_payments_currency CHECK (currency ~ '^[A-Z]{3}$'),
    amount_received bigint NOT NULL DEFAULT 0,
    amount_refunded bigint NOT NULL DEFAULT 0,
    disputed_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT stripe_payments_amounts
        CHECK (amount_received >= 0 AND amount_refunded BETWEEN 0 AND amount_received)
);
CREATE INDEX stripe_payments_member ON stripe_payments (member_id);
CREATE INDEX stripe_payments_sale ON stripe_payments (sale_id) WHERE sale_id IS NOT NULL;

CREATE TABLE feedback (
    id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
    member_id uuid NOT NULL REFERENCES members (id) ON UPDATE RESTRICT ON DELETE RESTRICT,
    kind varchar(16) NOT NULL DEFAULT ''
        CONSTRAINT feedback_kind CHECK (kind IN ('suggestion', 'complaint', 'praise')),
    text varchar(2000) NOT NULL DEFAULT ''
        CONSTRAINT feedback_text CHECK (length(text) BETWEEN 1 AND 2000),
    order_ref varchar(64) DEFAULT NULL,
    status varchar(16) NOT NULL DEFAULT 'new'
        CONSTRAINT feedback_status CHECK (status IN ('new', 'acknowledged', 'resolved')),
    admin_note varchar(1000) DEFAULT NULL,
    created_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_by varchar(200) DEFAULT NULL
);
CREATE INDEX feedback_member ON feedback (member_id, created_at);
CREATE INDEX feedback_newest ON feedback (created_at DESC, id DESC);
CREATE INDEX feedback_status_newest ON feedback (status, created_at DESC, id DESC);


-- 11. Member login and rate limits -----------------------------------------------------------

-- The phone's current login code, as an HMAC; a new code replaces the row. attempts counts the
-- guesses: after the fifth the code is used up (domain/login.py).
CREATE TABLE login_challenges (
    phone varchar(16) NOT NULL DEFAULT '' PRIMARY KEY
        CONSTRAINT login_challenges_phone_e164 CHECK (phone ~ '^\+[1-9][0-9]{6,14}$'),
    code_hash varchar(64) NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    expires_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    attempts integer NOT NULL DEFAULT 0
        CONSTRAINT login_challenges_attempts CHECK (attempts BETWEEN 0 AND 5),
    consumed_at timestamptz,
    CONSTRAINT login_challenges_expiry CHECK (expires_at > created_at)
);

-- Rotating refresh tokens (kept as hashes). Each use issues a child in the same family; a
-- token used twice gives the theft away and revokes its whole family.
CREATE TABLE refresh_tokens (
    id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
    member_id uuid NOT NULL REFERENCES members (id) ON UPDATE RESTRICT ON DELETE RESTRICT,
    family_id uuid NOT NULL DEFAULT gen_random_uuid(),
    parent_id uuid,
    token_hash varchar(128) NOT NULL DEFAULT '' UNIQUE,
    issued_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    expires_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    used_at timestamptz,
    revoked_at timestamptz,
    CONSTRAINT refresh_tokens_expiry CHECK (expires_at > issued_at),
    CONSTRAINT refresh_tokens_parent CHECK (parent_id IS NULL OR parent_id <> id)
);
CREATE INDEX refresh_tokens_family_id ON refresh_tokens (family_id);

-- Rate limits that hold across processes: one row per bucket and fixed window (the key names
-- both), counted by an upsert whose row lock makes the count exact; purged once expired.
CREATE TABLE rate_limit_counters (
    key varchar(300) NOT NULL DEFAULT '' PRIMARY KEY,
    hits integer NOT NULL DEFAULT 0
        CONSTRAINT rate_limit_counters_hits CHECK (hits >= 0),
    expires_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX rate_limit_counters_expiry ON rate_limit_counters (expires_at);


-- 12. Outbox, idempotency keys, audit log ----------------------------------------------------

-- Messages to members (login codes, tier changes, points expiring, coupons issued), written in
-- the transaction that decides to send them and delivered by a worker with retries, so none
-- is sent for a change that rolled back. A message is delivered or dead (given up), never both.
CREATE TABLE outbox (
    id bigserial PRIMARY KEY,
    kind varchar(32) NOT NULL DEFAULT '',
    member_id uuid REFERENCES members (id) ON UPDATE RESTRICT ON DELETE RESTRICT,
    phone varchar(16) DEFAULT NULL,  -- a login code goes to a phone that may be no member's
    payload jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    attempts integer NOT NULL DEFAULT 0
        CONSTRAINT outbox_attempts CHECK (attempts >= 0),
    next_attempt_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    delivered_at timestamptz,
    dead_at timestamptz,
    last_error varchar(500) DEFAULT NULL,
    expires_at timestamptz,
    -- Makes a job's notification idempotent (points expiring: one per member and expiry date).
    dedupe_key varchar(200) DEFAULT NULL UNIQUE,
    CONSTRAINT outbox_recipient CHECK (member_id IS NOT NULL OR phone IS NOT NULL),
    CONSTRAINT outbox_delivered_or_dead CHECK (delivered_at IS NULL OR dead_at IS NULL)
);
-- The worker's claim reads only what is still to be sent, oldest due first.
CREATE INDEX outbox_due ON outbox (next_attempt_at)
    WHERE delivered_at IS NULL AND dead_at IS NULL;
CREATE INDEX outbox_member ON outbox (member_id, created_at) WHERE member_id IS NOT NULL;

-- Idempotency-Key requests (app/idempotency.py): the first request with a key claims it (UNIQUE
-- per caller) in the transaction that performs the write and stores its answer there; a retry
-- gets the first answer and changes nothing again.
CREATE TABLE idempotency_keys (
    id bigserial PRIMARY KEY,
    caller varchar(128) NOT NULL DEFAULT '',
    key varchar(255) NOT NULL DEFAULT ''
        CONSTRAINT idempotency_keys_key CHECK (length(key) BETWEEN 1 AND 255),
    request_hash varchar(64) NOT NULL DEFAULT '',
    status_code integer,
    media_type varchar(64) DEFAULT NULL,
    response_body bytea,
    created_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT idempotency_keys_caller_key UNIQUE (caller, key)
);
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);  -- the purge

-- What was done, by whom, to what; never what was removed. Kept for good: append-only.
CREATE TABLE audit_log (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    actor varchar(200) NOT NULL DEFAULT '',
    action varchar(64) NOT NULL DEFAULT '',
    subject varchar(200) NOT NULL DEFAULT '',
    details jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_at ON audit_log (at);
-- GET /v1/admin/audit-log: each filter (actor, action, subject) with the list's order (id,
-- newest first), so a filtered page reads only its rows. The subject index uses
-- varchar_pattern_ops so that entity=member (subject = 'member' OR LIKE 'member:%') is a range
-- scan in any collation. The period uses audit_log_at.
CREATE INDEX audit_log_actor ON audit_log (actor, id);
CREATE INDEX audit_log_action ON audit_log (action, id);
CREATE INDEX audit_log_subject ON audit_log (subject varchar_pattern_ops, id);
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION loyalty_forbid_change();


-- 13. CRM ------------------------------------------------------------------------------------

-- A member's id in another system (a web shop, an imported customer file): unique per source.
CREATE TABLE member_external_ids (
    id bigserial PRIMARY KEY,
    member_id uuid NOT NULL REFERENCES members (id) ON UPDATE RESTRICT ON DELETE RESTRICT,
    source varchar(32) NOT NULL DEFAULT ''
        CONSTRAINT member_external_ids_source CHECK (source <> ''),
    external_id varchar(128) NOT NULL DEFAULT ''
        CONSTRAINT member_external_ids_external_id CHECK (external_id <> ''),
    created_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT member_external_ids_key UNIQUE (source, external_id)
);
CREATE INDEX member_external_ids_member ON member_external_ids (member_id);
CREATE INDEX member_external_ids_external_id ON member_external_ids (external_id);  -- search

-- A call to a member some days after a purchase: one per sale, with its outcome. A call that
-- was made has a time; a satisfaction score needs the member reached.
CREATE TABLE follow_ups (
    id bigserial PRIMARY KEY,
    member_id uuid NOT NULL REFERENCES members (id) ON UPDATE RESTRICT ON DELETE RESTRICT,
    sale_id uuid NOT NULL UNIQUE REFERENCES sales (id) ON UPDATE RESTRICT ON DELETE RESTRICT,
    due_on date NOT NULL DEFAULT CURRENT_DATE,
    status varchar(16) NOT NULL DEFAULT 'pending'
        CONSTRAINT follow_ups_status
            CHECK (status IN ('pending', 'reached', 'unreachable', 'declined')),
    satisfaction integer,
    outcome varchar(1000) DEFAULT NULL,
    called_at timestamptz,
    called_by varchar(200) DEFAULT NULL,
    created_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT follow_ups_called CHECK ((status = 'pending') = (called_at IS NULL)),
    CONSTRAINT follow_ups_satisfaction CHECK (
        satisfaction IS NULL OR (status = 'reached' AND satisfaction BETWEEN 1 AND 5)
    )
);
CREATE INDEX follow_ups_due ON follow_ups (due_on, id);
CREATE INDEX follow_ups_member ON follow_ups (member_id);

-- The latest RFM scoring of every scored member (`loyalty jobs score-rfm`): quintile scores
-- 1-5, the segment they name, and the raw values they came from.
CREATE TABLE member_rfm_scores (
    member_id uuid NOT NULL PRIMARY KEY
        REFERENCES members (id) ON UPDATE RESTRICT ON DELETE RESTRICT,
    as_of date NOT NULL DEFAULT CURRENT_DATE,
    window_days integer NOT NULL DEFAULT 0,
    recency_days integer NOT NULL DEFAULT 0,
    frequency integer NOT NULL DEFAULT 0,
    monetary bigint NOT NULL DEFAULT 0,
    r integer NOT NULL DEFAULT 0,
    f integer NOT NULL DEFAULT 0,
    m integer NOT NULL DEFAULT 0,
    segment varchar(32) NOT NULL DEFAULT ''
        CONSTRAINT member_rfm_scores_segment CHECK (segment IN (
            'champions', 'loyal', 'potential_loyalists', 'new_customers', 'promising',
            'need_attention', 'about_to_sleep', 'at_risk', 'cant_lose_them', 'hibernating',
            'lost'
        )),
    computed_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT member_rfm_scores_scores CHECK (
        r BETWEEN 1 AND 5 AND f BETWEEN 1 AND 5 AND m BETWEEN 1 AND 5
    ),
    CONSTRAINT member_rfm_scores_values CHECK (
        recency_days >= 0 AND frequency >= 1 AND window_days BETWEEN 1 AND 3660
    )
);
CREATE INDEX member_rfm_scores_segment ON member_rfm_scores (segment);


-- 14. The rows a new programme starts with ---------------------------------------------------

-- One base tier, which every member starts in; its policy as version 1; the settings row.
INSERT INTO tiers (code, name, rank, threshold, earn_multiplier)
VALUES ('member', 'Member', 0, 0, 1);

INSERT INTO tier_policies (version, window_days, grace_days, tiers, actor, created_at)
VALUES (1, 365, 30, '[{"code": "member", "name": "Member", "rank": 0, "threshold": 0,
    "earn_multiplier": "1.000"}]', 'migration', now());

INSERT INTO program_settings (
    id, currency, time_zone, earn_rate, point_value, expiry_kind, expiry_count,
    pending_days, version, updated_at
) VALUES (1, 'CNY', 'Asia/Shanghai', 1, 1, 'never', NULL, 14, 1, now());


-- 15. Configuration epoch --------------------------------------------------------------------

-- One number that changes whenever the configuration does. Each process caches the programme,
-- the tier policy and ladder, and the draw campaigns (adapters/persistence/config_cache.py)
-- and checks this row once per transaction instead of reading them all. A statement trigger
-- on every configuration table sets the epoch in the writer's own transaction, so the new
-- epoch becomes visible exactly when the new configuration does. The value comes from a
-- sequence, which never hands a number out twice: an epoch read inside a transaction that
-- later rolls back can never be seen again, so a cache filled from that transaction can never
-- be mistaken for a committed state. (No Piccolo table: the tests' reset never empties it.)
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
-- A prize's stock is not configuration (every play takes from it) and changes no epoch: an
-- update of draw_prizes counts only when it touches another column.
CREATE TRIGGER draw_prizes_config_epoch
    AFTER INSERT OR DELETE OR TRUNCATE ON draw_prizes
    FOR EACH STATEMENT EXECUTE FUNCTION loyalty_config_changed();
CREATE TRIGGER draw_prizes_config_epoch_update
    AFTER UPDATE OF campaign_id, position, code, name, weight, template_id ON draw_prizes
    FOR EACH STATEMENT EXECUTE FUNCTION loyalty_config_changed();


-- 16. Staff and console sessions --------------------------------------------------------------

-- Who runs the programme: an owner, marketing, service or analyst (app/permissions.py). The
-- password is an argon2id hash; the TOTP secret is sealed (adapters/secret_box.py).
CREATE TABLE staff (
    id uuid PRIMARY KEY NOT NULL DEFAULT gen_random_uuid(),
    email varchar(254) UNIQUE NOT NULL DEFAULT '',
    display_name varchar(200) NOT NULL DEFAULT '',
    role varchar(16) NOT NULL DEFAULT '',
    status varchar(16) NOT NULL DEFAULT '',
    password_hash varchar(255) DEFAULT null,
    totp_secret_sealed varchar(255) DEFAULT null,
    created_at timestamptz NOT NULL DEFAULT current_timestamp,
    updated_at timestamptz NOT NULL DEFAULT current_timestamp
);

-- Console sessions, server-side: the cookie carries a random id, this row its hash. Idle and
-- absolute expiry; a password or role change revokes them all.
CREATE TABLE staff_sessions (
    id_hash varchar(64) PRIMARY KEY NOT NULL DEFAULT '',
    staff_id uuid NOT NULL REFERENCES staff (id) ON UPDATE RESTRICT ON DELETE RESTRICT DEFAULT null,
    created_at timestamptz NOT NULL DEFAULT current_timestamp,
    last_seen_at timestamptz NOT NULL DEFAULT current_timestamp,
    expires_at timestamptz NOT NULL DEFAULT current_timestamp,
    second_factor_pending boolean NOT NULL DEFAULT false,
    revoked_at timestamptz DEFAULT null
);
CREATE INDEX staff_sessions_staff_id ON staff_sessions USING btree (staff_id);

-- One-time set-password links (`loyalty staff create`, an owner's re-issue): kept as hashes.
CREATE TABLE staff_set_password_tokens (
    token_hash varchar(64) PRIMARY KEY NOT NULL DEFAULT '',
    staff_id uuid NOT NULL REFERENCES staff (id) ON UPDATE RESTRICT ON DELETE RESTRICT DEFAULT null,
    created_at timestamptz NOT NULL DEFAULT current_timestamp,
    expires_at timestamptz NOT NULL DEFAULT current_timestamp,
    used_at timestamptz DEFAULT null
);


-- 17. Segment campaigns ------------------------------------------------------------------------

-- A member a segment campaign passed over, and why (limit reached, template retired...), once
-- per campaign and member.
CREATE TABLE coupon_campaign_skips (
    id bigserial PRIMARY KEY NOT NULL,
    campaign_key varchar(100) NOT NULL DEFAULT '',
    template_id uuid NOT NULL REFERENCES coupon_templates (id) ON UPDATE RESTRICT ON DELETE RESTRICT DEFAULT null,
    member_id uuid NOT NULL REFERENCES members (id) ON UPDATE RESTRICT ON DELETE RESTRICT DEFAULT null,
    reason varchar(32) NOT NULL DEFAULT '',
    skipped_at timestamptz NOT NULL DEFAULT current_timestamp
);
ALTER TABLE coupon_campaign_skips
    ADD CONSTRAINT coupon_campaign_skips_once UNIQUE (campaign_key, member_id),
    ADD CONSTRAINT coupon_campaign_skips_reason CHECK (reason <> '');


-- 18. Outbound webhooks ------------------------------------------------------------------------

-- An integrator's endpoint: the events it takes, whether it may receive personal data, its
-- signing secret sealed at rest (and the previous one during a rotation's overlap).
CREATE TABLE webhook_endpoints (
    id uuid PRIMARY KEY NOT NULL DEFAULT gen_random_uuid(),
    url varchar(2000) NOT NULL DEFAULT '',
    description varchar(500) NOT NULL DEFAULT '',
    event_types varchar(64)[] NOT NULL DEFAULT '{}',
    personal_data boolean NOT NULL DEFAULT false,
    enabled boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT current_timestamp,
    consecutive_failures integer NOT NULL DEFAULT 0,
    disabled_at timestamptz DEFAULT null,
    disabled_reason varchar(500) DEFAULT null,
    sealed_secret varchar(200) NOT NULL DEFAULT '',
    sealed_previous_secret varchar(200) DEFAULT null,
    previous_secret_until timestamptz DEFAULT null
);

-- Every change worth telling, written in the transaction of its cause
-- (app/use_cases/announcements.py). Personal data is kept apart and stripped on erasure.
CREATE TABLE integration_events (
    id uuid PRIMARY KEY NOT NULL DEFAULT gen_random_uuid(),
    event_type varchar(64) NOT NULL DEFAULT '',
    occurred_at timestamptz NOT NULL DEFAULT current_timestamp,
    data jsonb NOT NULL DEFAULT '{}',
    personal jsonb DEFAULT null,
    member_id uuid DEFAULT null,
    fanned_out_at timestamptz DEFAULT null
);

-- One delivery per endpoint and event (a fan-out that runs twice writes none twice), retried
-- with backoff until delivered or dead; every attempt is logged.
CREATE TABLE webhook_deliveries (
    id bigserial PRIMARY KEY NOT NULL,
    endpoint_id uuid NOT NULL REFERENCES webhook_endpoints (id) ON UPDATE RESTRICT ON DELETE RESTRICT DEFAULT null,
    event_id uuid NOT NULL REFERENCES integration_events (id) ON UPDATE RESTRICT ON DELETE RESTRICT DEFAULT null,
    queued_at timestamptz NOT NULL DEFAULT current_timestamp,
    next_attempt_at timestamptz NOT NULL DEFAULT current_timestamp,
    attempts integer NOT NULL DEFAULT 0,
    round_attempts integer NOT NULL DEFAULT 0,
    delivered_at timestamptz DEFAULT null,
    dead_at timestamptz DEFAULT null,
    last_status integer DEFAULT null,
    last_error varchar(500) DEFAULT null
);

CREATE TABLE webhook_attempts (
    id bigserial PRIMARY KEY NOT NULL,
    delivery_id bigint NOT NULL REFERENCES webhook_deliveries (id) ON UPDATE RESTRICT ON DELETE RESTRICT DEFAULT null,
    endpoint_id uuid NOT NULL REFERENCES webhook_endpoints (id) ON UPDATE RESTRICT ON DELETE RESTRICT DEFAULT null,
    attempt integer NOT NULL DEFAULT 0,
    at timestamptz NOT NULL DEFAULT current_timestamp,
    status integer DEFAULT null,
    latency_ms integer NOT NULL DEFAULT 0,
    error varchar(500) DEFAULT null
);

ALTER TABLE webhook_deliveries
    ADD CONSTRAINT webhook_deliveries_once UNIQUE (endpoint_id, event_id),
    ADD CONSTRAINT webhook_deliveries_attempts CHECK (attempts >= round_attempts
        AND round_attempts >= 0),
    ADD CONSTRAINT webhook_deliveries_settled CHECK (delivered_at IS NULL OR dead_at IS NULL);
ALTER TABLE webhook_endpoints
    ADD CONSTRAINT webhook_endpoints_event_types CHECK (cardinality(event_types) >= 1),
    ADD CONSTRAINT webhook_endpoints_overlap CHECK
        ((sealed_previous_secret IS NULL) = (previous_secret_until IS NULL));
-- The delivery job's claim reads the pending deliveries by due time, the fan-out the events
-- not yet fanned out; the delivery log is read per endpoint, newest first.
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


-- 19. Earning rules ----------------------------------------------------------------------------

-- The rules in force (their document is domain/earning_rules.py's); configuration, so a change
-- bumps config_epoch and every process's cached rules are current within the transaction that
-- reads them. Every version is kept, append-only, like tier_policies.
CREATE TABLE earning_rules (
    id uuid PRIMARY KEY NOT NULL DEFAULT gen_random_uuid(),
    version integer NOT NULL DEFAULT 0,
    name varchar(120) NOT NULL DEFAULT '',
    status varchar(8) NOT NULL DEFAULT '',
    priority integer NOT NULL DEFAULT 0,
    document jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT current_timestamp,
    updated_at timestamptz NOT NULL DEFAULT current_timestamp
);
ALTER TABLE earning_rules
    ADD CONSTRAINT earning_rules_status CHECK (status IN ('active', 'paused', 'ended')),
    ADD CONSTRAINT earning_rules_version CHECK (version >= 1);
CREATE TRIGGER earning_rules_config_epoch
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON earning_rules
    FOR EACH STATEMENT EXECUTE FUNCTION loyalty_config_changed();

-- A rule's total budget in points, held exactly: the sale that takes its last points locks this
-- row; a refund gives back only what was spent, so spent never goes below 0.
CREATE TABLE earning_rule_budgets (
    rule_id uuid PRIMARY KEY NOT NULL REFERENCES earning_rules (id) ON UPDATE RESTRICT ON DELETE RESTRICT DEFAULT null,
    spent bigint NOT NULL DEFAULT 0
);
ALTER TABLE earning_rule_budgets
    ADD CONSTRAINT earning_rule_budgets_spent CHECK (spent >= 0);

CREATE TABLE earning_rule_versions (
    id bigserial PRIMARY KEY NOT NULL,
    rule_id uuid NOT NULL REFERENCES earning_rules (id) ON UPDATE RESTRICT ON DELETE RESTRICT DEFAULT null,
    version integer NOT NULL DEFAULT 0,
    document jsonb NOT NULL DEFAULT '{}',
    actor varchar(200) NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT current_timestamp
);
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

-- What each rule gave each sale (negative for a refund's reversal): read by member, rule and
-- time for the per-member limits, by sale for refunds, by rule for reports.
CREATE TABLE earning_rule_awards (
    id bigserial PRIMARY KEY NOT NULL,
    rule_id uuid NOT NULL REFERENCES earning_rules (id) ON UPDATE RESTRICT ON DELETE RESTRICT DEFAULT null,
    rule_version integer NOT NULL DEFAULT 0,
    sale_id uuid NOT NULL REFERENCES sales (id) ON UPDATE RESTRICT ON DELETE RESTRICT DEFAULT null,
    member_id uuid NOT NULL DEFAULT gen_random_uuid(),
    refund_id uuid DEFAULT null,
    points bigint NOT NULL DEFAULT 0,
    occurred_at timestamptz NOT NULL DEFAULT current_timestamp
);
CREATE INDEX earning_rule_awards_member ON earning_rule_awards (member_id, rule_id, occurred_at);
CREATE INDEX earning_rule_awards_sale ON earning_rule_awards (sale_id);
CREATE INDEX earning_rule_awards_rule ON earning_rule_awards (rule_id);


-- 20. Message templates ------------------------------------------------------------------------

-- An admin's override of a shipped message template, one per kind and language.
CREATE TABLE message_templates (
    key varchar(64) PRIMARY KEY NOT NULL DEFAULT '',
    kind varchar(32) NOT NULL DEFAULT '',
    language varchar(8) NOT NULL DEFAULT '',
    subject varchar(200) NOT NULL DEFAULT '',
    body text NOT NULL DEFAULT '',
    updated_at timestamptz NOT NULL DEFAULT current_timestamp,
    actor varchar(200) NOT NULL DEFAULT ''
);
ALTER TABLE message_templates
    ADD CONSTRAINT message_templates_key CHECK (key = kind || '.' || language),
    ADD CONSTRAINT message_templates_language CHECK (language IN ('zh-CN', 'en')),
    ADD CONSTRAINT message_templates_body_length CHECK (char_length(body) BETWEEN 1 AND 2000);


-- 21. Reward catalogue and guest sale claims --------------------------------------------------

-- A reward bought with points (plus a cash price paid at the till): a coupon from a template
-- or an item with a fulfilment code. The stock is never overdrawn (redeemed <= stock).
CREATE TABLE catalogue_rewards (
    id uuid PRIMARY KEY NOT NULL DEFAULT gen_random_uuid(),
    version integer NOT NULL DEFAULT 1,
    name varchar(100) NOT NULL DEFAULT '',
    description varchar(1000) NOT NULL DEFAULT '',
    kind varchar(8) NOT NULL DEFAULT '',
    points_cost bigint NOT NULL DEFAULT 0,
    cash_price bigint NOT NULL DEFAULT 0,
    coupon_template_id uuid REFERENCES coupon_templates (id) ON UPDATE RESTRICT ON DELETE RESTRICT DEFAULT null,
    stock bigint DEFAULT null,
    redeemed bigint NOT NULL DEFAULT 0,
    per_member_limit integer DEFAULT null,
    available_from timestamptz DEFAULT null,
    available_until timestamptz DEFAULT null,
    tiers varchar(32)[] NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT current_timestamp,
    updated_at timestamptz NOT NULL DEFAULT current_timestamp,
    retired_at timestamptz DEFAULT null
);
ALTER TABLE catalogue_rewards
    ADD CONSTRAINT catalogue_rewards_kind CHECK (kind IN ('coupon', 'item')),
    ADD CONSTRAINT catalogue_rewards_name CHECK (name <> ''),
    ADD CONSTRAINT catalogue_rewards_points_cost CHECK (points_cost >= 1),
    ADD CONSTRAINT catalogue_rewards_cash_price CHECK (cash_price >= 0),
    ADD CONSTRAINT catalogue_rewards_stock
        CHECK (redeemed >= 0 AND (stock IS NULL OR redeemed <= stock)),
    ADD CONSTRAINT catalogue_rewards_per_member_limit
        CHECK (per_member_limit IS NULL OR per_member_limit >= 1),
    ADD CONSTRAINT catalogue_rewards_template
        CHECK ((kind = 'coupon') = (coupon_template_id IS NOT NULL)),
    ADD CONSTRAINT catalogue_rewards_window
        CHECK (available_from IS NULL OR available_until IS NULL
               OR available_until > available_from);

-- A sale of a guest (no member named) that a member may claim within guest_claim_days, once.
CREATE TABLE guest_sale_claims (
    sale_id uuid PRIMARY KEY NOT NULL REFERENCES sales (id) ON UPDATE RESTRICT ON DELETE RESTRICT DEFAULT null,
    code varchar(16) UNIQUE DEFAULT null,
    member_id uuid REFERENCES members (id) ON UPDATE RESTRICT ON DELETE RESTRICT DEFAULT null,
    claimed_at timestamptz DEFAULT null,
    claimed_via varchar(8) DEFAULT null,
    terminal_id uuid REFERENCES terminals (id) ON UPDATE RESTRICT ON DELETE RESTRICT DEFAULT null
);
ALTER TABLE guest_sale_claims
    ADD CONSTRAINT guest_sale_claims_claimed CHECK (
        (member_id IS NULL) = (claimed_at IS NULL)
        AND (member_id IS NULL) = (claimed_via IS NULL)
    ),
    ADD CONSTRAINT guest_sale_claims_via CHECK (claimed_via IN ('app', 'pos'));

-- A redemption: a cancelled one says when and by whom, a coupon redemption names its coupon and
-- an item its fulfilment code; the member's holdings are read by (member, reward).
CREATE TABLE reward_redemptions (
    id uuid PRIMARY KEY NOT NULL DEFAULT gen_random_uuid(),
    reward_id uuid NOT NULL REFERENCES catalogue_rewards (id) ON UPDATE RESTRICT ON DELETE RESTRICT DEFAULT null,
    reward_version integer NOT NULL DEFAULT 0,
    member_id uuid NOT NULL REFERENCES members (id) ON UPDATE RESTRICT ON DELETE RESTRICT DEFAULT null,
    kind varchar(8) NOT NULL DEFAULT '',
    name varchar(100) NOT NULL DEFAULT '',
    points bigint NOT NULL DEFAULT 0,
    cash_price bigint NOT NULL DEFAULT 0,
    coupon_id uuid REFERENCES coupons (id) ON UPDATE RESTRICT ON DELETE RESTRICT DEFAULT null,
    fulfilment_code varchar(16) UNIQUE DEFAULT null,
    status varchar(16) NOT NULL DEFAULT 'issued',
    redeemed_at timestamptz NOT NULL DEFAULT current_timestamp,
    cancelled_at timestamptz DEFAULT null,
    cancelled_by varchar(200) DEFAULT null,
    cancel_reason varchar(500) DEFAULT null,
    fulfilled_at timestamptz DEFAULT null
);
ALTER TABLE reward_redemptions
    ADD CONSTRAINT reward_redemptions_kind CHECK (kind IN ('coupon', 'item')),
    ADD CONSTRAINT reward_redemptions_points CHECK (points >= 1),
    ADD CONSTRAINT reward_redemptions_cash_price CHECK (cash_price >= 0),
    ADD CONSTRAINT reward_redemptions_status
        CHECK (status IN ('issued', 'fulfilled', 'cancelled')),
    ADD CONSTRAINT reward_redemptions_cancelled CHECK (
        (status = 'cancelled') = (cancelled_at IS NOT NULL)
        AND (status = 'cancelled') = (cancelled_by IS NOT NULL)
    ),
    ADD CONSTRAINT reward_redemptions_what CHECK (
        (kind = 'coupon' AND coupon_id IS NOT NULL AND fulfilment_code IS NULL)
        OR (kind = 'item' AND coupon_id IS NULL AND fulfilment_code IS NOT NULL)
    );
CREATE INDEX reward_redemptions_member ON reward_redemptions (member_id, reward_id)
    WHERE status <> 'cancelled';
CREATE INDEX reward_redemptions_member_time ON reward_redemptions (member_id, redeemed_at DESC);
