from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from app.idempotency import request_fingerprint, run_idempotently
from app.idempotency_store import StoredResponse
from app.unit_of_work import UnitOfWork
from domain.errors import DomainError, IdempotencyKeyReused, RefundExceedsSale
from domain.repositories import AuditRecord
from tests.support.fakes import FakeWorld

CALLER = "pos:terminal-1"
CREATED = StoredResponse(201, b'{"ok":true}', "application/json")


def render_error(error: DomainError) -> StoredResponse:
    body = json.dumps({"code": error.code, "detail": error.detail}).encode()
    return StoredResponse(422, body, "application/problem+json")


class Operation:
    """Writes an audit record and answers (or fails); counts how often it ran."""

    def __init__(self, *, fail_with: Exception | None = None) -> None:
        self.calls = 0
        self.fail_with = fail_with

    async def __call__(self, uow: UnitOfWork) -> StoredResponse:
        self.calls += 1
        await uow.audit.record(AuditRecord("pos:t", "did.something", f"call:{self.calls}", {}))
        if self.fail_with is not None:
            raise self.fail_with
        return CREATED


async def run(
    world: FakeWorld, operation: Operation, *, key: str = "key-1", request_hash: str = "h1"
) -> StoredResponse:
    return await run_idempotently(
        world.uow_factory,
        world.clock,
        caller=CALLER,
        key=key,
        request_hash=request_hash,
        operation=operation,
        render_error=render_error,
    )


async def test_the_first_request_runs_and_its_answer_is_remembered(world: FakeWorld) -> None:
    operation = Operation()
    assert await run(world, operation) == CREATED
    assert operation.calls == 1
    assert [r.subject for r in world.db.audit.records] == ["call:1"]
    row = world.db.idempotency.keys[(CALLER, "key-1")]
    assert (row.request_hash, row.response, row.created_at) == ("h1", CREATED, world.clock.now())
    assert world.uow_factory.made[0].committed


async def test_a_retry_gets_the_same_answer_without_running_again(world: FakeWorld) -> None:
    operation = Operation()
    first = await run(world, operation)
    world.clock.advance(hours=1)
    again = await run(world, operation)
    assert again == first == CREATED
    assert operation.calls == 1
    assert len(world.db.audit.records) == 1


async def test_the_same_key_with_another_request_is_refused(world: FakeWorld) -> None:
    operation = Operation()
    await run(world, operation, request_hash="h1")
    with pytest.raises(IdempotencyKeyReused):
        await run(world, operation, request_hash="h2")
    assert operation.calls == 1
    assert world.db.idempotency.keys[(CALLER, "key-1")].request_hash == "h1"


async def test_keys_belong_to_their_caller(world: FakeWorld) -> None:
    operation = Operation()
    await run(world, operation)
    other = await run_idempotently(
        world.uow_factory,
        world.clock,
        caller="pos:terminal-2",
        key="key-1",
        request_hash="h2",
        operation=operation,
        render_error=render_error,
    )
    assert other == CREATED
    assert operation.calls == 2


async def test_different_keys_run_separately(world: FakeWorld) -> None:
    operation = Operation()
    await run(world, operation, key="a")
    await run(world, operation, key="b")
    assert operation.calls == 2
    assert len(world.db.audit.records) == 2


async def test_a_refusal_is_remembered_and_its_writes_are_undone(world: FakeWorld) -> None:
    operation = Operation(fail_with=RefundExceedsSale("100 requested, 0 left"))
    answer = await run(world, operation)
    assert answer == StoredResponse(
        422,
        b'{"code": "refund_exceeds_sale", "detail": "100 requested, 0 left"}',
        "application/problem+json",
    )
    assert world.db.audit.records == []  # rolled back with the operation's transaction
    assert world.db.idempotency.keys[(CALLER, "key-1")].response == answer
    first, remembered = world.uow_factory.made
    assert first.rolled_back
    assert remembered.committed
    # The retry hears the same refusal, even if the operation would now succeed.
    operation.fail_with = None
    assert await run(world, operation) == answer
    assert operation.calls == 1
    assert world.db.audit.records == []


