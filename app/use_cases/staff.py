"""Staff accounts and console sessions (issue #18, item 1): create, set a password from a
one-time link, log in (password, then TOTP when enrolled), check a session, log out, change
a role, disable, enrol a second factor.

Every change is audited in the same unit of work, with the acting staff member (or `cli` for
the command line) as actor. Password, role and status changes revoke every session of the
member. Login refusals are one error (StaffLoginFailed) whatever went wrong, and an unknown
e-mail still costs one argon2 verification, so the answer's time does not tell either.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, replace
from datetime import datetime
from uuid import UUID

from app.unit_of_work import UnitOfWork, UnitOfWorkFactory
from domain.errors import InvalidInput, RateLimited
from domain.login import RateLimit, RateLimiter
from domain.notifications import SecretBox
from domain.ports import Clock, IdGenerator, RandomSource
from domain.repositories import AuditRecord
from domain.staff import (
    SET_PASSWORD_TTL,
    TOKEN_BYTES,
    IdentityProvider,
    IdentityRefused,
    InvalidSetPasswordLink,
    PasswordHasher,
    SetPasswordToken,
    StaffExists,
    StaffLoginFailed,
    StaffMember,
    StaffNotFound,
    StaffRepository,
    StaffRole,
    StaffSession,
    StaffStatus,
    TotpCodes,
    WrongSecondFactorCode,
    check_password,
    normalise_email,
    token_hash,
)

# A session's last-seen time is written at most this often (seconds): a page of htmx requests
# costs one write, and the idle timeout is still exact to a minute.
TOUCH_EVERY_SECONDS = 60


@dataclass(frozen=True, slots=True)
class StaffLimits:
    logins_per_ip: RateLimit
    logins_per_email: RateLimit


@dataclass(frozen=True, slots=True)
class StaffPorts:
    """What the staff use cases need besides the unit of work (wired once at start-up).
    ``staff`` runs in whichever unit of work is open, like the unit of work's repositories."""

    staff: StaffRepository
    clock: Clock
    ids: IdGenerator
    random: RandomSource
    passwords: PasswordHasher
    totp: TotpCodes
    secrets: SecretBox  # seals TOTP secrets at rest
    limiter: RateLimiter
    limits: StaffLimits
    # A hash of a random password, verified when the e-mail is unknown (uniform timing).
    decoy_hash: str


def _token(random: RandomSource) -> str:
    return base64.urlsafe_b64encode(random.token_bytes(TOKEN_BYTES)).rstrip(b"=").decode()


def actor_of(member: StaffMember) -> str:
    return f"staff:{member.email}"


async def _audit(
    uow: UnitOfWork, actor: str, action: str, member: StaffMember, **details: object
) -> None:
    await uow.audit.record(
        AuditRecord(actor=actor, action=action, subject=f"staff:{member.id}", details=details)
    )


# Accounts ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CreateStaff:
    email: str
    role: StaffRole
    actor: str
    display_name: str = ""


@dataclass(frozen=True, slots=True)
class SetPasswordLink:
    member: StaffMember
    token: str  # shown once; only its hash is stored
    expires_at: datetime


async def create_staff(cmd: CreateStaff, uow: UnitOfWork, ports: StaffPorts) -> SetPasswordLink:
    """An invited account and its one-time set-password link."""
    email = normalise_email(cmd.email)
    if await ports.staff.get_by_email(email) is not None:
        raise StaffExists(f"{email} already has an account")
    now = ports.clock.now()
    member = StaffMember(
        id=ports.ids.new_id(),
        email=email,
        display_name=cmd.display_name.strip() or email.split("@")[0],
        role=cmd.role,
        status=StaffStatus.INVITED,
        created_at=now,
    )
    await ports.staff.add(member)
    await _audit(uow, cmd.actor, "staff.create", member, email=email, role=cmd.role.value)
    return await _issue_link(member, uow, ports, cmd.actor, now)


