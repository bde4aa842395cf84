from __future__ import annotations

import base64
from dataclasses import replace
from uuid import UUID

import pytest

from app.secrets import hash_secret
from app.transactions import read, write
from app.use_cases.stores import (
    CreateStore,
    CreateTerminal,
    NewTerminal,
    authenticate_terminal,
    create_store,
    create_terminal,
)
from domain.errors import (
    InvalidCredentials,
    InvalidInput,
    StoreExists,
    StoreNotFound,
    TerminalExists,
)
from domain.repositories import AuditRecord
from domain.stores import Store, Terminal
from tests.support.fakes import FakeWorld, SequenceRandom

ADMIN = "admin:alice"


@pytest.fixture
def world() -> FakeWorld:
    return FakeWorld(stores=False)  # these tests open their own


async def new_store(world: FakeWorld, code: str = "SH-001", name: str = "Shanghai 1") -> Store:
    cmd = CreateStore(code=code, name=name, actor=ADMIN)
    return await write(
        world.uow_factory, lambda uow: create_store(cmd, uow, clock=world.clock, ids=world.ids)
    )


async def new_terminal(world: FakeWorld, store_id: UUID, code: str = "T1") -> NewTerminal:
    cmd = CreateTerminal(store_id=store_id, code=code, actor=ADMIN)
    return await write(
        world.uow_factory,
        lambda uow: create_terminal(
            cmd, uow, clock=world.clock, ids=world.ids, random=world.random
        ),
    )


async def authenticate(world: FakeWorld, terminal_id: UUID, secret: str) -> Terminal:
    return await read(
        world.uow_factory, lambda uow: authenticate_terminal(terminal_id, secret, uow)
    )


async def test_a_new_store_is_stored_and_audited(world: FakeWorld) -> None:
    store = await new_store(world, name="  Shanghai 1  ")
    assert store == Store(
        id=UUID(int=1), code="SH-001", name="Shanghai 1", created_at=world.clock.now()
    )
    assert world.db.stores.stores == {store.id: store}
    assert world.db.audit.records == [
        AuditRecord(ADMIN, "store.created", f"store:{store.id}", {"code": "SH-001"})
    ]


async def test_a_store_code_can_be_used_once(world: FakeWorld) -> None:
    await new_store(world)
    with pytest.raises(StoreExists):
        await new_store(world, name="Another")
    assert len(world.db.stores.stores) == 1
    assert len(world.db.audit.records) == 1


@pytest.mark.parametrize(("code", "name"), [("", "x"), ("-bad", "x"), ("ok", "   "), ("ok", "")])
async def test_a_store_needs_a_valid_code_and_a_name(
    world: FakeWorld, code: str, name: str
) -> None:
    with pytest.raises(InvalidInput):
        await new_store(world, code=code, name=name)
    assert world.db.audit.records == []


async def test_a_new_terminal_gets_a_secret_that_is_stored_only_as_a_hash(
    world: FakeWorld,
) -> None:
    store = await new_store(world)
    world.random = SequenceRandom(seed=7)
    expected_secret = (
        base64.urlsafe_b64encode(SequenceRandom(seed=7).token_bytes(32)).rstrip(b"=").decode()
    )
    created = await new_terminal(world, store.id)
    assert created.secret == expected_secret
    assert len(created.secret) == 43
    assert created.terminal == Terminal(
        id=UUID(int=2),
        store_id=store.id,
        code="T1",
        secret_hash=hash_secret(expected_secret),
        created_at=world.clock.now(),
    )
    assert created.secret not in repr(world.db.stores.terminals)
    assert world.db.audit.records[-1] == AuditRecord(
        ADMIN,
        "terminal.created",
        f"terminal:{created.terminal.id}",
        {"store_id": str(store.id), "code": "T1"},
    )


async def test_a_terminal_needs_an_existing_store(world: FakeWorld) -> None:
    with pytest.raises(StoreNotFound):
        await new_terminal(world, UUID(int=404))
    assert world.db.stores.terminals == {}
    assert world.db.audit.records == []


async def test_a_terminal_code_is_unique_within_its_store_only(world: FakeWorld) -> None:
    first = await new_store(world, code="SH-001")
    second = await new_store(world, code="SH-002")
    await new_terminal(world, first.id, "T1")
    await new_terminal(world, second.id, "T1")
    with pytest.raises(TerminalExists):
        await new_terminal(world, first.id, "T1")
    assert len(world.db.stores.terminals) == 2
    assert [r.action for r in world.db.audit.records].count("terminal.created") == 2


async def test_a_terminal_authenticates_with_its_secret(world: FakeWorld) -> None:
    store = await new_store(world)
    created = await new_terminal(world, store.id)
    terminal = await authenticate(world, created.terminal.id, created.secret)
    assert terminal == created.terminal


async def test_a_wrong_secret_and_an_unknown_terminal_get_the_same_answer(
    world: FakeWorld,
) -> None:
    store = await new_store(world)
    created = await new_terminal(world, store.id)
    with pytest.raises(InvalidCredentials) as wrong:
        await authenticate(world, created.terminal.id, created.secret + "x")
    with pytest.raises(InvalidCredentials) as unknown:
        await authenticate(world, UUID(int=404), created.secret)
    assert wrong.value.code == unknown.value.code == "invalid_credentials"
    assert wrong.value.detail == unknown.value.detail


async def test_a_deactivated_terminal_cannot_authenticate(world: FakeWorld) -> None:
    store = await new_store(world)
    created = await new_terminal(world, store.id)
    terminals = world.db.stores.terminals
    terminals[created.terminal.id] = replace(created.terminal, active=False)
    with pytest.raises(InvalidCredentials):
        await authenticate(world, created.terminal.id, created.secret)


async def test_two_terminals_get_different_secrets(world: FakeWorld) -> None:
    store = await new_store(world)
    one = await new_terminal(world, store.id, "T1")
    two = await new_terminal(world, store.id, "T2")
    assert one.secret != two.secret
    with pytest.raises(InvalidCredentials):
        await authenticate(world, one.terminal.id, two.secret)
