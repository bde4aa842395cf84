"""The `loyalty` command: serve, migrate, mint tokens, seed demo data, write the OpenAPI file."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from uuid import UUID

from adapters.database import resolve_database_url
from adapters.persistence.migrate import migrate
from adapters.system import SystemClock
from app.composition import build_container, build_tokens, close_container
from app.settings import PROJECT_ROOT, Settings

OPENAPI_PATH = PROJECT_ROOT / "openapi" / "openapi.json"
IDEMPOTENCY_RETENTION = timedelta(hours=48)


def _database_url(settings: Settings) -> str:
    url = resolve_database_url(settings.database_url, settings.data_dir)
    # Child processes (uvicorn workers, Piccolo) find the same server through the environment.
    os.environ["DATABASE_URL"] = url
    return url


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    url = _database_url(settings)
    if args.migrate:
        asyncio.run(migrate(url))
    # uvicorn re-raises SIGTERM after its graceful shutdown; exiting normally instead lets the
    # embedded PostgreSQL's exit hook stop the server this process started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"serving on http://{args.host}:{args.port} (health: /health, docs: /schema)")
    uvicorn.run(
        "app.asgi:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        # Stated rather than left to "auto", which falls back silently to the pure-Python
        # event loop and parser (uvicorn[standard] installs both; uvloop makes each database
        # round trip cheaper: a pooled acquire and release about 27 µs instead of 60).
        loop="uvloop",
        http="httptools",
        access_log=False,
        # uvicorn would otherwise rewrite the client address from X-Forwarded-For whenever the
        # peer is 127.0.0.1 (its default forwarded_allow_ips), before the service sees it: a
        # caller on the same host could claim any address and get a fresh per-IP limit each
        # time. Only LOYALTY_TRUSTED_PROXIES decides whom to believe (client_address.py).
        proxy_headers=False,
        log_level="warning",
        # uvicorn's own records go to the root logger, rendered as JSON like the service's.
        log_config=None,
    )
    return 0


def cmd_migrate(_: argparse.Namespace, settings: Settings) -> int:
    asyncio.run(migrate(_database_url(settings)))
    return 0


def cmd_token(args: argparse.Namespace, settings: Settings) -> int:
    tokens = build_tokens(settings, SystemClock())
    if args.role == "admin":
        if settings.admin_jwks_url:
            print(
                "refused: LOYALTY_ADMIN_JWKS_URL is set, so admin tokens come from the identity "
                "provider and the service would reject this one",
                file=sys.stderr,
            )
            return 1
        issued = tokens.issue_admin_token(args.subject, args.ttl)
    else:
        issued = tokens.issue_member_token(UUID(args.subject), args.ttl)
    print(issued.token)
    return 0


def cmd_seed_demo(_: argparse.Namespace, settings: Settings) -> int:
    from app.demo import seed_demo

    async def run() -> None:
        url = _database_url(settings)
        await migrate(url)
        container = await build_container(settings, url)
        try:
            creds = await seed_demo(container)
        finally:
            await close_container(container)
        print(f"store_id:        {creds.store_id}")
        print(f"terminal_id:     {creds.terminal_id}")
        print(f"terminal_secret: {creds.terminal_secret}  (shown once)")
        for member_id in creds.member_ids:
            print(f"member_id:       {member_id}")

    asyncio.run(run())
    return 0


def openapi_json() -> str:
    from litestar.serialization import encode_json

    from adapters.http.application import openapi_document
    from app.asgi import create_app

    document = openapi_document(create_app(Settings()))
    return json.dumps(json.loads(encode_json(document)), indent=2, sort_keys=True) + "\n"


def cmd_openapi(args: argparse.Namespace, _: Settings) -> int:
    text = openapi_json()
    path = Path(args.output)
    if args.check:
        if not path.exists() or path.read_text() != text:
            print(f"{path} is stale: run `loyalty openapi` (or `make openapi`)", file=sys.stderr)
            return 1
        print(f"{path} is current")
        return 0
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    print(f"wrote {path}")
    return 0


def cmd_ledger_verify(_: argparse.Namespace, settings: Settings) -> int:
    """Recomputes every hash chain and reconciles balances, lots and movements; 1 on a mismatch."""
    from adapters.persistence.ledger_audit import verify_ledger_at

    report = asyncio.run(
        verify_ledger_at(_database_url(settings), on_mismatch=lambda m: print(f"MISMATCH {m}"))
    )
    print(report.summary())
    return 0 if report.ok else 1


def cmd_purge_idempotency(_: argparse.Namespace, settings: Settings) -> int:
    async def run() -> int:
        container = await build_container(settings, _database_url(settings))
        try:
            async with container.uow() as uow:
                cutoff = container.clock.now() - IDEMPOTENCY_RETENTION
                purged = await uow.idempotency.purge_older_than(cutoff)
                await uow.commit()
                return purged
        finally:
            await close_container(container)

    print(f"purged {asyncio.run(run())} idempotency keys older than {IDEMPOTENCY_RETENTION}")
    return 0


def cmd_expire_points(args: argparse.Namespace, settings: Settings) -> int:
    from adapters.persistence.jobs import ExpiryReport, expire_points, job_lock

    async def run() -> ExpiryReport | None:
        container = await build_container(settings, _database_url(settings))
        try:
            async with job_lock(container.engine, "expire-points") as connection:
                if connection is None:
                    return None
                # The lock stays on this connection; the batches run on the job's own.
                return await expire_points(container.engine, container.clock.now(), args.batch_size)
        finally:
            await close_container(container)

    report = asyncio.run(run())
    if report is None:
        print("skipped: another process is running expire-points", file=sys.stderr)
        return 1
    print(
        f"expired {report.points} points in {report.lots} lots of {report.members} members "
        f"({report.batches} batches, reference {report.reference})"
    )
    return 0


def cmd_release_pending(args: argparse.Namespace, settings: Settings) -> int:
    from adapters.persistence.jobs import PostgresReleasableLots, job_lock
    from app.jobs import ReleaseReport, release_pending

    async def run() -> ReleaseReport | None:
        container = await build_container(settings, _database_url(settings))
        try:
            async with job_lock(container.engine, "release-pending") as connection:
                if connection is None:
                    return None
                return await release_pending(
                    container.uow,
                    container.clock,
                    PostgresReleasableLots(container.engine),
                    batch_size=args.batch_size,
                )
        finally:
            await close_container(container)

    report = asyncio.run(run())
    if report is None:
        print("skipped: another process is running release-pending", file=sys.stderr)
        return 1
    print(
        f"released {report.lots} pending lots of {report.members} members: "
        f"{report.points} points earned, {report.debt_paid} of them paid off debt"
    )
    for failure in report.failed:
        print(f"failed for member {failure.member_id}: {failure.error}", file=sys.stderr)
    return 1 if report.failed else 0


def cmd_review_tiers(args: argparse.Namespace, settings: Settings) -> int:
    from adapters.persistence.tier_jobs import ReviewAlreadyRunning, ReviewReport, review_tiers

    async def run() -> ReviewReport | None:
        container = await build_container(settings, _database_url(settings))
        try:
            return await review_tiers(
                container.engine, container.clock.now(), batch_size=args.batch_size
            )
        except ReviewAlreadyRunning:
            return None
        finally:
            await close_container(container)

    report = asyncio.run(run())
    if report is None:
        print("skipped: another process is running review-tiers", file=sys.stderr)
        return 1
    print(
        f"reviewed {report.members_reviewed} members: {report.upgraded} upgraded, "
        f"{report.downgraded} downgraded, grace started for {report.grace_started}, "
        f"cleared for {report.grace_cleared} ({report.batches} batches)"
    )
    return 0


def cmd_expire_coupons(args: argparse.Namespace, settings: Settings) -> int:
    from adapters.persistence.coupon_jobs import expire_coupons

    async def run() -> int:
        container = await build_container(settings, _database_url(settings))
        try:
            return await expire_coupons(
                container.engine, container.clock.now(), batch_size=args.batch_size
            )
        finally:
            await close_container(container)

    print(f"marked {asyncio.run(run())} coupons expired")
    return 0


def cmd_birthday_coupons(args: argparse.Namespace, settings: Settings) -> int:
    from adapters.persistence.coupon_jobs import PostgresBirthdayCalendar
    from app.use_cases.birthdays import BirthdayReport, run_birthday_job

    async def run() -> BirthdayReport:
        container = await build_container(settings, _database_url(settings))
        try:
            return await run_birthday_job(
                container.uow,
                PostgresBirthdayCalendar(container.engine),
                clock=container.clock,
                random=container.random,
                ids=container.ids,
                batch_size=args.batch_size,
            )
        finally:
            await close_container(container)

    report = asyncio.run(run())
    if not report.enabled:
        print("birthday coupons are switched off (PUT /v1/admin/birthday-reward)")
        return 0
    if report.template_closed:
        print("the birthday template no longer issues coupons; choose another", file=sys.stderr)
        return 1
    print(
        f"issued {report.issued} birthday coupons; {report.skipped} members skipped "
        "(already have this year's, or the template's limits)"
    )
    return 0


def cmd_deliver_notifications(args: argparse.Namespace, settings: Settings) -> int:
    from adapters.persistence.outbox_jobs import PostgresNotificationQueue
    from app.notifications import DeliveryReport, deliver_notifications

    async def run() -> DeliveryReport:
        container = await build_container(settings, _database_url(settings))
        try:
            assert container.sms is not None
            assert container.member_notifier is not None
            assert container.login is not None
            return await deliver_notifications(
                PostgresNotificationQueue(container.engine),
                container.clock,
                container.sms,
                container.member_notifier,
                secrets=container.login.secrets,
                batch_size=args.batch_size,
            )
        finally:
            await close_container(container)

    report = asyncio.run(run())
    print(
        f"delivered {report.delivered} notifications, {report.retrying} to retry later, "
        f"{report.dead} given up"
    )
    return 0


def cmd_remind_points_expiring(_: argparse.Namespace, settings: Settings) -> int:
    from adapters.persistence.outbox_jobs import REMINDER_HORIZON, remind_points_expiring

    async def run() -> int:
        container = await build_container(settings, _database_url(settings))
        try:
            return await remind_points_expiring(container.engine, container.clock.now())
        finally:
            await close_container(container)

    print(f"queued {asyncio.run(run())} reminders of points expiring within {REMINDER_HORIZON}")
    return 0


def cmd_schedule_follow_ups(_: argparse.Namespace, settings: Settings) -> int:
    from adapters.persistence.follow_ups import schedule_follow_ups_on

    async def run() -> str:
        container = await build_container(settings, _database_url(settings))
        try:
            report = await schedule_follow_ups_on(container.engine, container.clock.now())
            return f"scheduled {report.scheduled} follow-up calls due {report.today}"
        finally:
            await close_container(container)

    print(asyncio.run(run()))
    return 0


def cmd_score_rfm(args: argparse.Namespace, settings: Settings) -> int:
    from adapters.persistence.crm_reports import snapshot_rfm_on

    async def run() -> str:
        container = await build_container(settings, _database_url(settings))
        try:
            done = await snapshot_rfm_on(container.engine, container.clock.now(), args.window_days)
            return f"scored {done.members_scored} members as of {done.as_of}"
        finally:
            await close_container(container)

    print(asyncio.run(run()))
    return 0


def cmd_import_online_retail(args: argparse.Namespace, settings: Settings) -> int:
    from adapters.persistence.online_retail import ImportRefused, import_online_retail_on

    async def run() -> str:
        container = await build_container(settings, _database_url(settings))
        try:
            report = await import_online_retail_on(
                container.engine, Path(args.path), now=container.clock.now()
            )
            return report.summary()
        finally:
            await close_container(container)

    try:
        print(asyncio.run(run()))
    except (ImportRefused, OSError) as error:
        print(f"import refused: {error}", file=sys.stderr)
        return 1
    return 0


def cmd_replay_online_retail(args: argparse.Namespace, settings: Settings) -> int:
    """Replays the Online Retail file through the HTTP API, then verifies the ledger."""
    from adapters.persistence.ledger_audit import verify_ledger_at
    from adapters.replay.online_retail import ReplayError, replay

    admin = build_tokens(settings, SystemClock()).issue_admin_token("replay-online-retail", 86400)
    try:
        report = asyncio.run(
            replay(
                Path(args.path),
                base_url=args.base_url,
                admin_token=admin.token,
                workers=args.workers,
                limit=args.limit,
            )
        )
    except ReplayError as error:
        print(f"replay stopped: {error}", file=sys.stderr)
        return 2
    ledger = asyncio.run(
        verify_ledger_at(_database_url(settings), on_mismatch=lambda m: print(f"MISMATCH {m}"))
    )
    report.ledger, report.ledger_ok = ledger.summary(), ledger.ok
    print("\n".join(report.lines()))
    return 0 if ledger.ok and not report.failures else 1


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="loyalty", description=__doc__)
    sub = root.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the HTTP service")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--migrate", action="store_true", help="apply migrations first")
    serve.set_defaults(handler=cmd_serve)

    sub.add_parser("migrate", help="apply database migrations").set_defaults(handler=cmd_migrate)

    token = sub.add_parser("token", help="print a signed JWT")
    token_sub = token.add_subparsers(dest="role", required=True)
    admin = token_sub.add_parser("admin", help="an admin token")
    admin.add_argument("--subject", required=True, help="who the admin is, for the audit log")
    admin.add_argument("--ttl", type=int, default=None, help="lifetime in seconds")
    member = token_sub.add_parser("member", help="a member token (until OTP login exists)")
    member.add_argument("subject", metavar="MEMBER_ID")
    member.add_argument("--ttl", type=int, default=None, help="lifetime in seconds")
    token.set_defaults(handler=cmd_token)

    sub.add_parser(
        "seed-demo", help="create a demo store, terminal, tiers and members"
    ).set_defaults(handler=cmd_seed_demo)

    openapi = sub.add_parser("openapi", help="write (or --check) the OpenAPI document")
    openapi.add_argument("--output", default=str(OPENAPI_PATH))
    openapi.add_argument("--check", action="store_true")
    openapi.set_defaults(handler=cmd_openapi)

    ledger = sub.add_parser("ledger", help="audit the points ledger")
    ledger_sub = ledger.add_subparsers(dest="ledger_command", required=True)
    ledger_sub.add_parser(
        "verify",
        help="recompute every hash chain and reconcile balances, lots and movements "
        "(exit 1 and a line per mismatch when anything is off)",
    ).set_defaults(handler=cmd_ledger_verify)

    jobs = sub.add_parser("jobs", help="maintenance jobs")
    jobs_sub = jobs.add_subparsers(dest="job", required=True)
    jobs_sub.add_parser(
        "purge-idempotency-keys", help=f"forget keys older than {IDEMPOTENCY_RETENTION}"
    ).set_defaults(handler=cmd_purge_idempotency)
    expire = jobs_sub.add_parser(
        "expire-points", help="expire what is left of every lot past its expiry"
    )
    expire.add_argument("--batch-size", type=int, default=50_000, help="lots per transaction")
    expire.set_defaults(handler=cmd_expire_points)
    release = jobs_sub.add_parser(
        "release-pending", help="release pending points whose pending period is over"
    )
    release.add_argument("--batch-size", type=int, default=1000, help="members per batch")
    release.set_defaults(handler=cmd_release_pending)
    review = jobs_sub.add_parser(
        "review-tiers", help="review every member's tier: upgrades, grace, downgrades"
    )
    review.add_argument("--batch-size", type=int, default=250_000, help="members per transaction")
    review.set_defaults(handler=cmd_review_tiers)
    expire_coupons = jobs_sub.add_parser(
        "expire-coupons", help="mark available coupons past their end as expired"
    )
    expire_coupons.add_argument("--batch-size", type=int, default=50_000)
    expire_coupons.set_defaults(handler=cmd_expire_coupons)
    birthdays = jobs_sub.add_parser(
        "birthday-coupons",
        help="issue the birthday template to members whose birthday is in the coming days",
    )
    birthdays.add_argument("--batch-size", type=int, default=500, help="members per transaction")
    birthdays.set_defaults(handler=cmd_birthday_coupons)
    deliver = jobs_sub.add_parser(
        "deliver-notifications", help="send due outbox messages (SMS codes, member notices)"
    )
    deliver.add_argument("--batch-size", type=int, default=100, help="messages per claim")
    deliver.set_defaults(handler=cmd_deliver_notifications)
    jobs_sub.add_parser(
        "remind-points-expiring",
        help="queue one notice per member and expiry date for points expiring within 7 days",
    ).set_defaults(handler=cmd_remind_points_expiring)
    jobs_sub.add_parser(
        "schedule-follow-ups",
        help="one follow-up call per member sale made crm.follow_up_days days ago",
    ).set_defaults(handler=cmd_schedule_follow_ups)
    score_rfm = jobs_sub.add_parser(
        "score-rfm", help="store every member's RFM scores as of today (for the 360 view)"
    )
    score_rfm.add_argument("--window-days", type=int, default=365)
    score_rfm.set_defaults(handler=cmd_score_rfm)

    imports = sub.add_parser("import", help="bulk imports of history")
    imports_sub = imports.add_subparsers(dest="source", required=True)
    online_retail = imports_sub.add_parser(
        "online-retail",
        help="load a UCI Online Retail CSV (either layout, gzipped or not) as members, sales "
        "and refunds for analytics; rerunning adds nothing",
    )
    online_retail.add_argument("path", metavar="PATH")
    online_retail.set_defaults(handler=cmd_import_online_retail)
    replay_cmd = sub.add_parser("replay", help="replay a data set through the HTTP API")
    replay_sub = replay_cmd.add_subparsers(dest="data_set", required=True)
    retail = replay_sub.add_parser(
        "online-retail", help="the UCI Online Retail CSV (gzip): customers, sales, refunds"
    )
    retail.add_argument("path", metavar="PATH")
    retail.add_argument("--base-url", default="http://127.0.0.1:8000")
    retail.add_argument("--workers", type=int, default=8, help="concurrent tills at work")
    retail.add_argument("--limit", type=int, default=None, help="only the first N rows")
    retail.set_defaults(handler=cmd_replay_online_retail)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    settings = Settings.from_env()
    result: int = args.handler(args, settings)
    return result


if __name__ == "__main__":
    sys.exit(main())