async def _issue_link(
    member: StaffMember, uow: UnitOfWork, ports: StaffPorts, actor: str, now: datetime
) -> SetPasswordLink:
    token = _token(ports.random)
    expires = now + SET_PASSWORD_TTL
    await ports.staff.add_token(SetPasswordToken(token_hash(token), member.id, now, expires))
    await _audit(uow, actor, "staff.set_password_link", member, expires_at=expires.isoformat())
    return SetPasswordLink(member, token, expires)


@dataclass(frozen=True, slots=True)
class ResetPassword:
    email: str
    actor: str


async def reset_password(cmd: ResetPassword, uow: UnitOfWork, ports: StaffPorts) -> SetPasswordLink:
    """A new set-password link for an existing account (the old password stays until used)."""
    member = await ports.staff.get_by_email(normalise_email(cmd.email))
    if member is None:
        raise StaffNotFound()
    return await _issue_link(member, uow, ports, cmd.actor, ports.clock.now())


@dataclass(frozen=True, slots=True)
class SetPassword:
    token: str
    password: str


async def set_password(cmd: SetPassword, uow: UnitOfWork, ports: StaffPorts) -> StaffMember:
    """Uses up the link, sets the password (activating an invited account) and revokes every
    session of the member."""
    now = ports.clock.now()
    stored = await ports.staff.take_token(token_hash(cmd.token))
    if stored is None or not stored.usable(now):
        raise InvalidSetPasswordLink()
    check_password(cmd.password)
    member = await ports.staff.get(stored.staff_id)
    if member is None or member.status is StaffStatus.DISABLED:
        raise InvalidSetPasswordLink()
    updated = member.with_password(ports.passwords.hash(cmd.password))
    await ports.staff.use_token(stored.token_hash, now)
    await ports.staff.save(updated, now)
    revoked = await ports.staff.revoke_sessions_of(member.id, now)
    await _audit(uow, actor_of(member), "staff.password_set", member, sessions_revoked=revoked)
    return updated


@dataclass(frozen=True, slots=True)
class ChangeStaffRole:
    staff_id: UUID
    role: StaffRole
    actor: str


async def change_role(cmd: ChangeStaffRole, uow: UnitOfWork, ports: StaffPorts) -> StaffMember:
    member = await ports.staff.get(cmd.staff_id)
    if member is None:
        raise StaffNotFound()
    now = ports.clock.now()
    updated = replace(member, role=cmd.role)
    await ports.staff.save(updated, now)
    revoked = await ports.staff.revoke_sessions_of(member.id, now)
    await _audit(
        uow,
        cmd.actor,
        "staff.role_change",
        member,
        before=member.role.value,
        after=cmd.role.value,
        sessions_revoked=revoked,
    )
    return updated


@dataclass(frozen=True, slots=True)
class DisableStaff:
    staff_id: UUID
    actor: str


async def disable_staff(cmd: DisableStaff, uow: UnitOfWork, ports: StaffPorts) -> StaffMember:
    member = await ports.staff.get(cmd.staff_id)
    if member is None:
        raise StaffNotFound()
    now = ports.clock.now()
    updated = replace(member, status=StaffStatus.DISABLED)
    await ports.staff.save(updated, now)
    revoked = await ports.staff.revoke_sessions_of(member.id, now)
    await _audit(uow, cmd.actor, "staff.disable", member, sessions_revoked=revoked)
    return updated


@dataclass(frozen=True, slots=True)
class EnrolSecondFactor:
    email: str
    actor: str


@dataclass(frozen=True, slots=True)
class SecondFactorEnrolment:
    secret: str  # shown once, to be typed or scanned into an authenticator app
    provisioning_uri: str


async def enrol_second_factor(
    cmd: EnrolSecondFactor, uow: UnitOfWork, ports: StaffPorts
) -> SecondFactorEnrolment:
    """A new TOTP secret, stored sealed; every session is revoked (the next login asks it)."""
    member = await ports.staff.get_by_email(normalise_email(cmd.email))
    if member is None:
        raise StaffNotFound()
    now = ports.clock.now()
    secret = ports.totp.new_secret()
    updated = replace(member, totp_secret_sealed=ports.secrets.seal(secret))
    await ports.staff.save(updated, now)
    await ports.staff.revoke_sessions_of(member.id, now)
    await _audit(uow, cmd.actor, "staff.second_factor_enrol", member)
    return SecondFactorEnrolment(secret, ports.totp.provisioning_uri(secret, member.email))


