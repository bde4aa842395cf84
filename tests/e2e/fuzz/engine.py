"""Drawing one hostile request of a class for an operation: a valid request from the catalogue,
then the class's change to it (a field, a parameter, a header, the whole body)."""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from hypothesis import assume
from hypothesis import strategies as st

from tests.e2e.fuzz.catalogue import starts
from tests.e2e.fuzz.contract import Operation, kind_of, resolve, without_null
from tests.e2e.fuzz.hostile import (
    MALFORMED_BODIES,
    NON_ASCII_HEADER_VALUES,
    SLOT_CLASSES,
    WRONG_MEDIA_TYPES,
    Mutation,
    deep_bodies,
    duplicate_body,
    duplicate_targets,
    put,
    show,
    slots_for,
)
from tests.e2e.fuzz.wire import NO_BODY, Request
from tests.e2e.fuzz.world import World

WEBHOOKS = ("POST /v1/webhooks/shop", "POST /v1/webhooks/stripe")
SIGNATURE_HEADERS = {
    "POST /v1/webhooks/shop": "Shop-Signature",
    "POST /v1/webhooks/stripe": "Stripe-Signature",
}
# What each webhook's events hold (the contract leaves `data` free-form): for the slot classes.
WEBHOOK_KINDS = {
    "POST /v1/webhooks/shop": {"string", "date-time", "integer"},
    "POST /v1/webhooks/stripe": {"string", "integer", "boolean"},
}


@dataclass(frozen=True)
class HostileClass:
    name: str
    item: str  # the item
    applies: Callable[[Operation], bool]


def _schema_kinds(schema: dict[str, object] | None, seen: int = 0) -> set[str]:
    if not schema or seen > 8:
        return set()
    s = without_null(schema)
    found = {k for k in [kind_of(s)] if k}
    for sub in (s.get("properties") or {}).values():  # type: ignore[union-attr]
        found |= _schema_kinds(resolve(sub), seen + 1)
    if isinstance(s.get("items"), dict):
        found |= _schema_kinds(resolve(s["items"]), seen + 1)  # type: ignore[arg-type]
    return found


def kinds_in(operation: Operation) -> set[tuple[str, str]]:
    """(where, kind) pairs the operation's requests hold, per the contract."""
    found = {("body", k) for k in _schema_kinds(operation.body_schema)}
    if operation.name in WEBHOOK_KINDS:
        found |= {("body", k) for k in WEBHOOK_KINDS[operation.name]}
    for parameter in operation.parameters:
        if parameter["in"] in ("query", "path"):
            kind = kind_of(parameter.get("schema"))
            if kind:
                found.add((parameter["in"], kind))
    return found


def _slot_class_applies(name: str) -> Callable[[Operation], bool]:
    c = SLOT_CLASSES[name]
    return lambda op: any(w in c.wheres and k in c.kinds for w, k in kinds_in(op))


def _json_body(op: Operation) -> bool:
    return op.body_schema is not None or op.name in WEBHOOKS


CLASSES = {
    c.name: c
    for c in [
        *(HostileClass(n, s.item, _slot_class_applies(n)) for n, s in SLOT_CLASSES.items()),
        HostileClass("malformed_body", "7", _json_body),
        HostileClass("deep_body", "2", _json_body),
        HostileClass("duplicate_keys", "8", _json_body),
        HostileClass("content_type", "8", lambda op: "application/json" in op.body_media_types),
        HostileClass("headers", "2", lambda op: True),
        HostileClass("signature", "2/5", lambda op: op.name in WEBHOOKS),
    ]
}


def draw(data: st.DataObject, name: str, operation: Operation, world: World) -> Mutation:
    make = data.draw(st.sampled_from(starts(operation.name)), label="valid request")
    request = make(world)
    if name in SLOT_CLASSES:
        return _slot_mutation(data, name, operation, request)
    return {
        "malformed_body": _malformed_body,
        "deep_body": _deep_body,
        "duplicate_keys": _duplicate_keys,
        "content_type": _content_type,
        "headers": _headers,
        "signature": _signature,
    }[name](data, operation, request)


# The fields of webhook events the service reads (tests/support/webhooks.py sends Stripe's
# whole objects, most of whose fields it ignores): drawn more often than the rest.
READ_KEYS = frozenset(
    {
        "id", "type", "created", "created_at", "data", "object", "amount", "amount_received",
        "amount_refunded", "currency", "metadata", "member_id", "order_id", "payment_intent",
        "status", "customer_id", "phone", "email", "lines", "sku", "category", "quantity",
        "unit_price", "coupon_codes", "redeem_points", "paid_at", "refund_id", "review_id",
        "rating",
    }
)  # fmt: skip


