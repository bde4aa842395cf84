"""The `loyalty` command: serve, migrate, mint tokens, seed demo data, write the OpenAPI file."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from uuid import UUID

from adapters.database import resolve_database_url
from adapters.persistence.migrate import migrate
from adapters.system import SystemClock
from app.scheduling import JOBS, JOBS_BY_NAME, JobOptions, JobOutcome, run_job
from app.settings import PROJECT_ROOT, Settings
from app.wiring.composition import build_tokens, start_service, stop_service
from domain.staff import StaffRole

OPENAPI_PATH = PROJECT_ROOT / "openapi" / "openapi.json"


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
        "app.wiring.asgi:create_app",
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
        issued = tokens.issue_admin_token(args.subject, args.ttl, StaffRole(args.staff_role))
    else:
        issued = tokens.issue_member_token(UUID(args.subject), args.ttl)
    print(issued.token)
    return 0


_CODE = re.compile(r"\b(\d{6})\b")


def cmd_dev_otp(args: argparse.Namespace, settings: Settings) -> int:
    """Development only: prints the last login code sent to the phone, so that logging in by
    OTP takes two requests and no SMS gateway (docs/development.md)."""
    from adapters.contacts import LibraryContactNormaliser
    from adapters.persistence.dev_login import newest_login_code
    from app.wiring.composition import outbox_secrets
    from domain.errors import InvalidPhoneNumber

    if settings.is_production:
        print("refused: `loyalty dev` is for development (LOYALTY_ENV=production)", file=sys.stderr)
        return 2
    try:
        phone = LibraryContactNormaliser(settings.default_phone_region).phone(args.phone)
    except InvalidPhoneNumber:
        print(f"not a phone number: {args.phone!r}", file=sys.stderr)
        return 2
    newest = asyncio.run(newest_login_code(_database_url(settings), phone))
    if newest is None:
        print(f"no login code for {phone}: POST /v1/auth/otp first", file=sys.stderr)
        return 1
    if newest.sealed_code is not None:
        print(outbox_secrets(settings).open(newest.sealed_code))
        return 0
    if settings.dev_sms_dir is not None:
        texts = (settings.dev_sms_dir / f"{phone}.txt").read_text(encoding="utf-8")
        codes = _CODE.findall(texts)
        if codes:
            print(codes[-1])
            return 0
    print(
        f"the code for {phone} was already sent: the service printed it on its standard "
        "error (DEVELOPMENT SMS). Ask for a new one, or read it there.",
        file=sys.stderr,
    )
    return 1


def cmd_staff(args: argparse.Namespace, settings: Settings) -> int:
    """Staff accounts from the command line: the first owner, and help when locked out."""
    from app.use_cases import staff as staff_cases
    from domain.errors import DomainError

    actor = f"cli:{os.environ.get('USER') or 'unknown'}"

    async def run() -> str:
        url = _database_url(settings)
        await migrate(url)
        service = await start_service(settings, url)
        container = service.container
        ports = container.staff
        assert ports is not None
        try:
            async with container.uow() as uow:
                if args.action == "create":
                    link = await staff_cases.create_staff(
                        staff_cases.CreateStaff(
                            args.email, StaffRole(args.role), actor, args.name or ""
                        ),
                        uow,
                        ports,
                    )
                    out = _link_text(settings, link)
                elif args.action == "reset-password":
                    link = await staff_cases.reset_password(
                        staff_cases.ResetPassword(args.email, actor), uow, ports
                    )
                    out = _link_text(settings, link)
                elif args.action == "enrol-totp":
                    enrolment = await staff_cases.enrol_second_factor(
                        staff_cases.EnrolSecondFactor(args.email, actor), uow, ports
                    )
                    out = (
                        f"TOTP secret (shown once): {enrolment.secret}\n"
                        f"authenticator URI: {enrolment.provisioning_uri}"
                    )
                else:
                    members = await staff_cases.list_staff(uow, ports)
                    out = "\n".join(
                        f"{m.email}\t{m.role.value}\t{m.status.value}"
                        f"\t{'totp' if m.has_second_factor else '-'}"
                        for m in members
                    )
                await uow.commit()
            return out
        finally:
            await stop_service(service)

    try:
        print(asyncio.run(run()))
    except DomainError as error:
        print(f"refused: {error.detail}", file=sys.stderr)
        return 1
    return 0


def _link_text(settings: Settings, link: Any) -> str:
    return (
        f"{link.member.email} ({link.member.role.value}): set a password within 24 hours at\n"
        f"{settings.console_url}/set-password?token={link.token}\n"
        f"(single use; expires {link.expires_at.isoformat(timespec='minutes')})"
    )


def cmd_seed_demo(_: argparse.Namespace, settings: Settings) -> int:
    from app.wiring.demo import seed_demo

    async def run() -> None:
        url = _database_url(settings)
        await migrate(url)
        service = await start_service(settings, url)
        container = service.container
        try:
            creds = await seed_demo(container)
        finally:
            await stop_service(service)
        print(f"store_id:        {creds.store_id}")
        print(f"terminal_id:     {creds.terminal_id}")
        secret_note = (
            "shown once"
            if creds.terminal_created
            else "shown once; a new secret: the terminal's previous one no longer works"
        )
        print(f"terminal_secret: {creds.terminal_secret}  ({secret_note})")
        for member_id in creds.member_ids:
            print(f"member_id:       {member_id}")
        if not creds.tiers_adopted:
            print(
                "tiers:           the saved tier policy was left as it is (the demo ladder is set "
                "only on a new installation)",
                file=sys.stderr,
            )

    asyncio.run(run())
    return 0


def openapi_json() -> str:
    from litestar.serialization import encode_json

    from adapters.http.application import openapi_document
    from app.wiring.asgi import create_app

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


def cmd_job(args: argparse.Namespace, settings: Settings) -> int:
    """Runs one row of app.scheduling.JOBS once, under its lock, and says what it did."""
    job = JOBS_BY_NAME[args.job]
    options = JobOptions(
        batch_size=getattr(args, "batch_size", None), window_days=getattr(args, "window_days", None)
    )

    async def run() -> JobOutcome | None:
        service = await start_service(settings, _database_url(settings))
        try:
            return await run_job(job, service.jobs, options)
        finally:
            await stop_service(service)

    outcome = asyncio.run(run())
    if outcome is None:
        print(f"skipped: another process is running {job.name}", file=sys.stderr)
        return 1
    if outcome.summary is not None:
        print(outcome.summary)
    for failure in outcome.failures:
        print(failure, file=sys.stderr)
    return 0 if outcome.ok else 1


def cmd_import_online_retail(args: argparse.Namespace, settings: Settings) -> int:
    from adapters.persistence.online_retail_import import ImportRefused, import_online_retail_on

    async def run() -> str:
        service = await start_service(settings, _database_url(settings))
        container = service.container
        try:
            report = await import_online_retail_on(
                service.engine, Path(args.path), now=container.clock.now()
            )
            return report.summary()
        finally:
            await stop_service(service)

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
    admin.add_argument(
        "--staff-role",
        default=StaffRole.OWNER.value,
        choices=[r.value for r in StaffRole],
        help="what the token may do (app/permissions.py); default owner",
    )
    member = token_sub.add_parser(
        "member", help="a member token, for development and tests (the app logs in by SMS code)"
    )
    member.add_argument("subject", metavar="MEMBER_ID")
    member.add_argument("--ttl", type=int, default=None, help="lifetime in seconds")
    token.set_defaults(handler=cmd_token)

    dev = sub.add_parser("dev", help="development helpers (refused in production)")
    dev_sub = dev.add_subparsers(dest="dev_command", required=True)
    otp = dev_sub.add_parser(
        "otp", help="print the last login code sent to a phone (log in without an SMS gateway)"
    )
    otp.add_argument("--phone", required=True, help="as the app sent it to POST /v1/auth/otp")
    otp.set_defaults(handler=cmd_dev_otp)

    staff = sub.add_parser("staff", help="back-office staff accounts (docs/console.md)")
    staff_sub = staff.add_subparsers(dest="action", required=True)
    create = staff_sub.add_parser("create", help="an account; prints its set-password link")
    create.add_argument("--email", required=True)
    create.add_argument("--role", required=True, choices=[r.value for r in StaffRole])
    create.add_argument("--name", default=None, help="display name (default: from the e-mail)")
    reset = staff_sub.add_parser("reset-password", help="a new one-time set-password link")
    reset.add_argument("--email", required=True)
    totp = staff_sub.add_parser("enrol-totp", help="a TOTP second factor; prints its secret")
    totp.add_argument("--email", required=True)
    staff_sub.add_parser("list", help="every account, its role and status")
    staff.set_defaults(handler=cmd_staff)

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

    jobs = sub.add_parser("jobs", help="maintenance jobs (the service runs them in process too)")
    jobs_sub = jobs.add_subparsers(dest="job", required=True)
    for job in JOBS:
        command = jobs_sub.add_parser(job.name, help=job.help)
        if job.defaults.batch_size is not None:
            command.add_argument(
                "--batch-size", type=int, default=None, help=f"default {job.defaults.batch_size}"
            )
        if job.defaults.window_days is not None:
            command.add_argument(
                "--window-days", type=int, default=None, help=f"default {job.defaults.window_days}"
            )
        command.set_defaults(handler=cmd_job)

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