@dataclass(frozen=True, slots=True)
class SecondFactorOffer:
    """A new TOTP secret a staff member is shown in the console, not stored yet: ``sealed``
    travels in the confirmation form (sealed by the secret box and bound to the member), so
    nothing changes until a code from the authenticator app proves the secret was taken."""

    secret: str
    provisioning_uri: str
    sealed: str


def offer_second_factor(member: StaffMember, ports: StaffPorts) -> SecondFactorOffer:
    secret = ports.totp.new_secret()
    return SecondFactorOffer(
        secret,
        ports.totp.provisioning_uri(secret, member.email),
        ports.secrets.seal(f"offer:{member.id}:{secret}"),
    )


@dataclass(frozen=True, slots=True)
class ConfirmSecondFactor:
    staff_id: UUID
    sealed: str  # SecondFactorOffer.sealed, back from the form
    code: str


def _offered_secret(sealed: str, staff_id: UUID, ports: StaffPorts) -> str:
    try:
        opened = ports.secrets.open(sealed)
    except ValueError:  # a forged or altered blob: the same refusal as a wrong code
        raise WrongSecondFactorCode() from None
    prefix = f"offer:{staff_id}:"
    if not opened.startswith(prefix):
        raise WrongSecondFactorCode()
    return opened[len(prefix) :]


async def confirm_second_factor(
    cmd: ConfirmSecondFactor, uow: UnitOfWork, ports: StaffPorts
) -> StaffMember:
    """Stores the offered secret once a code made from it is right; audited. The member's
    other sessions stay (the one enrolling is his own); the next login asks for a code."""
    member = await ports.staff.get(cmd.staff_id)
    if member is None:
        raise StaffNotFound()
    secret = _offered_secret(cmd.sealed, member.id, ports)
    now = ports.clock.now()
    if not ports.totp.verify(secret, cmd.code.strip(), now):
        raise WrongSecondFactorCode()
    updated = replace(member, totp_secret_sealed=ports.secrets.seal(secret))
    await ports.staff.save(updated, now)
    await _audit(uow, actor_of(member), "staff.second_factor_enrol", member, by="self")
    return updated


@dataclass(frozen=True, slots=True)
class RemoveOwnSecondFactor:
    staff_id: UUID
    code: str  # a current code: a borrowed session alone cannot remove the factor


async def remove_own_second_factor(
    cmd: RemoveOwnSecondFactor, uow: UnitOfWork, ports: StaffPorts
) -> StaffMember:
    member = await ports.staff.get(cmd.staff_id)
    if member is None:
        raise StaffNotFound()
    if member.totp_secret_sealed is None:
        return member
    now = ports.clock.now()
    secret = ports.secrets.open(member.totp_secret_sealed)
    if not ports.totp.verify(secret, cmd.code.strip(), now):
        raise WrongSecondFactorCode()
    updated = replace(member, totp_secret_sealed=None)
    await ports.staff.save(updated, now)
    await _audit(uow, actor_of(member), "staff.second_factor_remove", member, by="self")
    return updated


@dataclass(frozen=True, slots=True)
class ResetSecondFactor:
    staff_id: UUID
    actor: str


async def reset_second_factor(
    cmd: ResetSecondFactor, uow: UnitOfWork, ports: StaffPorts
) -> StaffMember:
    """An owner removes another member's second factor (a lost phone); every session of the
    member ends, and he logs in with his password alone until he enrols again."""
    member = await ports.staff.get(cmd.staff_id)
    if member is None:
        raise StaffNotFound()
    now = ports.clock.now()
    updated = replace(member, totp_secret_sealed=None)
    await ports.staff.save(updated, now)
    revoked = await ports.staff.revoke_sessions_of(member.id, now)
    await _audit(uow, cmd.actor, "staff.second_factor_reset", member, sessions_revoked=revoked)
    return updated


