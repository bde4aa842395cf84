"""Members log in with their phone: a one-time code by SMS, then rotating refresh tokens.

Verifying a code and refreshing a session open their own unit of work: a wrong guess and a
replayed refresh token must leave a trace (the guess counted, the family revoked) although the
answer is a refusal, so those commit before they refuse.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from app.secrets import hash_secret, new_secret
from app.unit_of_work import (
    UnitOfWorkFactory,
    WithLoginChallenges,
    WithOutbox,
    WithRefreshTokens,
)
from app.use_cases.members import EnrolMember, MembersUnit, enrol_member
from domain.contacts import ContactNormaliser
from domain.errors import InvalidLoginCode, InvalidRefreshToken, MemberExists, RateLimited
from domain.login import (
    CODE_TTL,
    LoginChallenge,
    LoginCodeHasher,
    RateLimit,
    RateLimiter,
    RefreshToken,
    RefreshVerdict,
    new_login_code,
)
from domain.notifications import Notification, NotificationKind, SecretBox
from domain.ports import Clock, IdGenerator, RandomSource


class LoginUnit(MembersUnit, WithLoginChallenges, WithOutbox, WithRefreshTokens, Protocol):
    """What these use cases use of the unit of work (any ``UnitOfWork`` has it)."""


@dataclass(frozen=True, slots=True)
class LoginLimits:
    codes_per_phone: RateLimit
    codes_per_ip: RateLimit
    guesses_per_ip: RateLimit


@dataclass(frozen=True, slots=True)
class LoginPorts:
    """What the login use cases need besides the unit of work (wired once at start-up)."""

    clock: Clock
    ids: IdGenerator
    random: RandomSource
    contacts: ContactNormaliser
    hasher: LoginCodeHasher
    limiter: RateLimiter
    limits: LoginLimits
    secrets: SecretBox


async def _within(ports: LoginPorts, bucket: str, rule: RateLimit, now: datetime) -> None:
    wait = await ports.limiter.hit(bucket, rule, now)
    if wait is not None:
        raise RateLimited(
            int(wait.total_seconds() + 0.999), "too many requests; see the Retry-After header"
        )


@dataclass(frozen=True, slots=True)
class RequestLoginCode:
    phone: str
    client_ip: str


async def request_login_code(cmd: RequestLoginCode, uow: LoginUnit, ports: LoginPorts) -> None:
    """A fresh code replaces the phone's previous one and goes out by SMS (through the outbox,
    committed with the code). Whether the phone belongs to a member is not revealed."""
    phone = ports.contacts.phone(cmd.phone)
    now = ports.clock.now()
    await _within(ports, f"login-code:ip:{cmd.client_ip}", ports.limits.codes_per_ip, now)
    await _within(ports, f"login-code:phone:{phone}", ports.limits.codes_per_phone, now)
    code = new_login_code(ports.random)
    challenge = LoginChallenge.issue(phone, ports.hasher.hash(phone, code), now)
    await uow.login_challenges.replace(challenge)
    await uow.outbox.add(
        Notification(
            kind=NotificationKind.LOGIN_CODE,
            created_at=now,
            phone=phone,
            payload={
                "sealed_code": ports.secrets.seal(code),
                "minutes": int(CODE_TTL.total_seconds() // 60),
            },
            expires_at=challenge.expires_at,
        )
    )


@dataclass(frozen=True, slots=True)
class VerifyLoginCode:
    phone: str
    code: str
    client_ip: str


@dataclass(frozen=True, slots=True)
class Session:
    member_id: UUID
    refresh_token: str  # shown once; only its hash is stored
    refresh_expires_at: datetime
    enrolled: bool = False  # this login created the member


async def verify_login_code(
    cmd: VerifyLoginCode, uow_factory: UnitOfWorkFactory, ports: LoginPorts
) -> Session:
    """The right code, in time, within five guesses, logs the member in (enrolling a new
    phone); anything else is one and the same refusal, and the guess is counted."""
    phone = ports.contacts.phone(cmd.phone)
    now = ports.clock.now()
    await _within(ports, f"login-verify:ip:{cmd.client_ip}", ports.limits.guesses_per_ip, now)
    async with uow_factory() as uow:
        challenge = await uow.login_challenges.count_attempt(phone, now)
        matches = ports.hasher.matches(
            phone, cmd.code, challenge.code_hash if challenge else "0" * 64
        )
        if challenge is None or not challenge.accepts(matches, now):
            await uow.commit()  # the guess counts although it failed
            raise InvalidLoginCode()
        await uow.login_challenges.consume(phone, now)
        member = await uow.members.get_by_phone(phone)
        enrolled = member is None
        if member is None:
            member_id = await _enrol(phone, uow, ports)
        else:
            member_id = member.id
        secret = new_secret(ports.random)
        first = RefreshToken.start_family(ports.ids.new_id(), member_id, hash_secret(secret), now)
        await uow.refresh_tokens.add(first)
        await uow.commit()
    return Session(member_id, secret, first.expires_at, enrolled=enrolled)


async def _enrol(phone: str, uow: LoginUnit, ports: LoginPorts) -> UUID:
    try:
        summary = await enrol_member(
            EnrolMember(phone=phone),
            uow,
            clock=ports.clock,
            ids=ports.ids,
            random=ports.random,
            contacts=ports.contacts,
        )
    except MemberExists:
        # Enrolled at a till a moment ago; the code was consumed above under its row lock.
        member = await uow.members.get_by_phone(phone)
        if member is None:
            raise
        return member.id
    return summary.member_id


async def refresh_session(
    refresh_token: str, uow_factory: UnitOfWorkFactory, ports: LoginPorts
) -> Session:
    """Uses the refresh token up and issues its successor. A token used before revokes its
    whole family: the legitimate holder and whoever replayed it both have to log in again."""
    now = ports.clock.now()
    token_hash = hash_secret(refresh_token)
    async with uow_factory() as uow:
        owner = await uow.refresh_tokens.member_of(token_hash)
        if owner is None:
            raise InvalidRefreshToken()
        # The member's account lock before the token's, the order an erasure takes them in: a
        # refresh in flight ends before the erasure deletes the member's tokens (its successor
        # with them), and one that comes later finds the member erased.
        member = await uow.members.hold(owner)
        if member is None or member.erased:
            raise InvalidRefreshToken()
        current = await uow.refresh_tokens.get_for_update(token_hash)
        if current is None:
            raise InvalidRefreshToken()
        verdict = current.verdict(now)
        if verdict is RefreshVerdict.REUSED:
            await uow.refresh_tokens.revoke_family(current.family_id, now)
            await uow.commit()
            raise InvalidRefreshToken()
        if verdict is RefreshVerdict.REJECTED:
            raise InvalidRefreshToken()
        await uow.refresh_tokens.mark_used(current.id, now)
        secret = new_secret(ports.random)
        successor = current.successor(ports.ids.new_id(), hash_secret(secret), now)
        await uow.refresh_tokens.add(successor)
        await uow.commit()
    return Session(current.member_id, secret, successor.expires_at)


async def log_out(refresh_token: str, uow: LoginUnit, ports: LoginPorts) -> None:
    """Ends the session the refresh token belongs to: every token of its family is revoked, so
    no refresh works any more, whoever holds one. Logging out again is accepted (the family
    is already revoked); a token this service never issued is refused. The access tokens
    already issued live on until they expire (LOYALTY_MEMBER_TOKEN_TTL, 15 minutes)."""
    family_id = await uow.refresh_tokens.lock_family_of(hash_secret(refresh_token))
    if family_id is None:
        raise InvalidRefreshToken()
    await uow.refresh_tokens.revoke_family(family_id, ports.clock.now())