def _slot_mutation(data: st.DataObject, name: str, op: Operation, request: Request) -> Mutation:
    candidates = slots_for(name, op, request)
    # Operations with several starting requests (the webhooks' event types, a coupon issue to
    # members or to a segment) hold a class in only some of them: draw another start. An
    # operation none of whose starts holds it makes hypothesis fail as unsatisfiable.
    assume(bool(candidates))
    read = [s for s in candidates if any(p in READ_KEYS for p in s.path[-2:])]
    choices = st.sampled_from(candidates)
    if op.name in WEBHOOKS and read:
        choices = st.one_of(st.sampled_from(read), choices)
    slot = data.draw(choices, label="field")
    value, refuse = data.draw(SLOT_CLASSES[name].values(slot), label="value")
    return Mutation(name, slot.label, show(value), refuse, put(request, slot, value))


def _malformed_body(data: st.DataObject, op: Operation, request: Request) -> Mutation:
    body = data.draw(st.sampled_from(MALFORMED_BODIES), label="body")
    return Mutation(
        "malformed_body",
        "body",
        repr(body),
        "a body that is not the contract's object",
        request.with_(raw_body=body),
    )


def _deep_body(data: st.DataObject, op: Operation, request: Request) -> Mutation:
    body = data.draw(deep_bodies(), label="body")
    return Mutation(
        "deep_body",
        "body",
        f"{len(body) // 2}-deep",
        "a deeply nested body",
        request.with_(raw_body=body),
    )


def _duplicate_keys(data: st.DataObject, op: Operation, request: Request) -> Mutation:
    typed = op.body_schema is not None
    targets = duplicate_targets(request.body, typed) or duplicate_targets(request.body, True)
    path, key = data.draw(st.sampled_from(targets), label="key")
    other = data.draw(
        st.one_of(st.sampled_from(["other", 0, 1, None, True, [], {}]), st.text(max_size=8)),
        label="other value",
    )
    first = data.draw(st.booleans(), label="duplicate first")
    body = duplicate_body(request.body, path, key, other, first)
    where = "$" + "".join(f".{p}" for p in (*path, key))
    return Mutation(
        "duplicate_keys",
        where,
        show(other),
        "a key given twice" if typed else None,
        request.with_(raw_body=body),
    )


def _content_type(data: st.DataObject, op: Operation, request: Request) -> Mutation:
    media = data.draw(st.sampled_from([*WRONG_MEDIA_TYPES, None]), label="content type")
    headers = {k: v for k, v in request.headers.items() if k.lower() != "content-type"}
    if media is None:  # None: no Content-Type header at all
        mutated = request.with_(headers={**headers, "Content-Type": None})
        shown = "(none)"
    else:
        mutated = request.with_(headers={**headers, "Content-Type": media})
        shown = media or "(empty)"
    if mutated.body is NO_BODY and mutated.raw_body is None:
        mutated = mutated.with_(body={})
    return Mutation(
        "content_type", "header Content-Type", shown, "a body not sent as JSON", mutated
    )


def _needs_auth(op: Operation) -> bool:
    return op.path.startswith(("/v1/admin", "/v1/pos", "/v1/me"))


def _needs_key(op: Operation) -> bool:
    return any(p["name"] == "Idempotency-Key" and p.get("required") for p in op.parameters)


def _header_values(op: Operation) -> list[tuple[str, str | bytes, str | None]]:
    auth = "an unusable Authorization header" if _needs_auth(op) else None
    idem = "an Idempotency-Key longer than 255" if _needs_key(op) else None
    values: list[tuple[str, str | bytes, str | None]] = [
        *(("Authorization", b"Bearer " + v, auth) for v in NON_ASCII_HEADER_VALUES),
        ("Authorization", "Bearer " + "a" * 20_000, auth),
        ("Authorization", "Bearer " + "a." * 3_000, auth),
        ("Idempotency-Key", "k" * 256, idem),
        ("Idempotency-Key", "k" * 60_000, idem),
        *(("Idempotency-Key", v, None) for v in NON_ASCII_HEADER_VALUES),
        ("Content-Type", b"application/json\xff", None),
        ("Content-Type", "application/json; charset=" + "x" * 5_000, None),
        ("X-Request-ID", b"\xff\xfe", None),
        ("X-Request-ID", "r" * 20_000, None),
        ("Accept", b"\xff", None),
        ("Accept-Language", "x" * 8_000, None),
        ("X-Forwarded-For", ", ".join(["203.0.113.9"] * 2_000), None),
        ("X-Forwarded-For", b"\xff\xfe", None),
        ("Forwarded", b"for=\xff", None),
        ("If-Match", b"\xff", None),
    ]
    signature = SIGNATURE_HEADERS.get(op.name)
    if signature:
        values += [
            (signature, b"t=" + str(int(time.time())).encode() + b",v1=" + v, "a forged signature")
            for v in NON_ASCII_HEADER_VALUES
        ]
        values += [
            (signature, "t=1,v1=" + "a" * 50_000, "a forged signature"),
            (signature, b"\xff", "a forged signature"),
        ]
    return values