@dataclass(frozen=True, slots=True)
class ReissueSetPasswordLink:
    staff_id: UUID
    actor: str


async def reissue_set_password_link(
    cmd: ReissueSetPasswordLink, uow: UnitOfWork, ports: StaffPorts
) -> SetPasswordLink:
    """An owner's new one-time link for an account (forgotten password, expired invitation).
    The old password keeps working until the link is used; a disabled account gets none."""
    member = await ports.staff.get(cmd.staff_id)
    if member is None or member.status is StaffStatus.DISABLED:
        raise StaffNotFound()
    return await _issue_link(member, uow, ports, cmd.actor, ports.clock.now())


# Login and sessions ------------------------------------------------------------------------


async def _within(ports: StaffPorts, bucket: str, rule: RateLimit, now: datetime) -> None:
    wait = await ports.limiter.hit(bucket, rule, now)
    if wait is not None:
        raise RateLimited(int(wait.total_seconds() + 0.999), "too many login attempts")


@dataclass(frozen=True, slots=True)
class LogIn:
    email: str
    password: str
    client_ip: str


@dataclass(frozen=True, slots=True)
class OpenedSession:
    session_id: str  # for the cookie; only its hash is stored
    second_factor_pending: bool


async def log_in(cmd: LogIn, uow_factory: UnitOfWorkFactory, ports: StaffPorts) -> OpenedSession:
    now = ports.clock.now()
    await _within(ports, f"staff-login:ip:{cmd.client_ip}", ports.limits.logins_per_ip, now)
    try:
        email = normalise_email(cmd.email)
    except InvalidInput:
        email = cmd.email.strip().lower()[:254]
    await _within(ports, f"staff-login:email:{email}", ports.limits.logins_per_email, now)
    async with uow_factory() as uow:
        member = await ports.staff.get_by_email(email)
        stored = member.password_hash if member and member.password_hash else ports.decoy_hash
        matches = ports.passwords.verify(stored, cmd.password[:1024])
        if member is None or not matches or not member.can_log_in:
            raise StaffLoginFailed()
        if ports.passwords.needs_rehash(stored):
            member = member.with_password(ports.passwords.hash(cmd.password))
            await ports.staff.save(member, now)
        session_id = _token(ports.random)
        pending = member.has_second_factor
        await ports.staff.add_session(
            StaffSession.open(token_hash(session_id), member.id, now, pending=pending)
        )
        if not pending:
            await _audit(uow, actor_of(member), "staff.login", member, ip=cmd.client_ip)
        await uow.commit()
    return OpenedSession(session_id, pending)


@dataclass(frozen=True, slots=True)
class GiveSecondFactor:
    session_id: str
    code: str
    client_ip: str


async def give_second_factor(
    cmd: GiveSecondFactor, uow_factory: UnitOfWorkFactory, ports: StaffPorts
) -> None:
    """The TOTP code of a pending session makes it a full one; a wrong code is the login's one
    refusal (and counts against the same limits)."""
    now = ports.clock.now()
    await _within(ports, f"staff-login:ip:{cmd.client_ip}", ports.limits.logins_per_ip, now)
    async with uow_factory() as uow:
        session = await ports.staff.get_session(token_hash(cmd.session_id))
        member = await ports.staff.get(session.staff_id) if session else None
        if (
            session is None
            or member is None
            or not session.second_factor_pending
            or not session.live(now)
            or not member.is_active
            or member.totp_secret_sealed is None
        ):
            raise StaffLoginFailed()
        await _within(
            ports, f"staff-login:email:{member.email}", ports.limits.logins_per_email, now
        )
        secret = ports.secrets.open(member.totp_secret_sealed)
        if not ports.totp.verify(secret, cmd.code.strip(), now):
            raise StaffLoginFailed()
        await ports.staff.complete_second_factor(session.id_hash, now)
        await _audit(uow, actor_of(member), "staff.login", member, ip=cmd.client_ip, totp=True)
        await uow.commit()


