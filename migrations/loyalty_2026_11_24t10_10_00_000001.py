"""Entries may arrive already chained; the database checks them instead of chaining them.

Until now the BEFORE INSERT row trigger looked up the member's previous entry and hashed every
new entry one row at a time: more than half of the expiry job's statement time, which writes
one entry per expired lot. A writer that holds the member's account lock may now compute seq,
prev_hash and entry_hash itself (the expiry job does, for a whole batch at once):

- the row trigger chains only rows that arrive without an entry_hash, exactly as before (every
  writer that leaves the chain columns empty, such as the sale path, is unchanged);
- an AFTER INSERT statement trigger checks every row the statement inserted, set-based over
  the transition table: its entry_hash must be the hash of its content (loyalty_entry_hash,
  the function the row trigger uses), and its prev_hash the entry_hash of the member's entry
  seq - 1 (empty for seq 1). With UNIQUE (member_id, seq) and seq >= 1 this admits exactly the
  rows the row trigger would have written: a row that skips a seq, repeats one, links to the
  wrong hash or carries a hash of other content fails the whole statement.
"""

from adapters.persistence.raw_migration import sql_migration

ID = "2026-11-24T10:10:00:000001"
VERSION = "1.38.0"
DESCRIPTION = "ledger chain: pre-chained entries, checked per statement"

FORWARDS_SQL = r"""
DROP TRIGGER points_entries_chain ON points_entries;
CREATE TRIGGER points_entries_chain BEFORE INSERT ON points_entries
    FOR EACH ROW WHEN (NEW.entry_hash IS NULL) EXECUTE FUNCTION loyalty_chain_entry();

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
"""


async def forwards():
    return sql_migration(ID, DESCRIPTION, FORWARDS_SQL)
