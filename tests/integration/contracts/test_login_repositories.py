"""The contracts of the login ports: one-time codes and refresh tokens."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from uuid import uuid4

from domain.login import MAX_CODE_ATTEMPTS, LoginChallenge, RefreshToken
from tests.integration.contracts.conftest import Backend
from tests.integration.factories import T0

PHONE = "+8613800138000"


async def test_a_code_counts_its_attempts_until_it_is_consumed_or_spent(backend: Backend) -> None:
    async with backend.committed() as uow:
        await uow.login_challenges.replace(LoginChallenge.issue(PHONE, "hash-1", T0))
    async with backend.committed() as uow:
        counted = await uow.login_challenges.count_attempt(PHONE, T0)
        assert counted is not None
        assert (counted.code_hash, counted.attempts) == ("hash-1", 1)
        assert await uow.login_challenges.count_attempt("+8613900139000", T0) is None
        await uow.login_challenges.consume(PHONE, T0)
    async with backend.committed() as uow:
        assert await uow.login_challenges.count_attempt(PHONE, T0) is None
        await uow.login_challenges.replace(LoginChallenge.issue(PHONE, "hash-2", T0))
    async with backend.committed() as uow:
        for _ in range(MAX_CODE_ATTEMPTS):
            assert await uow.login_challenges.count_attempt(PHONE, T0) is not None
        assert await uow.login_challenges.count_attempt(PHONE, T0) is None


async def test_an_expired_code_counts_no_attempt(backend: Backend) -> None:
    issued = LoginChallenge.issue(PHONE, "hash-1", T0)
    async with backend.committed() as uow:
        await uow.login_challenges.replace(issued)
    async with backend.new_uow() as uow:
        assert await uow.login_challenges.count_attempt(PHONE, issued.expires_at) is None


async def test_refresh_tokens_are_found_by_hash_and_revoked_by_family(backend: Backend) -> None:
    member = await backend.member()
    first = RefreshToken.start_family(uuid4(), member.id, "h-1", T0)
    second = first.successor(uuid4(), "h-2", T0 + timedelta(minutes=1))
    async with backend.committed() as uow:
        await uow.refresh_tokens.add(first)
        await uow.refresh_tokens.mark_used(first.id, T0 + timedelta(minutes=1))
        await uow.refresh_tokens.add(second)
    async with backend.committed() as uow:
        assert await uow.refresh_tokens.member_of("h-2") == member.id
        assert await uow.refresh_tokens.member_of("h-none") is None
        used = await uow.refresh_tokens.get_for_update("h-1")
        assert used == replace(first, used_at=T0 + timedelta(minutes=1))
        assert await uow.refresh_tokens.revoke_family(first.family_id, T0) == 2
    async with backend.new_uow() as uow:
        revoked = await uow.refresh_tokens.get_for_update("h-2")
        assert revoked is not None
        assert revoked.revoked_at == T0


async def test_a_refresh_token_hash_is_issued_once_and_only_to_a_member(
    backend: Backend,
) -> None:
    member = await backend.member()
    token = RefreshToken.start_family(uuid4(), member.id, "h-1", T0)
    async with backend.committed() as uow:
        await uow.refresh_tokens.add(token)
    async with backend.new_uow() as uow:
        with backend.refuses():
            await uow.refresh_tokens.add(RefreshToken.start_family(uuid4(), member.id, "h-1", T0))
    async with backend.new_uow() as uow:
        with backend.refuses():
            await uow.refresh_tokens.add(RefreshToken.start_family(uuid4(), uuid4(), "h-2", T0))