@dataclass(frozen=True, slots=True)
class LogInWithIdentity:
    """The identity provider's answer at the console's callback (state already matched)."""

    code: str
    code_verifier: str
    nonce: str
    redirect_uri: str
    client_ip: str


async def log_in_with_identity(
    cmd: LogInWithIdentity,
    uow_factory: UnitOfWorkFactory,
    ports: StaffPorts,
    provider: IdentityProvider,
) -> OpenedSession:
    """Opens the same server-side session as a password login for the account whose e-mail
    the provider verified. No account, a disabled one, or any failed check of the provider's
    answer is the login's one refusal. An invited account (no password yet) becomes active:
    its owner chose this e-mail, and the provider vouches for its holder. An account with a
    second factor still gives its TOTP code."""
    now = ports.clock.now()
    await _within(ports, f"staff-login:ip:{cmd.client_ip}", ports.limits.logins_per_ip, now)
    try:
        identity = await provider.identity(
            cmd.code,
            code_verifier=cmd.code_verifier,
            nonce=cmd.nonce,
            redirect_uri=cmd.redirect_uri,
        )
    except IdentityRefused as refused:
        raise StaffLoginFailed(f"identity provider: {refused.reason}") from None
    await _within(ports, f"staff-login:email:{identity.email}", ports.limits.logins_per_email, now)
    async with uow_factory() as uow:
        member = await ports.staff.get_by_email(identity.email)
        if member is None or member.status is StaffStatus.DISABLED:
            raise StaffLoginFailed("identity provider: no active account for this e-mail")
        if member.status is StaffStatus.INVITED:
            member = replace(member, status=StaffStatus.ACTIVE)
            await ports.staff.save(member, now)
        session_id = _token(ports.random)
        pending = member.has_second_factor
        await ports.staff.add_session(
            StaffSession.open(token_hash(session_id), member.id, now, pending=pending)
        )
        if not pending:
            await _audit(
                uow,
                actor_of(member),
                "staff.login",
                member,
                ip=cmd.client_ip,
                method="oidc",
                issuer=identity.issuer,
                subject=identity.subject,
            )
        await uow.commit()
    return OpenedSession(session_id, pending)


async def session_member(
    session_id: str, uow_factory: UnitOfWorkFactory, ports: StaffPorts
) -> StaffMember | None:
    """The active staff member whose live, complete session this is (its idle clock reset),
    or None."""
    now = ports.clock.now()
    async with uow_factory() as uow:
        session = await ports.staff.get_session(token_hash(session_id))
        if session is None or session.second_factor_pending or not session.live(now):
            return None
        member = await ports.staff.get(session.staff_id)
        if member is None or not member.is_active:
            return None
        if (now - session.last_seen_at).total_seconds() >= TOUCH_EVERY_SECONDS:
            await ports.staff.touch_session(session.id_hash, now)
            await uow.commit()
        return member


async def log_out(session_id: str, uow_factory: UnitOfWorkFactory, ports: StaffPorts) -> None:
    now = ports.clock.now()
    async with uow_factory() as uow:
        session = await ports.staff.get_session(token_hash(session_id))
        if session is None or session.revoked_at is not None:
            return
        await ports.staff.revoke_session(session.id_hash, now)
        member = await ports.staff.get(session.staff_id)
        if member is not None:
            await _audit(uow, actor_of(member), "staff.logout", member)
        await uow.commit()


async def list_staff(uow: UnitOfWork, ports: StaffPorts) -> list[StaffMember]:
    return await ports.staff.list_all()


async def list_staff_page(
    uow: UnitOfWork, ports: StaffPorts, *, after_email: str | None, limit: int
) -> list[StaffMember]:
    """Up to ``limit`` accounts by e-mail, after ``after_email`` (a keyset cursor: e-mails
    are unique). A back office has tens of staff, so the page is cut from the whole table
    rather than by a query of its own."""
    members = await ports.staff.list_all()
    return [m for m in members if after_email is None or m.email > after_email][:limit]
