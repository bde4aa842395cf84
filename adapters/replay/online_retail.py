"""Replays the UCI "Online Retail" transactions through the HTTP API, as a set of tills would.

Only HTTP is used against the service: an admin token (signed with the settings' JWT secret,
as `loyalty token admin` does) creates the replay's store and tills, each till logs in with its
own secret, and the tills enrol customers, post sales and refunds. Every write carries an
Idempotency-Key derived from the file (customer id, invoice number), and each customer always
goes through the same till (keys are per caller), so a replay that is interrupted and started
again gets the first answers back and applies nothing twice, whatever --workers says.

File rules, each counted in the report rather than dropped silently:
- an invoice is a sale with receipt_id = invoice number, occurred_at = the invoice time in
  Europe/London, unit prices rounded half up to pence; more than 500 lines (the API's limit)
  are split into receipts `<invoice>`, `<invoice>-2`, ...;
- rows without a customer id are guest sales (no member);
- an invoice starting with C is a cancellation: each of its stock codes is refunded from the
  customer's most recent earlier sale that still has that stock code to refund; quantities with
  no such sale (the original is before the file starts, or a guest's) are unmatched;
- rows that are neither (a non-positive quantity outside a cancellation, a negative price: the
  bad-debt adjustments) are skipped and counted.

The invoices are years old: the service must be run with LOYALTY_MAX_BACKDATE_DAYS raised past
the file's oldest invoice (the replay checks this with a quote first, and stops with the value
to use before posting anything).
"""

from __future__ import annotations

import asyncio
import csv
import gzip
import time
import uuid
import zlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

import httpx

LONDON = ZoneInfo("Europe/London")
MAX_LINES = 500
TILLS = 8  # fixed, not --workers: a customer's till (and so its key namespace) never changes
STORE_CODE = "REPLAY-ONLINE-RETAIL"
ADMIN_SUBJECT = "replay-online-retail"
RETRIES = 5
PENCE = Decimal("0.01")

# The two layouts of the data sets (Online Retail, and Online Retail II).
COLUMNS = {
    "invoice": ("InvoiceNo", "Invoice"),
    "stock_code": ("StockCode",),
    "quantity": ("Quantity",),
    "invoice_date": ("InvoiceDate",),
    "unit_price": ("UnitPrice", "Price"),
    "customer_id": ("CustomerID", "Customer ID"),
}


class ReplayError(Exception):
    """The service refused something the replay cannot go on without (setup, login)."""


@dataclass(frozen=True, slots=True)
class Row:
    invoice: str
    stock_code: str
    quantity: int
    at: datetime
    unit_price: int  # pence, rounded half up
    customer_id: str | None


@dataclass(slots=True)
class Invoice:
    number: str
    at: datetime
    customer_id: str | None
    lines: list[tuple[str, int, int]] = field(default_factory=list)  # sku, quantity, price

    @property
    def is_cancellation(self) -> bool:
        return self.number.startswith("C")


@dataclass(slots=True)
class FileStats:
    rows: int = 0
    invoices: int = 0
    cancellations: int = 0
    skipped_rows: Counter[str] = field(default_factory=Counter)
    duplicate_rows: int = 0
    customers: int = 0


@dataclass(slots=True)
class Report:
    file: FileStats
    invoices: int = 0
    sales: int = 0
    guest_sales: int = 0
    refunds: int = 0
    cancellations_matched: int = 0
    cancellations_partly_matched: int = 0
    cancellations_unmatched: int = 0
    unmatched_quantity: int = 0
    members: int = 0
    points_earned: int = 0
    points_reversed: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    wall_seconds: float = 0.0
    ledger: str = ""
    ledger_ok: bool = True

    @property
    def sales_per_second(self) -> float:
        return self.sales / self.wall_seconds if self.wall_seconds else 0.0

    def lines(self) -> list[str]:
        skipped = ", ".join(f"{n} {why}" for why, n in sorted(self.file.skipped_rows.items()))
        out = [
            f"rows:                    {self.file.rows} ({self.file.duplicate_rows} exact "
            f"duplicates kept as lines; skipped: {skipped or 'none'})",
            f"invoices:                {self.invoices}",
            f"sales:                   {self.sales} ({self.guest_sales} guest)",
            f"refunds:                 {self.refunds}",
            f"cancellations:           {self.file.cancellations} ({self.cancellations_matched} "
            f"matched, {self.cancellations_partly_matched} partly)",
            f"unmatched cancellations: {self.cancellations_unmatched} "
            f"({self.unmatched_quantity} units without an earlier sale)",
            f"members:                 {self.members}",
            f"points earned:           {self.points_earned}",
            f"points reversed:         {self.points_reversed}",
            f"wall time:               {self.wall_seconds:.1f} s",
            f"sales/s:                 {self.sales_per_second:.1f}",
        ]
        for what, n in sorted(self.failures.items()):
            out.append(f"FAILED {what}: {n}")
        if self.ledger:
            out.append(self.ledger)
        return out


