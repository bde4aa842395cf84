"""The member search on PostgreSQL: each criterion is served by an index (never a scan of the
members table), and the use case finds through the directory what the till's lookup finds."""

from __future__ import annotations

from uuid import UUID

import asyncpg
import pytest

from adapters.contacts import LibraryContactNormaliser
from adapters.persistence.engine import start_engine, stop_engine
from adapters.persistence.member_search import _QUERIES, PostgresMemberDirectory
from app.use_cases.member_search import MemberQuery, find_members
from domain.errors import InvalidInput
from domain.member_search import SearchBy

pytestmark = pytest.mark.db

CONTACTS = LibraryContactNormaliser("CN")
VALUES = {
    SearchBy.PHONE: "+8613800138000",
    SearchBy.CARD_NUMBER: "6280000000000004",
    SearchBy.EMAIL: "li.wei@example.com",
    SearchBy.NAME: "wei",
    SearchBy.EXTERNAL_ID: "17850",
}


@pytest.mark.parametrize("by", list(SearchBy))
async def test_each_criterion_reads_through_an_index_not_the_whole_members_table(
    clean_db: str, by: SearchBy
) -> None:
    connection = await asyncpg.connect(clean_db)
    try:
        trigrams = await connection.fetchval(
            "SELECT count(*) FROM pg_available_extensions WHERE name = 'pg_trgm'"
        )
        if by is SearchBy.NAME and not trigrams:
            pytest.skip("this server has no pg_trgm: a name is found by a scan")
        async with connection.transaction():
            await connection.execute("SET LOCAL enable_seqscan = off")
            plan = "\n".join(
                row[0]
                for row in await connection.fetch("EXPLAIN " + _QUERIES[by], VALUES[by], None, 50)
            )
    finally:
        await connection.close()

    assert "Seq Scan on members" not in plan, plan
    assert "Index" in plan, plan


async def test_the_name_index_is_a_trigram_index_where_pg_trgm_is_installed(clean_db: str) -> None:
    connection = await asyncpg.connect(clean_db)
    try:
        available = await connection.fetchval(
            "SELECT count(*) FROM pg_available_extensions WHERE name = 'pg_trgm'"
        )
        definition = await connection.fetchval(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'members_name_trgm'"
        )
    finally:
        await connection.close()

    if available:
        assert "gin_trgm_ops" in definition
    else:
        assert definition is None


async def test_the_use_case_normalises_before_it_asks_and_needs_exactly_one_criterion(
    engine: object,
) -> None:
    class Recording:
        def __init__(self) -> None:
            self.asked: list[tuple[SearchBy, str]] = []

        async def find(
            self, by: SearchBy, value: str, *, after: UUID | None, limit: int
        ) -> list[object]:
            self.asked.append((by, value))
            return []

    directory = Recording()
    for query in (
        MemberQuery(phone="138 0013 8000"),
        MemberQuery(email="Li.Wei@Example.COM"),
        MemberQuery(name="  Li   WEI "),
        MemberQuery(external_id=" 17850 "),
    ):
        await find_members(query, directory, contacts=CONTACTS, after=None, limit=10)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        await find_members(MemberQuery(), directory, contacts=CONTACTS, after=None, limit=10)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        await find_members(
            MemberQuery(phone="13800138000", name="li"),
            directory,  # type: ignore[arg-type]
            contacts=CONTACTS,
            after=None,
            limit=10,
        )

    assert directory.asked == [
        (SearchBy.PHONE, "+8613800138000"),
        (SearchBy.EMAIL, "li.wei@example.com"),
        (SearchBy.NAME, "li wei"),
        (SearchBy.EXTERNAL_ID, "17850"),
    ]


async def test_the_directory_leaves_out_erased_members(engine: object, clean_db: str) -> None:
    pg = await start_engine(clean_db, min_size=1, max_size=2)
    connection = await asyncpg.connect(clean_db)
    try:
        await connection.execute(
            "INSERT INTO tiers (code, name, rank, threshold, earn_multiplier) "
            "VALUES ('t', 'T', 0, 0, 1) ON CONFLICT DO NOTHING"
        )
        tier = await connection.fetchval("SELECT code FROM tiers ORDER BY rank LIMIT 1")
        kept, erased = UUID(int=1), UUID(int=2)
        await connection.execute(
            "INSERT INTO members (id, phone, tier_code) VALUES "
            "($1, '+8613800138001', $3), ($2, 'x0123456789abcde', $3)",
            kept,
            erased,
            tier,
        )
        for n, member in enumerate((kept, erased), start=1):
            await connection.execute(
                "INSERT INTO member_cards (card_number, member_id) VALUES ($1, $2)",
                f"628000000000000{n}",
                member,
            )
        directory = PostgresMemberDirectory(pg)
        found = await directory.find(SearchBy.CARD_NUMBER, "6280000000000002", after=None, limit=10)
        other = await directory.find(SearchBy.CARD_NUMBER, "6280000000000001", after=None, limit=10)
    finally:
        await connection.close()
        await stop_engine(pg)

    assert found == []
    assert [m.member_id for m in other] == [kept]
