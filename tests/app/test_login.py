"""Member login on fakes with a fixed clock: code expiry and guesses, rate limits, rotation."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.transactions import write
from app.use_cases.login import (
    LoginLimits,
    LoginPorts,
    RequestLoginCode,
    Session,
    VerifyLoginCode,
    refresh_session,
    request_login_code,
    verify_login_code,
)
from app.use_cases.members import EnrolMember, enrol_member
from domain.errors import InvalidLoginCode, InvalidPhoneNumber, InvalidRefreshToken, RateLimited
from domain.login import CODE_TTL, MAX_CODE_ATTEMPTS, REFRESH_TOKEN_TTL, LoginCodeHasher, RateLimit
from domain.notifications import NotificationKind
from tests.support.fakes import FakeRateLimiter, FakeSecretBox, FakeWorld

PHONE = "+8613800138000"
IP = "203.0.113.7"


def ports(
    world: FakeWorld, *, per_phone: int = 5, per_ip: int = 20, guesses: int = 100
) -> LoginPorts:
    hour = timedelta(hours=1)
    return LoginPorts(
        clock=world.clock,
        ids=world.ids,
        random=world.random,
        contacts=world.contacts,
        hasher=LoginCodeHasher(b"s" * 32),
        limiter=FakeRateLimiter(),
        limits=LoginLimits(
            codes_per_phone=RateLimit(per_phone, hour),
            codes_per_ip=RateLimit(per_ip, hour),
            guesses_per_ip=RateLimit(guesses, hour),
        ),
        secrets=FakeSecretBox(),
    )


async def ask(world: FakeWorld, login: LoginPorts, phone: str = PHONE, ip: str = IP) -> str:
    """Requests a code and returns it as the SMS would carry it."""
    await write(
        world.uow_factory, lambda uow: request_login_code(RequestLoginCode(phone, ip), uow, login)
    )
    sent = world.db.outbox.of_kind(NotificationKind.LOGIN_CODE)[-1]
    return login.secrets.open(str(sent.payload["sealed_code"]))


async def verify(world: FakeWorld, login: LoginPorts, code: str, phone: str = PHONE) -> Session:
    return await verify_login_code(VerifyLoginCode(phone, code, IP), world.uow_factory, login)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


async def test_a_code_is_six_digits_queued_for_the_phone_and_stored_only_as_a_hash(
    world: FakeWorld,
) -> None:
    login = ports(world)

    code = await ask(world, login, "138 0013 8000")

    assert len(code) == 6
    assert code.isdigit()
    [message] = world.db.outbox.notifications
    assert message.phone == PHONE
    assert code not in str(message.payload)  # sealed for its stay in the outbox
    assert message.expires_at == world.clock.now() + CODE_TTL
    stored = world.db.login_challenges.challenges[PHONE]
    assert code not in stored.code_hash
    assert login.hasher.matches(PHONE, code, stored.code_hash)
    assert not login.hasher.matches("+8613900139000", code, stored.code_hash)


async def test_the_right_code_enrols_a_new_phone_and_starts_a_refresh_family(
    world: FakeWorld,
) -> None:
    login = ports(world)
    code = await ask(world, login)

    session = await verify(world, login, code)

    assert session.enrolled
    member = await world.db.members.get_by_phone(PHONE)
    assert member is not None
    assert session.member_id == member.id
    [token] = world.db.refresh_tokens.tokens.values()
    assert token.family_id == token.id
    assert token.expires_at == world.clock.now() + REFRESH_TOKEN_TTL
    assert session.refresh_token not in token.token_hash


async def test_an_existing_member_is_logged_in_not_enrolled_again(world: FakeWorld) -> None:
    login = ports(world)
    summary = await write(
        world.uow_factory,
        lambda uow: enrol_member(
            EnrolMember(phone=PHONE),
            uow,
            clock=world.clock,
            ids=world.ids,
            random=world.random,
            contacts=world.contacts,
        ),
    )
    code = await ask(world, login)

    session = await verify(world, login, code)

    assert session.member_id == summary.member_id
    assert not session.enrolled
    assert len(world.db.members.members) == 1


async def test_a_code_works_until_just_before_five_minutes_and_not_at_five(
    world: FakeWorld,
) -> None:
    login = ports(world)
    code = await ask(world, login)
    world.clock.advance(CODE_TTL - timedelta(microseconds=1))
    assert (await verify(world, login, code)).member_id

    code = await ask(world, login)
    world.clock.advance(CODE_TTL)
    with pytest.raises(InvalidLoginCode):
        await verify(world, login, code)


async def test_the_fifth_guess_may_still_be_right(world: FakeWorld) -> None:
    login = ports(world)
    code = await ask(world, login)
    for _ in range(MAX_CODE_ATTEMPTS - 1):
        with pytest.raises(InvalidLoginCode):
            await verify(world, login, wrong(code))

    assert (await verify(world, login, code)).enrolled


async def test_after_five_wrong_guesses_the_right_code_is_refused_the_same_way(
    world: FakeWorld,
) -> None:
    login = ports(world)
    code = await ask(world, login)
    for _ in range(MAX_CODE_ATTEMPTS):
        with pytest.raises(InvalidLoginCode):
            await verify(world, login, wrong(code))

    with pytest.raises(InvalidLoginCode) as refused:
        await verify(world, login, code)

    assert refused.value.detail == InvalidLoginCode().detail
    assert world.db.login_challenges.challenges[PHONE].attempts == MAX_CODE_ATTEMPTS


async def test_a_wrong_guess_is_counted_although_the_answer_is_a_refusal(
    world: FakeWorld,
) -> None:
    login = ports(world)
    code = await ask(world, login)

    with pytest.raises(InvalidLoginCode):
        await verify(world, login, wrong(code))

    assert world.db.login_challenges.challenges[PHONE].attempts == 1


async def test_a_code_works_once_and_a_new_code_voids_the_previous(world: FakeWorld) -> None:
    login = ports(world)
    first = await ask(world, login)
    second = await ask(world, login)
    assert first != second  # the seeded random source gives two different codes
    with pytest.raises(InvalidLoginCode):
        await verify(world, login, first)

    await verify(world, login, second)

    with pytest.raises(InvalidLoginCode):
        await verify(world, login, second)


async def test_a_phone_that_never_asked_gets_the_same_refusal(world: FakeWorld) -> None:
    with pytest.raises(InvalidLoginCode):
        await verify(world, ports(world), "123456")


async def test_an_unparseable_phone_is_a_validation_error(world: FakeWorld) -> None:
    with pytest.raises(InvalidPhoneNumber):
        await ask(world, ports(world), "12")


async def test_codes_are_limited_per_phone_with_the_time_until_the_window_ends(
    world: FakeWorld,
) -> None:
    login = ports(world, per_phone=2)
    await ask(world, login)
    await ask(world, login, ip="198.51.100.1")

    with pytest.raises(RateLimited) as limited:
        await ask(world, login, ip="198.51.100.2")

    # FixedClock starts at 09:30:00: the hour's window ends in 30 minutes.
    assert limited.value.retry_after_seconds == 30 * 60
    await ask(world, login, "+8613900139000")  # another phone is not affected
    assert len(world.db.outbox.notifications) == 3  # the refused request queued nothing


async def test_codes_are_limited_per_client_address_across_phones(world: FakeWorld) -> None:
    login = ports(world, per_ip=2)
    await ask(world, login, "+8613900000001")
    await ask(world, login, "+8613900000002")

    with pytest.raises(RateLimited):
        await ask(world, login, "+8613900000003")
    await ask(world, login, "+8613900000003", ip="198.51.100.9")


async def test_guesses_are_limited_per_client_address(world: FakeWorld) -> None:
    login = ports(world, guesses=3)
    code = await ask(world, login)
    for _ in range(3):
        with pytest.raises(InvalidLoginCode):
            await verify(world, login, wrong(code))

    with pytest.raises(RateLimited):
        await verify(world, login, code)


# Refresh tokens -----------------------------------------------------------------------------


async def logged_in(world: FakeWorld, login: LoginPorts) -> Session:
    return await verify(world, login, await ask(world, login))


async def test_refreshing_uses_the_token_up_and_issues_its_successor(world: FakeWorld) -> None:
    login = ports(world)
    first = await logged_in(world, login)
    world.clock.advance(days=1)

    second = await refresh_session(first.refresh_token, world.uow_factory, login)

    assert second.member_id == first.member_id
    assert second.refresh_token != first.refresh_token
    assert second.refresh_expires_at == world.clock.now() + REFRESH_TOKEN_TTL
    tokens = sorted(world.db.refresh_tokens.tokens.values(), key=lambda t: t.issued_at)
    assert tokens[0].used_at == world.clock.now()
    assert tokens[1].parent_id == tokens[0].id
    assert tokens[1].family_id == tokens[0].family_id
    third = await refresh_session(second.refresh_token, world.uow_factory, login)
    assert third.member_id == first.member_id


async def test_a_replayed_token_revokes_every_token_of_its_family_only(world: FakeWorld) -> None:
    login = ports(world)
    stolen = await logged_in(world, login)
    other_device = await logged_in(world, login)
    current = await refresh_session(stolen.refresh_token, world.uow_factory, login)
    current = await refresh_session(current.refresh_token, world.uow_factory, login)

    with pytest.raises(InvalidRefreshToken):
        await refresh_session(stolen.refresh_token, world.uow_factory, login)

    with pytest.raises(InvalidRefreshToken):
        await refresh_session(current.refresh_token, world.uow_factory, login)
    # Another login of the same member is another family and carries on.
    assert await refresh_session(other_device.refresh_token, world.uow_factory, login)


async def test_a_refresh_token_expires_after_thirty_days(world: FakeWorld) -> None:
    login = ports(world)
    session = await logged_in(world, login)
    world.clock.advance(REFRESH_TOKEN_TTL)

    with pytest.raises(InvalidRefreshToken):
        await refresh_session(session.refresh_token, world.uow_factory, login)


async def test_an_unknown_refresh_token_is_refused(world: FakeWorld) -> None:
    with pytest.raises(InvalidRefreshToken):
        await refresh_session("made-up", world.uow_factory, ports(world))