def _column(header: list[str], name: str) -> int:
    for candidate in COLUMNS[name]:
        if candidate in header:
            return header.index(candidate)
    raise ValueError(f"no {name} column ({' or '.join(COLUMNS[name])}) in {header}")


def pence(price: str) -> int:
    return int((Decimal(price) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def read_rows(path: Path, limit: int | None = None) -> Iterator[Row]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        index = {name: _column(header, name) for name in COLUMNS}
        for number, record in enumerate(reader):
            if limit is not None and number >= limit:
                return
            customer = record[index["customer_id"]].strip()
            if customer.endswith(".0"):
                customer = customer[:-2]
            yield Row(
                invoice=record[index["invoice"]].strip(),
                stock_code=record[index["stock_code"]].strip(),
                quantity=int(record[index["quantity"]]),
                at=datetime.fromisoformat(record[index["invoice_date"]]).replace(tzinfo=LONDON),
                unit_price=pence(record[index["unit_price"]]),
                customer_id=customer or None,
            )


def group_invoices(rows: Iterable[Row], stats: FileStats) -> list[Invoice]:
    """Invoices in time order (file order within a minute), rows that cannot be sold counted."""
    invoices: dict[str, Invoice] = {}
    # An invoice's rows are contiguous in the file: duplicates are looked for within one.
    seen: set[Row] = set()
    current = ""
    customers: set[str] = set()
    for row in rows:
        stats.rows += 1
        if row.invoice != current:
            seen.clear()
            current = row.invoice
        if row in seen:
            stats.duplicate_rows += 1
        seen.add(row)
        cancellation = row.invoice.startswith("C")
        if row.unit_price < 0:
            stats.skipped_rows["negative price"] += 1
            continue
        if (cancellation and row.quantity >= 0) or (not cancellation and row.quantity <= 0):
            stats.skipped_rows["non-positive quantity outside a cancellation"] += 1
            continue
        invoice = invoices.get(row.invoice)
        if invoice is None:
            invoice = invoices[row.invoice] = Invoice(row.invoice, row.at, row.customer_id)
        invoice.lines.append((row.stock_code, abs(row.quantity), row.unit_price))
        if row.customer_id:
            customers.add(row.customer_id)
    stats.invoices = len(invoices)
    stats.cancellations = sum(1 for i in invoices.values() if i.is_cancellation)
    stats.customers = len(customers)
    return sorted(invoices.values(), key=lambda i: i.at)


def phone_for(customer_id: str) -> str:
    """A deterministic, valid UK mobile number (+44 7400 ...) for the file's customer id."""
    return f"+447400{int(customer_id):06d}"


def till_for(group: str) -> int:
    return zlib.crc32(group.encode()) % TILLS


def _code(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return str(response.status_code)
    code = body.get("code") if isinstance(body, dict) else None
    return f"{response.status_code} {code}" if code else str(response.status_code)


@dataclass(slots=True)
class SaleState:
    sale_id: str
    at: datetime
    remaining: Counter[str]  # stock code -> quantity not yet refunded


class Replay:
    def __init__(self, client: httpx.AsyncClient, admin_token: str, report: Report) -> None:
        self.client = client
        self.admin = {"authorization": f"Bearer {admin_token}"}
        self.report = report
        self.tills: list[dict[str, str]] = []
        self.members: dict[str, str] = {}

    async def post(
        self, path: str, body: dict[str, Any] | None, *, key: str, headers: dict[str, str]
    ) -> httpx.Response:
        """POSTs with the key; a lost connection is retried with the same key (that is what
        the key is for)."""
        for attempt in range(RETRIES):
            try:
                return await self.client.post(
                    path, json=body, headers={**headers, "Idempotency-Key": key}
                )
            except httpx.TransportError:
                if attempt == RETRIES - 1:
                    raise
                await asyncio.sleep(0.2 * 2**attempt)
        raise AssertionError("unreachable")

    async def setup(self) -> None:
        store = await self.post(
            "/v1/admin/stores",
            {"code": STORE_CODE, "name": "Online Retail replay"},
            key=f"replay-store-{STORE_CODE}",
            headers=self.admin,
        )
        if store.status_code != 201:
            raise ReplayError(f"creating the store: {_code(store)} {store.text}")
        store_id = store.json()["store_id"]
        for till in range(TILLS):
            terminal = await self.post(
                "/v1/admin/terminals",
                {"store_id": store_id, "code": f"TILL-{till + 1}"},
                key=f"replay-terminal-{STORE_CODE}-{till + 1}",
                headers=self.admin,
            )
            if terminal.status_code != 201:
                raise ReplayError(f"creating till {till + 1}: {_code(terminal)}")
            created = terminal.json()
            secret = created["secret"] or await self.rotate(created["terminal_id"], till)
            login = await self.client.post(
                "/v1/auth/terminal-token",
                json={"terminal_id": created["terminal_id"], "secret": secret},
            )
            if login.status_code != 200:
                raise ReplayError(f"till {till + 1} login: {_code(login)}")
            self.tills.append({"authorization": f"Bearer {login.json()['access_token']}"})

    async def rotate(self, terminal_id: str, till: int) -> str:
        """A new secret for a till created by an earlier run: the answer replayed for its key
        withholds the secret, which was shown once, to that run."""
        rotated = await self.post(
            f"/v1/admin/terminals/{terminal_id}/secret",
            None,
            key=f"replay-secret-{STORE_CODE}-{till + 1}-{uuid.uuid4().hex}",
            headers=self.admin,
        )
        if rotated.status_code != 200:
            raise ReplayError(f"rotating the secret of till {till + 1}: {_code(rotated)}")
        secret: str = rotated.json()["secret"]
        return secret

    async def check_dating(self, oldest: datetime) -> None:
        """Stops before any sale if the service refuses sales as old as the file's oldest:
        a service limits back-dating (LOYALTY_MAX_BACKDATE_DAYS, default 90 days), and a
        replay of history needs it raised past the file. A quote writes nothing."""
        quote = await self.client.post(
            "/v1/pos/quote",
            json={
                "occurred_at": oldest.isoformat(),
                "lines": [{"sku": "DATING-CHECK", "quantity": 1, "unit_price": 0}],
            },
            # A new key each run: a stored refusal must not answer a run after the fix.
            headers={**self.tills[0], "Idempotency-Key": f"replay-dating-check-{uuid4()}"},
        )
        if quote.status_code == 200:
            return
        fields = [e.get("field") for e in quote.json().get("errors") or ()]
        if quote.status_code == 422 and "occurred_at" in fields:
            days = (datetime.now(oldest.tzinfo) - oldest).days + 1
            raise ReplayError(
                f"the service refuses sales dated {oldest:%Y-%m-%d} ({quote.json()['detail']}); "
                f"serve it with LOYALTY_MAX_BACKDATE_DAYS={days} or more for this replay"
            )
        raise ReplayError(f"checking the file's dates: {_code(quote)} {quote.text}")

    async def member(self, customer_id: str, till: dict[str, str]) -> str | None:
        known = self.members.get(customer_id)
        if known:
            return known
        phone = phone_for(customer_id)
        response = await self.post(
            "/v1/pos/members",
            {"phone": phone, "name": f"Customer {customer_id}"},
            key=f"replay-enrol-{customer_id}",
            headers=till,
        )
        if response.status_code == 409 and _code(response).endswith("member_exists"):
            # Enrolled before, under another key (another store's replay, or by hand).
            response = await self.client.get(
                "/v1/pos/members/lookup", params={"phone": phone}, headers=till
            )
        if response.status_code not in (200, 201):
            self.report.failures[f"enrol {_code(response)}"] += 1
            return None
        member_id: str = response.json()["member_id"]
        self.members[customer_id] = member_id
        self.report.members += 1
        return member_id

    async def sale(
        self, invoice: Invoice, member_id: str | None, till: dict[str, str]
    ) -> list[SaleState]:
        states = []
        for part, start in enumerate(range(0, len(invoice.lines), MAX_LINES)):
            chunk = invoice.lines[start : start + MAX_LINES]
            receipt = invoice.number if part == 0 else f"{invoice.number}-{part + 1}"
            body: dict[str, Any] = {
                "receipt_id": receipt,
                "occurred_at": invoice.at.isoformat(),
                "lines": [{"sku": s, "quantity": q, "unit_price": p} for s, q, p in chunk],
            }
            if member_id:
                body["member_id"] = member_id
            response = await self.post(
                "/v1/pos/sales", body, key=f"replay-sale-{receipt}", headers=till
            )
            if response.status_code != 201:
                self.report.failures[f"sale {_code(response)}"] += 1
                continue
            result = response.json()
            self.report.sales += 1
            if member_id is None:
                self.report.guest_sales += 1
            self.report.points_earned += int(result["points_earned"])
            remaining = Counter[str]()
            for sku, quantity, _ in chunk:
                remaining[sku] += quantity
            states.append(SaleState(result["sale_id"], invoice.at, remaining))
        return states

    async def cancellation(
        self, invoice: Invoice, history: list[SaleState], till: dict[str, str]
    ) -> None:
        wanted = Counter[str]()
        for sku, quantity, _ in invoice.lines:
            wanted[sku] += quantity
        # Per sale, the quantities taken from it: the most recent earlier sale first.
        taken: dict[str, Counter[str]] = defaultdict(Counter)
        order: list[SaleState] = []
        unmatched = 0
        for sku, quantity in wanted.items():
            left = quantity
            for sale in reversed(history):
                if left == 0:
                    break
                if sale.at > invoice.at or sale.remaining[sku] == 0:
                    continue
                take = min(left, sale.remaining[sku])
                if sale.sale_id not in taken:
                    order.append(sale)
                taken[sale.sale_id][sku] += take
                left -= take
            unmatched += left
        self.report.unmatched_quantity += unmatched
        if not order:
            self.report.cancellations_unmatched += 1
            return
        if unmatched:
            self.report.cancellations_partly_matched += 1
        else:
            self.report.cancellations_matched += 1
        for number, sale in enumerate(order):
            refund_id = invoice.number if number == 0 else f"{invoice.number}-{number + 1}"
            lines = taken[sale.sale_id]
            response = await self.post(
                f"/v1/pos/sales/{sale.sale_id}/refunds",
                {
                    "refund_id": refund_id,
                    "lines": [{"sku": s, "quantity": q} for s, q in lines.items()],
                },
                key=f"replay-refund-{refund_id}",
                headers=till,
            )
            if response.status_code != 201:
                self.report.failures[f"refund {_code(response)}"] += 1
                continue
            sale.remaining.subtract(lines)
            self.report.refunds += 1
            self.report.points_reversed += int(response.json()["points_reversed"])

    async def customer(self, group: str, invoices: list[Invoice]) -> None:
        """One customer's invoices in time order, on the customer's own till; a guest
        invoice is a group of its own."""
        till = self.tills[till_for(group)]
        customer_id = invoices[0].customer_id
        member_id = await self.member(customer_id, till) if customer_id else None
        if customer_id and member_id is None:
            return
        history: list[SaleState] = []
        for invoice in invoices:
            self.report.invoices += 1
            if invoice.is_cancellation:
                if customer_id is None:
                    self.report.unmatched_quantity += sum(q for _, q, _ in invoice.lines)
                    self.report.cancellations_unmatched += 1
                    continue
                await self.cancellation(invoice, history, till)
            else:
                history.extend(await self.sale(invoice, member_id, till))


def groups(invoices: list[Invoice]) -> list[tuple[str, list[Invoice]]]:
    by_customer: dict[str, list[Invoice]] = defaultdict(list)
    for invoice in invoices:
        group = f"customer-{invoice.customer_id}" if invoice.customer_id else invoice.number
        by_customer[group].append(invoice)
    # Busiest customers first, so that one long history does not finish the run alone.
    return sorted(by_customer.items(), key=lambda item: -len(item[1]))


async def replay(
    path: Path,
    *,
    base_url: str,
    admin_token: str,
    workers: int = 8,
    limit: int | None = None,
) -> Report:
    stats = FileStats()
    invoices = group_invoices(read_rows(path, limit), stats)
    report = Report(file=stats)
    started = time.perf_counter()
    limits = httpx.Limits(max_connections=workers + 2, max_keepalive_connections=workers + 2)
    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as client:
        runner = Replay(client, admin_token, report)
        await runner.setup()
        if invoices:
            await runner.check_dating(invoices[0].at)
        queue: asyncio.Queue[tuple[str, list[Invoice]]] = asyncio.Queue()
        for item in groups(invoices):
            queue.put_nowait(item)

        async def worker() -> None:
            while True:
                try:
                    group, items = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                await runner.customer(group, items)

        await asyncio.gather(*(worker() for _ in range(max(1, workers))))
    report.wall_seconds = time.perf_counter() - started
    return report
