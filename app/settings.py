"""Settings from environment variables, with defaults that make a development machine work."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

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


@dataclass(frozen=True)
class Settings:
    environment: str = "development"
    database_url: str | None = None
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

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if environ is None else environ)
        settings = cls(
            environment=env.get("LOYALTY_ENV", "development"),
            database_url=env.get("DATABASE_URL") or None,
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
        if not 1 <= self.db_pool_min <= self.db_pool_max:
            raise SettingsError("need 1 <= LOYALTY_DB_POOL_MIN <= LOYALTY_DB_POOL_MAX")
        if self.jobs_interval_seconds < 1:
            raise SettingsError("LOYALTY_JOBS_INTERVAL must be at least 1 second")
