"""Settings from environment variables, with defaults that make a development machine work."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from datetime import time
from pathlib import Path

from domain.sale_dating import DEFAULT_MAX_BACKDATE_DAYS, MAX_BACKDATE_DAYS

DEV_JWT_SECRET = "dev-only-jwt-secret-change-me-in-production-0123456789"
DEV_SHOP_SECRET = "dev-only-shop-webhook-secret"
DEV_STRIPE_SECRET = "whsec_dev_only_stripe_webhook_secret"
PROJECT_ROOT = Path(__file__).resolve().parent.parent


class SettingsError(ValueError):
    pass


def _int(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from None


def _bool(env: dict[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw == "":
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")


def _list(env: dict[str, str], name: str, default: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in env.get(name, default).split(",") if part.strip())


def _rate(env: dict[str, str], name: str, default: tuple[int, int]) -> tuple[int, int]:
    """'5/3600': five requests per window of 3600 seconds."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    limit, _, seconds = raw.partition("/")
    try:
        parsed = (int(limit), int(seconds))
    except ValueError:
        raise SettingsError(
            f"{name} must look like 5/3600 (requests/seconds), got {raw!r}"
        ) from None
    if parsed[0] < 1 or parsed[1] < 1:
        raise SettingsError(f"{name} needs a positive limit and window, got {raw!r}")
    return parsed


def _time_of_day(env: dict[str, str], name: str, default: time) -> time:
    raw = env.get(name)
    if not raw:
        return default
    hours, _, minutes = raw.strip().partition(":")
    try:
        if not (hours.isdigit() and minutes.isdigit() and len(minutes) == 2):
            raise ValueError(raw)
        return time(int(hours), int(minutes))
    except ValueError:
        raise SettingsError(f"{name} must be a time of day as HH:MM, got {raw!r}") from None


