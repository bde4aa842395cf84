"""The composition root: builds engines, pools and adapters when the service starts."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

from piccolo.engine.postgres import PostgresEngine

from adapters.channels.aliyun_sms import AliyunSmsSender
from adapters.channels.smtp import SmtpEmailSender
from adapters.channels.templates import SandboxedTemplates
from adapters.contacts import LibraryContactNormaliser
from adapters.http.jwks import AdminJwksVerifier
from adapters.http.tokens import TokenService
from adapters.notifications import (
    ConsoleEmailSender,
    ConsoleSmsSender,
    FileSmsSender,
    LogEmailSender,
    LogSmsSender,
)
from adapters.oidc import OidcProvider
from adapters.payments.stripe_webhooks import StripeSignatureVerifier
from adapters.persistence.batch_jobs import PostgresBatchJobs
from adapters.persistence.birthday_calendar import PostgresBirthdayCalendar
from adapters.persistence.config_health import PostgresProbe
from adapters.persistence.engine import LoyaltyEngine, start_engine, stop_engine
from adapters.persistence.job_locks import PostgresJobLocks
from adapters.persistence.member_search import PostgresMemberDirectory
from adapters.persistence.message_directory import PostgresMessageDirectory
from adapters.persistence.outbound_webhooks import PostgresWebhookQueue
from adapters.persistence.outbox import PostgresNotificationQueue
from adapters.persistence.points_expiry import PostgresReleasableLots
from adapters.persistence.rate_limits import PostgresRateLimiter
from adapters.persistence.read_models import PostgresLedgerSources, PostgresMemberReads
from adapters.persistence.replica import ReadRouter, start_replica_engine
from adapters.persistence.reports import PostgresReports
from adapters.persistence.repositories.staff import PostgresStaffRepository
from adapters.persistence.terminal_standing import PostgresTerminalStanding
from adapters.persistence.unit_of_work import PostgresUnitOfWork
from adapters.secret_box import AesGcmSecretBox
from adapters.staff_credentials import Argon2Passwords, PyotpCodes
from adapters.system import CryptoRandom, SystemClock, UuidGenerator
from adapters.webhook_sender import HttpxWebhookSender
from adapters.webshop.signature import ShopSignatureVerifier
from app.batch_jobs import JobPorts
from app.container import Container
from app.messages import LoginCodeSender, Messenger
from app.outbound_webhooks import WebhookPorts
from app.principal import Role
from app.settings import Settings
from app.unit_of_work import UnitOfWorkFactory
from app.use_cases.login import LoginLimits, LoginPorts
from app.use_cases.staff import StaffLimits, StaffPorts
from domain.card_tokens import CardTokenCodec
from domain.login import LoginCodeHasher, RateLimit
from domain.notifications import EmailSender, MemberNotifier, SecretBox, SmsSender
from domain.ports import Clock, IdGenerator, RandomSource


def build_tokens(settings: Settings, clock: Clock) -> TokenService:
    admin_verifier = None
    if settings.admin_jwks_url:
        assert settings.admin_jwt_issuer  # Settings.check insists on both
        assert settings.admin_jwt_audience
        admin_verifier = AdminJwksVerifier(
            settings.admin_jwks_url,
            issuer=settings.admin_jwt_issuer,
            audience=settings.admin_jwt_audience,
            clock=clock,
        )
    return TokenService(
        admin_verifier=admin_verifier,
        secret=settings.jwt_secret,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        clock=clock,
        ttl_seconds={
            Role.ADMIN: settings.admin_token_ttl_seconds,
            Role.POS: settings.pos_token_ttl_seconds,
            Role.MEMBER: settings.member_token_ttl_seconds,
        },
    )


@dataclass(frozen=True)
class Service:
    """What a process starts: the ports of its driving adapters and of its batch jobs, and
    the engine behind them."""

    container: Container
    jobs: JobPorts
    engine: LoyaltyEngine
    reads: ReadRouter  # the read replica, if any, and where reads went


async def start_service(
    settings: Settings, database_url: str, *, clock: Clock | None = None
) -> Service:
    clock = clock or SystemClock()
    engine = await start_engine(
        database_url, min_size=settings.db_pool_min, max_size=settings.db_pool_max
    )
    reads = await read_router(settings, engine)
    container = Container(
        settings=settings,
        clock=clock,
        random=CryptoRandom(),
        ids=UuidGenerator(),
        contacts=LibraryContactNormaliser(settings.default_phone_region),
        uow=partial(PostgresUnitOfWork, engine),
        tokens=build_tokens(settings, clock),
        database=PostgresProbe(engine),
        reports=PostgresReports(reads),
        shop_signatures=ShopSignatureVerifier(settings.shop_webhook_secrets),
        stripe_signatures=StripeSignatureVerifier(settings.stripe_webhook_secrets),
        member_reads=PostgresMemberReads(reads),
        terminal_standing=PostgresTerminalStanding(engine),
        member_directory=PostgresMemberDirectory(reads),
        ledger_sources=PostgresLedgerSources(engine),
        webhook_secrets=webhook_secrets(settings),
        staff=staff_ports(settings, engine, clock),
        identity_provider=identity_provider(settings, clock),
        message_renderer=SandboxedTemplates(),
        replica_reads=reads.units if reads.replica is not None else None,
        **login_ports(settings, engine, clock),
    )
    jobs = job_ports(
        engine,
        uow=container.uow,
        clock=clock,
        random=container.random,
        ids=container.ids,
        sms=container.sms,
        member_notifier=container.member_notifier,
        secrets=container.login.secrets,
        login_codes=container.member_notifier
        if isinstance(container.member_notifier, Messenger)
        else None,
        settings=settings,
    )
    return Service(container, jobs, engine, reads)


async def read_router(settings: Settings, engine: LoyaltyEngine) -> ReadRouter:
    """The lookups, /v1/me, member search and reports read the replica when one is set;
    every commit that wrote a member tells the router where the replica must be to show it."""
    if not settings.replica_url:
        return ReadRouter(engine)
    replica = await start_replica_engine(settings.replica_url, max_size=settings.db_pool_max)
    reads = ReadRouter(engine, replica, wait=settings.replica_wait_ms / 1000)
    engine.committed = reads.committed
    return reads


def job_ports(
    engine: PostgresEngine,
    *,
    uow: UnitOfWorkFactory,
    clock: Clock,
    random: RandomSource,
    ids: IdGenerator,
    sms: SmsSender,
    member_notifier: MemberNotifier,
    secrets: SecretBox,
    login_codes: LoginCodeSender | None = None,
    settings: Settings,
) -> JobPorts:
    batch = PostgresBatchJobs(engine)
    queue = PostgresNotificationQueue(engine)
    return JobPorts(
        uow=uow,
        clock=clock,
        random=random,
        ids=ids,
        locks=PostgresJobLocks(engine),
        points_expiry=batch,
        releasable_lots=PostgresReleasableLots(engine),
        tier_review=batch,
        coupon_expiry=batch,
        birthdays=PostgresBirthdayCalendar(engine),
        notifications=queue,
        outbox_backlog=queue,
        sms=sms,
        member_notifier=member_notifier,
        secrets=secrets,
        reminders=batch,
        login_state=batch,
        follow_ups=batch,
        rfm=batch,
        dashboard=batch,
        login_codes=login_codes,
        webhooks=WebhookPorts(
            queue=PostgresWebhookQueue(engine),
            sender=HttpxWebhookSender(
                allow_private=settings.webhooks_allow_private_targets,
                connect_timeout=settings.webhooks_connect_timeout_seconds,
                read_timeout=settings.webhooks_read_timeout_seconds,
            ),
            secrets=webhook_secrets(settings),
            disable_after=settings.webhooks_disable_after_failures,
            lease=timedelta(seconds=settings.webhooks_claim_lease_seconds),
        ),
    )


def derived_key(settings: Settings, purpose: str) -> bytes:
    # One configured secret, a separate key per use: a login-code HMAC can never pass for a
    # card code or a JWT signature.
    return hmac.new(settings.jwt_secret.encode(), purpose.encode(), hashlib.sha256).digest()


def outbox_secrets(settings: Settings) -> AesGcmSecretBox:
    """The same box in every process: whoever queues a login code, any worker can send it."""
    return AesGcmSecretBox(derived_key(settings, "loyalty/outbox-secrets"))


def webhook_secrets(settings: Settings) -> AesGcmSecretBox:
    """Seals the webhook endpoints' signing secrets (Standard Webhooks signs with the secret
    itself, so it is kept, sealed, rather than hashed)."""
    return AesGcmSecretBox(
        derived_key(settings, "loyalty/webhook-secrets"), purpose=b"loyalty/webhook-secrets"
    )


def _limit(rate: tuple[int, int]) -> RateLimit:
    return RateLimit(rate[0], timedelta(seconds=rate[1]))


def sms_sender(settings: Settings, clock: Clock | None = None) -> SmsSender:
    """LOYALTY_MESSAGES: live sends through Aliyun's SMS API; none logs a masked number and
    never the text; log (a development machine's default) shows the text, a login code
    included, to the developer."""
    mode = settings.message_mode
    if mode == "live":
        assert settings.aliyun_access_key_id
        assert settings.aliyun_access_key_secret
        assert settings.aliyun_sms_sign_name
        return AliyunSmsSender(
            access_key_id=settings.aliyun_access_key_id,
            access_key_secret=settings.aliyun_access_key_secret,
            sign_name=settings.aliyun_sms_sign_name,
            template_codes=settings.sms_template_codes(),
            clock=clock or SystemClock(),
            endpoint=settings.aliyun_sms_endpoint,
            region=settings.aliyun_region,
        )
    if mode == "none":
        return LogSmsSender()
    if settings.dev_sms_dir:
        return FileSmsSender(settings.dev_sms_dir)
    return ConsoleSmsSender()


def email_sender(settings: Settings, clock: Clock | None = None) -> EmailSender | None:
    """None when live without LOYALTY_SMTP_HOST: members are reached by SMS only."""
    mode = settings.message_mode
    if mode == "none":
        return LogEmailSender()
    if mode == "log":
        return ConsoleEmailSender()
    if not settings.smtp_host:
        return None
    assert settings.smtp_from  # check()
    return SmtpEmailSender(
        host=settings.smtp_host,
        port=settings.smtp_port,
        sender=settings.smtp_from,
        clock=clock or SystemClock(),
        username=settings.smtp_username,
        password=settings.smtp_password,
        security=settings.smtp_security,
    )


def messenger(
    settings: Settings, engine: PostgresEngine, clock: Clock, sms: SmsSender
) -> Messenger:
    return Messenger(
        directory=PostgresMessageDirectory(engine),
        renderer=SandboxedTemplates(),
        sms=sms,
        email=email_sender(settings, clock),
        default_language=settings.message_language,
    )


def login_ports(settings: Settings, engine: PostgresEngine, clock: Clock) -> dict[str, Any]:
    sms = sms_sender(settings, clock)
    return {
        "login": LoginPorts(
            clock=clock,
            ids=UuidGenerator(),
            random=CryptoRandom(),
            contacts=LibraryContactNormaliser(settings.default_phone_region),
            hasher=LoginCodeHasher(derived_key(settings, "loyalty/login-codes")),
            limiter=PostgresRateLimiter(engine),
            limits=LoginLimits(
                codes_per_phone=_limit(settings.login_codes_per_phone),
                codes_per_ip=_limit(settings.login_codes_per_ip),
                guesses_per_ip=_limit(settings.login_guesses_per_ip),
            ),
            secrets=outbox_secrets(settings),
        ),
        "card_tokens": CardTokenCodec(derived_key(settings, "loyalty/card-tokens")),
        "sms": sms,
        "member_notifier": messenger(settings, engine, clock, sms),
    }


def identity_provider(settings: Settings, clock: Clock) -> OidcProvider | None:
    """Staff login through the identity provider, when its three settings are present."""
    if not (settings.oidc_issuer and settings.oidc_client_id and settings.oidc_client_secret):
        return None
    return OidcProvider(
        settings.oidc_issuer,
        settings.oidc_client_id,
        settings.oidc_client_secret,
        clock=clock,
        allowed_domains=settings.oidc_allowed_domains,
    )


def staff_ports(settings: Settings, engine: PostgresEngine, clock: Clock) -> StaffPorts:
    random = CryptoRandom()
    passwords = Argon2Passwords()
    return StaffPorts(
        staff=PostgresStaffRepository(),
        clock=clock,
        ids=UuidGenerator(),
        random=random,
        passwords=passwords,
        totp=PyotpCodes(),
        secrets=AesGcmSecretBox(
            derived_key(settings, "loyalty/staff-totp"), purpose=b"loyalty/staff-totp"
        ),
        limiter=PostgresRateLimiter(engine),
        limits=StaffLimits(
            logins_per_ip=_limit(settings.staff_logins_per_ip),
            logins_per_email=_limit(settings.staff_logins_per_email),
        ),
        # Verified when the e-mail is unknown, so that answer takes as long as a wrong password.
        decoy_hash=passwords.hash(random.token_bytes(16).hex()),
    )


async def stop_service(service: Service) -> None:
    try:
        if service.reads.replica is not None:
            await stop_engine(service.reads.replica)
    finally:
        await stop_engine(service.engine)