class RetryingFirst:
    """A unit of work before which a retry of the same key runs to its end."""

    def __init__(self, uow: Any, retry: Callable[[], Awaitable[StoredResponse]]) -> None:
        self.uow = uow
        self.retry = retry
        self.retried: StoredResponse | None = None

    async def __aenter__(self) -> Any:
        self.retried = await self.retry()
        return await self.uow.__aenter__()

    async def __aexit__(self, *exc: Any) -> None:
        await self.uow.__aexit__(*exc)


async def test_a_retry_that_took_the_key_before_the_refusal_was_stored_answers_for_both(
    world: FakeWorld,
) -> None:
    # The refused request's transaction rolled back, its claim on the key with it; a retry
    # claimed the key and succeeded before the refusal could be stored in a new transaction.
    refused = Operation(fail_with=RefundExceedsSale("100 requested, 0 left"))
    retry = Operation()
    made: list[Any] = []

    def uow_factory() -> Any:
        uow = world.uow_factory()
        made.append(uow)
        if len(made) == 2:  # the one the refusal would be stored in
            return RetryingFirst(uow, lambda: run(world, retry))
        return uow

    answer = await run_idempotently(
        uow_factory,
        world.clock,
        caller=CALLER,
        key="key-1",
        request_hash="h1",
        operation=refused,
        render_error=render_error,
    )

    assert answer == CREATED
    assert (refused.calls, retry.calls) == (1, 1)
    assert world.db.idempotency.keys[(CALLER, "key-1")].response == CREATED
    assert [r.subject for r in world.db.audit.records] == ["call:1"]  # the retry's


async def test_an_unexpected_error_leaves_nothing_behind_so_a_retry_runs_again(
    world: FakeWorld,
) -> None:
    operation = Operation(fail_with=RuntimeError("database went away"))
    with pytest.raises(RuntimeError, match="went away"):
        await run(world, operation)
    assert world.db.idempotency.keys == {}
    assert world.db.audit.records == []
    assert not world.uow_factory.made[0].committed
    operation.fail_with = None
    assert await run(world, operation) == CREATED
    assert operation.calls == 2
    assert [r.subject for r in world.db.audit.records] == ["call:2"]


# Fingerprints -------------------------------------------------------------------------------


def test_the_fingerprint_ignores_key_order_and_whitespace() -> None:
    one = request_fingerprint("POST", "/v1/pos/sales", b'{"a": 1, "b": [1, 2], "c": {"x": null}}')
    two = request_fingerprint("POST", "/v1/pos/sales", b'{"c":{"x":null},"b":[1,2],\n "a":1}')
    assert one == two
    assert len(one) == 64
    assert int(one, 16) >= 0


def test_the_fingerprint_ignores_the_case_of_the_method() -> None:
    assert request_fingerprint("post", "/p", b"{}") == request_fingerprint("POST", "/p", b"{}")


def test_the_fingerprint_depends_on_method_path_and_body_values() -> None:
    base = request_fingerprint("POST", "/v1/pos/sales", b'{"a": 1}')
    assert request_fingerprint("PUT", "/v1/pos/sales", b'{"a": 1}') != base
    assert request_fingerprint("POST", "/v1/pos/quote", b'{"a": 1}') != base
    assert request_fingerprint("POST", "/v1/pos/sales", b'{"a": 2}') != base
    assert request_fingerprint("POST", "/v1/pos/sales", b'{"a": "1"}') != base
    assert request_fingerprint("POST", "/v1/pos/sales", b'[{"a": 1}]') != base


def test_the_fingerprint_does_not_confuse_where_path_ends_and_body_begins() -> None:
    assert request_fingerprint("POST", "/a", b'"b"') != request_fingerprint("POST", '/a"b', b"")


def test_an_empty_body_is_the_same_as_json_null() -> None:
    assert request_fingerprint("POST", "/p", b"") == request_fingerprint("POST", "/p", b"null")


def test_a_body_that_is_not_json_is_hashed_as_it_is() -> None:
    assert request_fingerprint("POST", "/p", b"not json") == request_fingerprint(
        "POST", "/p", b"not json"
    )
    assert request_fingerprint("POST", "/p", b"not json") != request_fingerprint(
        "POST", "/p", b"not  json"
    )
    assert request_fingerprint("POST", "/p", b"\xff\xfe") != request_fingerprint(
        "POST", "/p", b"\xff"
    )
