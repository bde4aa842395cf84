"""Constraints and indexes for the admin's member search, terminals and campaign skips.

Member search (GET /v1/admin/members) reads by
- phone: the UNIQUE index on members.phone (the till's lookup, same E.164 normalisation);
- card number: member_cards' primary key;
- e-mail: ``members_email_lower`` on lower(email), an exact match after normalisation;
- external id: ``member_external_ids_external_id`` (the id in any source) and the primary key
  of shop_customers;
- name: a case-insensitive substring, lower(name) LIKE '%...%'. With pg_trgm installed (it is
  in PostgreSQL's contrib, on every packaged server) a trigram GIN index serves it; without
  it (the embedded development server has no contrib) the same query scans the table, with
  the same answers. The choice of a substring over a prefix: a name's parts come in either
  order (family name first or last), and a service agent types the part the caller said.
"""

from adapters.persistence.raw_migration import sql_migration

ID = "2026-12-07T20:47:20:000000"
DESCRIPTION = "Indexes of the admin's member search; campaign skips once per member"

SQL = """
CREATE INDEX members_email_lower ON members (lower(email)) WHERE email IS NOT NULL;
CREATE INDEX member_external_ids_external_id ON member_external_ids (external_id);

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm') THEN
        CREATE EXTENSION IF NOT EXISTS pg_trgm;
        CREATE INDEX members_name_trgm ON members USING gin (lower(name) gin_trgm_ops)
            WHERE name IS NOT NULL;
    END IF;
END
$$;

UPDATE terminals SET deactivated_at = created_at WHERE NOT active;
ALTER TABLE terminals
    ADD CONSTRAINT terminals_secret_version CHECK (secret_version >= 1),
    ADD CONSTRAINT terminals_deactivated CHECK (active = (deactivated_at IS NULL));

ALTER TABLE coupon_campaign_skips
    ADD CONSTRAINT coupon_campaign_skips_once UNIQUE (campaign_key, member_id),
    ADD CONSTRAINT coupon_campaign_skips_reason CHECK (reason <> '');

-- A retry of POST /v1/admin/terminals replayed the new terminal's secret from here for 48
-- hours. The stored answers lose it; a retry now answers the terminal without its secret.
UPDATE idempotency_keys
SET response_body = convert_to(
    ((convert_from(response_body, 'UTF8')::jsonb - 'secret')
     || '{"secret": null, "secret_withheld": true}'::jsonb)::text, 'UTF8')
WHERE media_type = 'application/json'
  AND response_body IS NOT NULL
  AND left(convert_from(response_body, 'UTF8'), 1) = '{'
  AND convert_from(response_body, 'UTF8')::jsonb ?& ARRAY['terminal_id', 'secret'];
"""


async def forwards():  # type: ignore[no-untyped-def]
    return sql_migration(ID, DESCRIPTION, SQL)