# Bytes an HTTP/1.1 client may put in a field value: no controls, no space at either end.
_HEADER_BYTES = st.binary(min_size=1, max_size=24).filter(
    lambda b: (
        all(c == 9 or 32 <= c != 127 for c in b)
        and any(c > 127 for c in b)
        and b[0] not in (9, 32)
        and b[-1] not in (9, 32)
    )
)


def _headers(data: st.DataObject, op: Operation, request: Request) -> Mutation:
    fixed = _header_values(op)
    names = sorted({n for n, _, _ in fixed})
    choice = data.draw(
        st.one_of(
            st.sampled_from(fixed),
            st.tuples(st.sampled_from(names), _HEADER_BYTES, st.none()),
        ),
        label="header",
    )
    name, value, refuse = choice
    if refuse is None and name in ("Authorization", *SIGNATURE_HEADERS.values()):
        refuse = "a non-ASCII credential" if name != "Authorization" or _needs_auth(op) else None
    if name == "Authorization" and isinstance(value, bytes) and not value.startswith(b"Bearer"):
        value = b"Bearer " + value
    if name == "Idempotency-Key":
        # Each key its own: a key reused with another body is a 409, not what this tests.
        unique = uuid.uuid4().hex
        value = value + unique.encode() if isinstance(value, bytes) else value + unique
    headers = {k: v for k, v in request.headers.items() if k.lower() != name.lower()}
    shown = value.decode("latin-1") if isinstance(value, bytes) else value
    mutated = request.with_(headers={**headers, name: value})
    return Mutation("headers", f"header {name}", show(shown), refuse, mutated)


def _hmac(secret: str, stamp: bytes, body: bytes) -> str:
    return hmac.new(secret.encode(), stamp + b"." + body, hashlib.sha256).hexdigest()


def _signature(data: st.DataObject, op: Operation, request: Request) -> Mutation:
    """The right HMAC under the service's own secret, dated anywhere (only +-5 minutes of now
    may pass, as the README promises), or a header that is no signature at all."""
    body = request.body_bytes() or b""
    now = int(time.time())
    name = SIGNATURE_HEADERS[op.name]
    forged = [
        (name, b"t=" + str(now).encode() + b",v1=" + v, "a forged signature")
        for v in NON_ASCII_HEADER_VALUES
    ] + [
        (name, b"t=\xff,v1=00", "a forged signature"),
        (name, "t=" + str(now) + ",v1=" + "0" * 64, "a forged signature"),
        (name, "v1=" + "0" * 64, "a signature without a time"),
        (name, "t=1,v1=" + "a" * 50_000, "a forged signature"),
    ]
    if data.draw(st.booleans(), label="forged"):
        header_name, value, refuse = data.draw(st.sampled_from(forged), label="signature")
        mutated = request.with_(raw_body=body, headers={**request.headers, header_name: value})
        shown = value.decode("latin-1") if isinstance(value, bytes) else value
        return Mutation("signature", f"header {name}", show(shown[:80]), refuse, mutated)
    offset = data.draw(
        st.one_of(
            st.sampled_from([365 * 86_400, 30 * 86_400, 3_600, 400, -400, -3_600, -(10**9)]),
            st.integers(301, 10 * 365 * 86_400),
            st.integers(-(10 * 365 * 86_400), -301),
        ),
        label="seconds from now",
    )
    stamp = data.draw(
        st.one_of(st.just(str(now + offset)), st.sampled_from(["-1", "0", "9" * 30, "1e9"])),
        label="t",
    )
    header = f"t={stamp},v1={_hmac(_secret(request, op), stamp.encode(), body)}"
    fresh = stamp.lstrip("-").isdigit() and abs(int(stamp) - now) <= 300
    refuse = None if fresh else "a signature dated more than 5 minutes from now"
    mutated = request.with_(raw_body=body, headers={**request.headers, name: header})
    return Mutation(
        "signature", f"header {name} (t={stamp}, now {now})", header[:60], refuse, mutated
    )


def _secret(request: Request, op: Operation) -> str:
    """The secret the request's own signer uses (the served process's)."""
    signer = request.sign
    assert signer is not None, f"{op.name}: the catalogue's request is not signed"
    owner = getattr(signer, "__self__", None)
    assert owner is not None, "webhook signers are World methods"
    settings = owner.settings
    if op.name.endswith("shop"):
        return str(settings.shop_webhook_secrets[0])
    return str(settings.stripe_webhook_secrets[0])
