"""The ledger's hash chain, the lots' invariants, and opening lots for existing balances.

Each member's entries form a chain: a BEFORE INSERT trigger numbers the entry (seq) and
stores the previous entry's hash and its own, sha256 over a length-prefixed canonical text
(see adapters/persistence/ledger_hash.py, which recomputes it independently). UNIQUE
(member_id, seq) makes a fork impossible even if two writers skipped the account lock.
"""

from adapters.persistence.raw_migration import sql_migration

ID = "2026-11-23T13:52:13:977185"
VERSION = "1.38.0"
DESCRIPTION = "ledger hash chain, lot constraints, opening lots"

FORWARDS_SQL = r"""
CREATE FUNCTION loyalty_field(value text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT length(coalesce(value, '')) || ':' || coalesce(value, '')
$$;

CREATE FUNCTION loyalty_instant(value timestamptz) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT to_char(value AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US')
$$;

CREATE FUNCTION loyalty_entry_hash(
    member_id uuid, seq bigint, entry_type text, points bigint, reference text,
    posting_key text, created_at timestamptz, expires_at timestamptz, actor text,
    reason text, prev_hash bytea
) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
    SELECT sha256(convert_to(concat_ws('|',
        loyalty_field(member_id::text), loyalty_field(seq::text), loyalty_field(entry_type),
        loyalty_field(points::text), loyalty_field(reference), loyalty_field(posting_key),
        loyalty_field(loyalty_instant(created_at)), loyalty_field(loyalty_instant(expires_at)),
        loyalty_field(actor), loyalty_field(reason), loyalty_field(encode(prev_hash, 'hex'))
    ), 'UTF8'))
$$;

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

-- Chain the entries written before the chain existed, oldest first per member.
ALTER TABLE points_entries DISABLE TRIGGER points_entries_append_only;
DO $$
DECLARE
    entry record;
    previous bytea;
    current_member uuid;
    n bigint;
BEGIN
    FOR entry IN SELECT * FROM points_entries ORDER BY member_id, id LOOP
        IF current_member IS DISTINCT FROM entry.member_id THEN
            current_member := entry.member_id;
            previous := ''::bytea;
            n := 0;
        END IF;
        n := n + 1;
        UPDATE points_entries SET seq = n, prev_hash = previous,
            entry_hash = loyalty_entry_hash(entry.member_id, n, entry.entry_type, entry.points,
                entry.reference, entry.posting_key, entry.created_at, entry.expires_at,
                entry.actor, entry.reason, previous)
        WHERE id = entry.id
        RETURNING entry_hash INTO previous;
    END LOOP;
END
$$;
ALTER TABLE points_entries ENABLE TRIGGER points_entries_append_only;

ALTER TABLE points_entries
    ALTER COLUMN seq DROP DEFAULT,
    ALTER COLUMN prev_hash SET NOT NULL,
    ALTER COLUMN entry_hash SET NOT NULL,
    ADD CONSTRAINT points_entries_chain UNIQUE (member_id, seq),
    ADD CONSTRAINT points_entries_seq CHECK (seq >= 1),
    ADD CONSTRAINT points_entries_adjust_reason CHECK (
        entry_type <> 'adjust' OR (actor IS NOT NULL AND reason IS NOT NULL)
    );
CREATE TRIGGER points_entries_chain BEFORE INSERT ON points_entries
    FOR EACH ROW EXECUTE FUNCTION loyalty_chain_entry();

ALTER TABLE points_lots
    ADD CONSTRAINT points_lots_points CHECK (points >= 0),
    ADD CONSTRAINT points_lots_remaining CHECK (remaining BETWEEN 0 AND points),
    ADD CONSTRAINT points_lots_release CHECK (pending OR release_at IS NULL);
CREATE INDEX points_lots_open ON points_lots (member_id) WHERE remaining > 0 OR pending;
CREATE INDEX points_lots_expiring ON points_lots (expires_at)
    WHERE remaining > 0 AND NOT pending AND expires_at IS NOT NULL;
CREATE INDEX points_lots_releasing ON points_lots (release_at) WHERE pending;

ALTER TABLE points_lot_movements ADD CONSTRAINT points_lot_movements_nonzero CHECK (points <> 0);
CREATE INDEX points_lot_movements_entry ON points_lot_movements (entry_id);
CREATE INDEX points_lot_movements_lot ON points_lot_movements (lot_id);
CREATE TRIGGER points_lot_movements_append_only BEFORE UPDATE OR DELETE ON points_lot_movements
    FOR EACH ROW EXECUTE FUNCTION loyalty_forbid_change();

ALTER TABLE sales
    ADD CONSTRAINT sales_points_restored CHECK (points_restored BETWEEN 0 AND points_redeemed);

-- Balances from before lots existed become one opening lot each, never expiring.
INSERT INTO points_lots (member_id, reference, earned_at, expires_at, points, remaining)
SELECT member_id, 'migration:opening-balance', now(), NULL, available, available
FROM points_accounts WHERE available > 0;
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, FORWARDS_SQL)