@dataclass(frozen=True)
class Settings:
    environment: str = "development"
    database_url: str | None = None
    # A streaming replica (hot standby) of DATABASE_URL for the read paths, and how long a
    # read of a member waits for it to replay that member's last write before reading the
    # primary instead (docs/operations.md#a-read-replica).
    replica_url: str | None = None
    replica_wait_ms: int = 50
    data_dir: Path = PROJECT_ROOT / ".data"
    db_pool_min: int = 2
    db_pool_max: int = 20
    jwt_secret: str = DEV_JWT_SECRET
    jwt_issuer: str = "loyalty"
    jwt_audience: str = "loyalty-api"
    pos_token_ttl_seconds: int = 8 * 3600  # one shift
    member_token_ttl_seconds: int = 15 * 60
    admin_token_ttl_seconds: int = 3600
    shop_webhook_secrets: tuple[str, ...] = (DEV_SHOP_SECRET,)
    stripe_webhook_secrets: tuple[str, ...] = (DEV_STRIPE_SECRET,)
    default_phone_region: str = "CN"
    max_request_body_bytes: int = 1_000_000
    log_level: str = "INFO"
    jobs_in_process: bool = False  # run the points jobs in the service (advisory-locked)
    jobs_interval_seconds: int = 3600
    # When the nightly jobs (the RFM snapshot) run: a local time in the programme's zone.
    nightly_at: time = time(3, 0)
    # Member login, card codes, notifications, identity-provider admin tokens.
    login_codes_per_phone: tuple[int, int] = (5, 3600)  # (requests, window seconds)
    login_codes_per_ip: tuple[int, int] = (20, 3600)
    login_guesses_per_ip: tuple[int, int] = (30, 3600)
    # Coupon codes a till may present (quotes and sales), per terminal: far above a busy
    # till's hour, far below what guessing 70-bit codes would need.
    coupon_codes_per_terminal: tuple[int, int] = (600, 3600)
    trusted_proxies: tuple[str, ...] = ()
    outbox_interval_seconds: int = 2
    dev_sms_dir: Path | None = None
    admin_jwks_url: str | None = None
    admin_jwt_issuer: str | None = None
    admin_jwt_audience: str | None = None
    # How many days before now a sale (till, web order, Stripe payment) may be dated.
    max_backdate_days: int = DEFAULT_MAX_BACKDATE_DAYS
    # Outbound webhooks: whether a delivery may reach loopback, private and link-local
    # addresses (a receiver on this machine or network); the run of failed attempts that
    # disables an endpoint; the timeouts of one attempt.
    webhooks_allow_private_targets: bool = False
    webhooks_disable_after_failures: int = 50
    webhooks_connect_timeout_seconds: int = 5
    webhooks_read_timeout_seconds: int = 10
    webhooks_claim_lease_seconds: int = 120
    # The back-office console (docs/console.md).
    staff_logins_per_ip: tuple[int, int] = (30, 900)
    staff_logins_per_email: tuple[int, int] = (10, 900)
    console_url: str = "http://127.0.0.1:8000/console"
    # Secure cookies also over plain HTTP (behind a TLS-terminating proxy); on in production.
    console_secure_cookies: bool = False
    # Staff login through an OpenID Connect provider (docs/console.md): all three or none.
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = None
    oidc_allowed_domains: tuple[str, ...] = ()  # e-mail domains; empty: any the provider vouches
    # The most points, either way, a staff member of role service adjusts in one go.
    service_adjustment_limit: int = 1000
    # Messages to members (login codes, notices): "live" sends them (SMS through Aliyun,
    # e-mail through SMTP), "log" prints them for a developer, "none" lets nothing leave.
    # Empty: "log" on a development machine; production refuses to start without a choice.
    messages: str = ""
    message_language: str = "zh-CN"  # the programme's, for members who chose none
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_security: str = "starttls"
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_from: str | None = None
    aliyun_access_key_id: str | None = None
    aliyun_access_key_secret: str | None = None
    aliyun_sms_sign_name: str | None = None
    aliyun_sms_templates: str = ""  # login_code=SMS_1,login_code.en=SMS_2,...
    aliyun_sms_endpoint: str = "https://dysmsapi.aliyuncs.com/"
    aliyun_region: str = "cn-hangzhou"

    @property
    def message_mode(self) -> str:
        """What happens to messages: live, log or none (see ``messages``)."""
        return self.messages or ("none" if self.is_production else "log")

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if environ is None else environ)
        settings = cls(
            environment=env.get("LOYALTY_ENV", "development"),
            database_url=env.get("DATABASE_URL") or None,
            replica_url=env.get("DATABASE_REPLICA_URL") or None,
            replica_wait_ms=_int(env, "LOYALTY_REPLICA_WAIT_MS", 50),
            data_dir=Path(env.get("LOYALTY_DATA_DIR") or PROJECT_ROOT / ".data"),
            db_pool_min=_int(env, "LOYALTY_DB_POOL_MIN", 2),
            db_pool_max=_int(env, "LOYALTY_DB_POOL_MAX", 20),
            jwt_secret=env.get("LOYALTY_JWT_SECRET") or DEV_JWT_SECRET,
            jwt_issuer=env.get("LOYALTY_JWT_ISSUER", "loyalty"),
            jwt_audience=env.get("LOYALTY_JWT_AUDIENCE", "loyalty-api"),
            pos_token_ttl_seconds=_int(env, "LOYALTY_POS_TOKEN_TTL", 8 * 3600),
            member_token_ttl_seconds=_int(env, "LOYALTY_MEMBER_TOKEN_TTL", 15 * 60),
            admin_token_ttl_seconds=_int(env, "LOYALTY_ADMIN_TOKEN_TTL", 3600),
            shop_webhook_secrets=_list(env, "LOYALTY_SHOP_WEBHOOK_SECRET", DEV_SHOP_SECRET),
            stripe_webhook_secrets=_list(env, "STRIPE_WEBHOOK_SECRET", DEV_STRIPE_SECRET),
            default_phone_region=env.get("LOYALTY_DEFAULT_REGION", "CN").upper(),
            max_request_body_bytes=_int(env, "LOYALTY_MAX_BODY_BYTES", 1_000_000),
            log_level=env.get("LOYALTY_LOG_LEVEL", "INFO").upper(),
            jobs_in_process=_bool(env, "LOYALTY_JOBS_IN_PROCESS", False),
            jobs_interval_seconds=_int(env, "LOYALTY_JOBS_INTERVAL", 3600),
            nightly_at=_time_of_day(env, "LOYALTY_NIGHTLY_AT", time(3, 0)),
            login_codes_per_phone=_rate(env, "LOYALTY_LOGIN_CODES_PER_PHONE", (5, 3600)),
            login_codes_per_ip=_rate(env, "LOYALTY_LOGIN_CODES_PER_IP", (20, 3600)),
            login_guesses_per_ip=_rate(env, "LOYALTY_LOGIN_GUESSES_PER_IP", (30, 3600)),
            coupon_codes_per_terminal=_rate(env, "LOYALTY_COUPON_CODES_PER_TERMINAL", (600, 3600)),
            trusted_proxies=_list(env, "LOYALTY_TRUSTED_PROXIES", ""),
            outbox_interval_seconds=_int(env, "LOYALTY_OUTBOX_INTERVAL", 2),
            dev_sms_dir=Path(env["LOYALTY_DEV_SMS_DIR"])
            if env.get("LOYALTY_DEV_SMS_DIR")
            else None,
            admin_jwks_url=env.get("LOYALTY_ADMIN_JWKS_URL") or None,
            admin_jwt_issuer=env.get("LOYALTY_ADMIN_JWT_ISSUER") or None,
            admin_jwt_audience=env.get("LOYALTY_ADMIN_JWT_AUDIENCE") or None,
            max_backdate_days=_int(env, "LOYALTY_MAX_BACKDATE_DAYS", DEFAULT_MAX_BACKDATE_DAYS),
            webhooks_allow_private_targets=_bool(
                env, "LOYALTY_WEBHOOKS_ALLOW_PRIVATE_TARGETS", False
            ),
            webhooks_disable_after_failures=_int(env, "LOYALTY_WEBHOOKS_DISABLE_AFTER", 50),
            webhooks_connect_timeout_seconds=_int(env, "LOYALTY_WEBHOOKS_CONNECT_TIMEOUT", 5),
            webhooks_read_timeout_seconds=_int(env, "LOYALTY_WEBHOOKS_READ_TIMEOUT", 10),
            webhooks_claim_lease_seconds=_int(env, "LOYALTY_WEBHOOKS_CLAIM_LEASE", 120),
            staff_logins_per_ip=_rate(env, "LOYALTY_STAFF_LOGINS_PER_IP", (30, 900)),
            staff_logins_per_email=_rate(env, "LOYALTY_STAFF_LOGINS_PER_EMAIL", (10, 900)),
            console_url=(env.get("LOYALTY_CONSOLE_URL") or "http://127.0.0.1:8000/console").rstrip(
                "/"
            ),
            console_secure_cookies=_bool(
                env,
                "LOYALTY_CONSOLE_SECURE_COOKIES",
                env.get("LOYALTY_ENV", "development") == "production",
            ),
            service_adjustment_limit=_int(env, "LOYALTY_SERVICE_ADJUSTMENT_LIMIT", 1000),
            oidc_issuer=env.get("LOYALTY_OIDC_ISSUER") or None,
            oidc_client_id=env.get("LOYALTY_OIDC_CLIENT_ID") or None,
            oidc_client_secret=env.get("LOYALTY_OIDC_CLIENT_SECRET") or None,
            oidc_allowed_domains=_list(env, "LOYALTY_OIDC_ALLOWED_DOMAINS", ""),
            messages=env.get("LOYALTY_MESSAGES", "").strip().lower(),
            message_language=env.get("LOYALTY_MESSAGE_LANGUAGE") or "zh-CN",
            smtp_host=env.get("LOYALTY_SMTP_HOST") or None,
            smtp_port=_int(env, "LOYALTY_SMTP_PORT", 587),
            smtp_security=(env.get("LOYALTY_SMTP_SECURITY") or "starttls").strip().lower(),
            smtp_username=env.get("LOYALTY_SMTP_USERNAME") or None,
            smtp_password=env.get("LOYALTY_SMTP_PASSWORD") or None,
            smtp_from=env.get("LOYALTY_SMTP_FROM") or None,
            aliyun_access_key_id=env.get("LOYALTY_ALIYUN_ACCESS_KEY_ID") or None,
            aliyun_access_key_secret=env.get("LOYALTY_ALIYUN_ACCESS_KEY_SECRET") or None,
            aliyun_sms_sign_name=env.get("LOYALTY_ALIYUN_SMS_SIGN_NAME") or None,
            aliyun_sms_templates=env.get("LOYALTY_ALIYUN_SMS_TEMPLATES", ""),
            aliyun_sms_endpoint=env.get("LOYALTY_ALIYUN_SMS_ENDPOINT")
            or "https://dysmsapi.aliyuncs.com/",
            aliyun_region=env.get("LOYALTY_ALIYUN_REGION") or "cn-hangzhou",
        )
        settings.check()
        return settings

    def check(self) -> None:
        if len(self.jwt_secret.encode()) < 32:
            raise SettingsError("LOYALTY_JWT_SECRET must be at least 32 bytes (HS256 key)")
        if self.is_production:
            if self.jwt_secret == DEV_JWT_SECRET:
                raise SettingsError("set LOYALTY_JWT_SECRET: the development default is public")
            if DEV_SHOP_SECRET in self.shop_webhook_secrets:
                raise SettingsError("set LOYALTY_SHOP_WEBHOOK_SECRET in production")
            if DEV_STRIPE_SECRET in self.stripe_webhook_secrets:
                raise SettingsError("set STRIPE_WEBHOOK_SECRET in production")
            if not self.database_url:
                raise SettingsError(
                    "set DATABASE_URL in production; embedded PostgreSQL is for dev"
                )
        if self.replica_url and not self.database_url:
            raise SettingsError("DATABASE_REPLICA_URL needs DATABASE_URL, the primary it follows")
        if not 0 <= self.replica_wait_ms <= 10_000:
            raise SettingsError("LOYALTY_REPLICA_WAIT_MS must be between 0 and 10000")
        if not 1 <= self.db_pool_min <= self.db_pool_max:
            raise SettingsError("need 1 <= LOYALTY_DB_POOL_MIN <= LOYALTY_DB_POOL_MAX")
        if self.jobs_interval_seconds < 1:
            raise SettingsError("LOYALTY_JOBS_INTERVAL must be at least 1 second")
        if not 0 <= self.max_backdate_days <= MAX_BACKDATE_DAYS:
            raise SettingsError(
                f"LOYALTY_MAX_BACKDATE_DAYS must be between 0 and {MAX_BACKDATE_DAYS}"
            )
        if self.service_adjustment_limit < 0:
            raise SettingsError("LOYALTY_SERVICE_ADJUSTMENT_LIMIT must be 0 or more points")
        if self.webhooks_disable_after_failures < 1:
            raise SettingsError("LOYALTY_WEBHOOKS_DISABLE_AFTER must be at least 1")
        if not (
            1 <= self.webhooks_connect_timeout_seconds <= 60
            and 1 <= self.webhooks_read_timeout_seconds <= 120
        ):
            raise SettingsError(
                "LOYALTY_WEBHOOKS_CONNECT_TIMEOUT must be 1-60 seconds and "
                "LOYALTY_WEBHOOKS_READ_TIMEOUT 1-120"
            )
        attempt = self.webhooks_connect_timeout_seconds + self.webhooks_read_timeout_seconds
        if self.webhooks_claim_lease_seconds < 4 * attempt:
            raise SettingsError(
                "LOYALTY_WEBHOOKS_CLAIM_LEASE must be at least four times the connect and read "
                f"timeouts together ({4 * attempt} seconds): a claim must outlast its attempts"
            )
        if self.outbox_interval_seconds < 1:
            raise SettingsError("LOYALTY_OUTBOX_INTERVAL must be at least 1 second")
        if self.admin_jwks_url and not (self.admin_jwt_issuer and self.admin_jwt_audience):
            raise SettingsError(
                "LOYALTY_ADMIN_JWKS_URL needs LOYALTY_ADMIN_JWT_ISSUER and "
                "LOYALTY_ADMIN_JWT_AUDIENCE: tokens are checked against both"
            )
        oidc = (self.oidc_issuer, self.oidc_client_id, self.oidc_client_secret)
        if any(oidc) and not all(oidc):
            raise SettingsError(
                "LOYALTY_OIDC_ISSUER, LOYALTY_OIDC_CLIENT_ID and LOYALTY_OIDC_CLIENT_SECRET go "
                "together: set all three for login through the identity provider, or none"
            )
        for proxy in self.trusted_proxies:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise SettingsError(
                    f"LOYALTY_TRUSTED_PROXIES: {proxy!r} is not an address or network"
                ) from None
        if self.is_production and self.dev_sms_dir is not None:
            raise SettingsError("LOYALTY_DEV_SMS_DIR writes login codes to disk: not in production")
        self._check_messages()

    def _check_messages(self) -> None:
        if self.messages not in ("", "live", "log", "none"):
            raise SettingsError(
                f"LOYALTY_MESSAGES must be live, log or none, not {self.messages!r}"
            )
        if self.is_production and not self.messages:
            raise SettingsError(
                "set LOYALTY_MESSAGES in production: live (with the SMTP and Aliyun SMS "
                "settings) sends messages to members; none says explicitly that none leave"
            )
        if self.is_production and self.messages == "log":
            raise SettingsError("LOYALTY_MESSAGES=log prints login codes: not in production")
        if self.message_language not in ("zh-CN", "en"):
            raise SettingsError("LOYALTY_MESSAGE_LANGUAGE must be zh-CN or en")
        if self.smtp_security not in ("starttls", "tls", "none"):
            raise SettingsError("LOYALTY_SMTP_SECURITY must be starttls, tls or none")
        if self.smtp_host and not self.smtp_from:
            raise SettingsError("LOYALTY_SMTP_HOST needs LOYALTY_SMTP_FROM (the sender address)")
        if self.message_mode != "live":
            return
        missing = [
            name
            for name, value in (
                ("LOYALTY_ALIYUN_ACCESS_KEY_ID", self.aliyun_access_key_id),
                ("LOYALTY_ALIYUN_ACCESS_KEY_SECRET", self.aliyun_access_key_secret),
                ("LOYALTY_ALIYUN_SMS_SIGN_NAME", self.aliyun_sms_sign_name),
            )
            if not value
        ]
        if missing:
            raise SettingsError(
                "LOYALTY_MESSAGES=live sends login codes by SMS: set " + ", ".join(missing)
            )
        codes = self.sms_template_codes()
        if "login_code" not in codes and not any(k.startswith("login_code.") for k in codes):
            raise SettingsError(
                "LOYALTY_ALIYUN_SMS_TEMPLATES must map login_code to an approved template code"
            )

    def sms_template_codes(self) -> dict[str, str]:
        codes: dict[str, str] = {}
        for part in self.aliyun_sms_templates.split(","):
            if not part.strip():
                continue
            key, sep, code = part.partition("=")
            if not sep or not key.strip() or not code.strip():
                raise SettingsError(
                    "LOYALTY_ALIYUN_SMS_TEMPLATES: expected kind[.language]=TEMPLATE_CODE, "
                    f"got {part.strip()!r}"
                )
            codes[key.strip()] = code.strip()
        return codes
