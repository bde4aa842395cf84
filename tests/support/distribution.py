"""How the schema would be distributed by member on Citus, and a check of statements against it.

docs/scale-out.md explains the design; this module is what the tests read:

- ``DISTRIBUTED``: member-owned tables and the column they would be distributed by (``id`` for
  ``members``, ``member_id`` everywhere else), all co-located.
- ``REFERENCE``: small configuration tables, copied to every node.
- ``COORDINATOR``: tables owned by no member (callers, staff, the event stream, rate limits),
  kept on the coordinator or distributed by a key of their own.
- ``UNIQUE_EXCEPTIONS``: unique indexes on member-owned tables that omit the member column,
  each with the reason and what it becomes on Citus.
- ``STATEMENT_EXCEPTIONS``: statements of the hot paths that are not routed to one member's
  shard, each with the reason.

``unrouted(sql, args)`` parses a statement with PostgreSQL's own parser (pglast, libpg_query)
and names the member-owned relations it touches without pinning them to one member. A
relation is pinned when its member column is equated, through top-level ``AND``s of a WHERE or
JOIN ... ON, to a parameter whose value is one non-null member id (or a constant), or to the
member column of a pinned relation (a co-located join); an INSERT is pinned when its member
column receives such a value; a CTE is pinned when the member column it returns is. A
statement must also pin every relation to the same member. What this does not follow (an
equality under OR, a member id hidden in an expression) counts as not pinned: the check can
refuse a routable statement, never pass an unroutable one it understands.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pglast
from pglast import ast
from pglast.enums import A_Expr_Kind, BoolExprType, SetOperation

DISTRIBUTED: dict[str, str] = {
    "members": "id",
    "member_cards": "member_id",
    "member_consent_changes": "member_id",
    "member_external_ids": "member_id",
    "member_rfm_scores": "member_id",
    "tier_changes": "member_id",
    "points_accounts": "member_id",
    "points_entries": "member_id",
    "points_lots": "member_id",
    "points_lot_movements": "member_id",
    "sales": "member_id",
    "sale_lines": "member_id",
    "refunds": "member_id",
    "refund_lines": "member_id",
    "earning_rule_awards": "member_id",
    "coupons": "member_id",
    "coupon_campaign_skips": "member_id",
    "draw_chances": "member_id",
    "reward_redemptions": "member_id",
    "guest_sale_claims": "member_id",
    "shop_customers": "member_id",
    "shop_reviews": "member_id",
    "stripe_payments": "member_id",
    "feedback": "member_id",
    "follow_ups": "member_id",
    "refresh_tokens": "member_id",
    "outbox": "member_id",
}

REFERENCE: frozenset[str] = frozenset(
    {
        "program_settings",
        "config_epoch",
        "tiers",
        "tier_policies",
        "stores",
        "terminals",
        "earning_rules",
        "earning_rule_versions",
        "earning_rule_budgets",
        "coupon_templates",
        "coupon_template_versions",
        "reward_settings",
        "draw_campaigns",
        "draw_prizes",
        "catalogue_rewards",
        "message_templates",
        "webhook_endpoints",
        "staff",
    }
)

COORDINATOR: frozenset[str] = frozenset(
    {
        "migration",  # Piccolo's own bookkeeping
        "idempotency_keys",  # by caller (terminal, shop, staff): distributed by caller
        "rate_limit_counters",
        "audit_log",
        "webhook_events",  # inbound webhooks, by provider event id
        "login_challenges",  # by phone, before a member is known
        "integration_events",  # the outbound event stream, read in time order
        "webhook_deliveries",
        "webhook_attempts",
        "staff_sessions",
        "staff_set_password_tokens",
        "dashboard_days",  # the console's snapshot: one row per day, of the whole programme
        "report_snapshots",  # the console's stored reports (lifecycle, regions, RFM grid)
    }
)

# Reasons shared by several entries below.
_SURROGATE = (
    "surrogate key drawn from a sequence or a random UUID, unique by construction; becomes "
    "PRIMARY KEY (member_id, id) in the distribution migration, together with the foreign keys "
    "that point at it (docs/scale-out.md, 'Keys')"
)

# (table, index) -> why the unique index may omit the member column today.
UNIQUE_EXCEPTIONS: dict[tuple[str, str], str] = {
    ("coupon_campaign_skips", "coupon_campaign_skips_pkey"): _SURROGATE,
    ("coupons", "coupons_pkey"): _SURROGATE,
    ("draw_chances", "draw_chances_pkey"): _SURROGATE,
    ("earning_rule_awards", "earning_rule_awards_pkey"): _SURROGATE,
    ("feedback", "feedback_pkey"): _SURROGATE,
    ("follow_ups", "follow_ups_pkey"): _SURROGATE,
    ("member_consent_changes", "member_consent_changes_pkey"): _SURROGATE,
    ("member_external_ids", "member_external_ids_pkey"): _SURROGATE,
    ("outbox", "outbox_pkey"): _SURROGATE,
    ("points_entries", "points_entries_pkey"): _SURROGATE,
    ("points_lot_movements", "points_lot_movements_pkey"): _SURROGATE,
    ("points_lots", "points_lots_pkey"): _SURROGATE,
    ("refresh_tokens", "refresh_tokens_pkey"): _SURROGATE,
    ("refund_lines", "refund_lines_pkey"): _SURROGATE,
    ("refunds", "refunds_pkey"): _SURROGATE,
    ("reward_redemptions", "reward_redemptions_pkey"): _SURROGATE,
    ("sale_lines", "sale_lines_pkey"): _SURROGATE,
    ("sales", "sales_pkey"): _SURROGATE,
    ("tier_changes", "tier_changes_pkey"): _SURROGATE,
    ("guest_sale_claims", "guest_sale_claims_pkey"): (
        "keyed by the guest sale, which has no member until claimed; moves with the guest "
        "sales (docs/scale-out.md, 'Guests and stores')"
    ),
    ("follow_ups", "follow_ups_sale_id_key"): (
        "one follow-up per sale; the sale is the member's, so (member_id, sale_id) says the "
        "same once sale ids are (member_id, id)"
    ),
    ("sale_lines", "sale_lines_number"): (
        "(sale_id, line_no) of a sale that is the member's; becomes (member_id, sale_id, "
        "line_no) with the sales key"
    ),
    ("refunds", "refunds_sale_refund_id"): (
        "(sale_id, refund_id) of a member's sale; becomes (member_id, sale_id, refund_id)"
    ),
    ("members", "members_phone_key"): (
        "a phone is unique across members: enforced on Citus by a lookup table distributed by "
        "phone (member_phones), written in the same transaction as the member"
    ),
    ("member_cards", "member_cards_pkey"): (
        "a card number is unique across members and is how a till finds a member: on Citus a "
        "lookup table distributed by card_number (card_numbers -> member_id), written with the "
        "card"
    ),
    ("coupons", "coupons_code_key"): (
        "a coupon code is unique across members and is what a till scans: a lookup table "
        "distributed by code (coupon_codes -> member_id), written at issue"
    ),
    ("guest_sale_claims", "guest_sale_claims_code_key"): (
        "the claim code printed on a guest receipt: a lookup table distributed by code"
    ),
    ("refresh_tokens", "refresh_tokens_token_hash_key"): (
        "a refresh token is presented without its member: a lookup table distributed by "
        "token_hash, or a member id carried in the token"
    ),
    ("reward_redemptions", "reward_redemptions_fulfilment_code_key"): (
        "a fulfilment code is presented at the counter without its member: a lookup table "
        "distributed by code"
    ),
    ("member_external_ids", "member_external_ids_key"): (
        "the web shop's customer id names a member: a lookup table distributed by "
        "(source, external_id)"
    ),
    ("outbox", "outbox_dedupe_key_key"): (
        "a message's dedupe key is global today; on Citus it includes member_id (every "
        "member message has one) and system messages stay on the coordinator"
    ),
    ("refunds", "refunds_imported_key"): (
        "imported refunds (the Online Retail file) are unique per file row; an import runs "
        "on the coordinator before distribution"
    ),
    ("sales", "sales_store_receipt"): (
        "a receipt is unique per store, and guests' sales have no member: on Citus a receipts "
        "table distributed by store_id claims (store_id, receipt_id) in the sale's transaction"
    ),
    ("shop_customers", "shop_customers_pkey"): (
        "the web shop's customer id is how its webhooks name a member: distributed by "
        "customer_id as a lookup table"
    ),
    ("shop_reviews", "shop_reviews_pkey"): (
        "keyed by the shop's review id, which a retried webhook repeats: becomes "
        "(member_id, review_id) once the customer lookup gives the member first"
    ),
    ("stripe_payments", "stripe_payments_pkey"): (
        "keyed by Stripe's payment intent, which Stripe's webhooks name without a member: a "
        "lookup table distributed by payment_intent_id"
    ),
}


@dataclass(frozen=True)
class StatementException:
    """A statement of a hot path that may touch member-owned tables without one member."""

    request: str  # the request label of the check (tests/api/test_scale_out_statements.py)
    starts_with: str  # the statement's text, whitespace collapsed, starts with this
    tables: frozenset[str]  # the only member-owned tables it may leave unpinned
    reason: str


STATEMENT_EXCEPTIONS: tuple[StatementException, ...] = (
    StatementException(
        "member lookup by card",
        "WITH found AS (SELECT member_id, status AS card_status FROM member_cards WHERE "
        "card_number = $1)",
        frozenset({"member_cards", "members", "points_accounts", "points_lots", "coupons"}),
        "a card number is all a till has: on Citus the card_numbers lookup table (distributed "
        "by card_number) gives the member id first, one router query, then this statement "
        "with found = that id is pinned (docs/scale-out.md, 'Hot statements')",
    ),
    StatementException(
        "member lookup by phone",
        "WITH found AS (SELECT id AS member_id",
        frozenset({"member_cards", "members", "points_accounts", "points_lots", "coupons"}),
        "a phone is all the till has: the member_phones lookup table (distributed by phone) "
        "gives the member id first, as for cards",
    ),
    StatementException(
        "sale with a coupon",
        "SELECT * FROM coupons WHERE code = ANY($1::text[])",
        frozenset({"coupons"}),
        "a till scans codes: coupon_codes (distributed by code) gives the owner, then the "
        "coupon read is pinned by member_id",
    ),
    StatementException(
        "guest sale",
        "WITH sale AS ( INSERT INTO sales",
        frozenset({"sales", "sale_lines"}),
        "a guest sale has no member: on Citus guest sales go to guest_sales, distributed by "
        "store_id, and move to the member's shard when claimed (docs/scale-out.md, 'Guests "
        "and stores')",
    ),
    StatementException(
        "guest sale",
        "INSERT INTO guest_sale_claims",
        frozenset({"guest_sale_claims"}),
        "the claim of a guest sale has no member yet; it lives with guest_sales by store_id",
    ),
)


# --- the statement check ------------------------------------------------------------------


@dataclass(eq=False)
class _Relation:
    name: str  # table or CTE name
    key: str | None  # the member column, None for tables that are not member-owned
    distributed: bool
    parent: _Relation | None = None
    pins: set[Any] = field(default_factory=set)  # the member values it is equated to

    def root(self) -> _Relation:
        node = self
        while node.parent is not None:
            node = node.parent
        return node


def _union(a: _Relation, b: _Relation) -> None:
    ra, rb = a.root(), b.root()
    if ra is not rb:
        rb.parent = ra
        ra.pins |= rb.pins


class _Unpinnable:
    """A member value the check cannot pin: NULL, a list, an expression."""


_UNPINNABLE = _Unpinnable()


class _Analysis:
    def __init__(self, args: Sequence[Any]) -> None:
        self.args = args
        self.relations: list[_Relation] = []
        self.ctes: list[dict[str, _Relation]] = []

    # values --------------------------------------------------------------------------

    def pin_value(self, node: Any) -> Any | None:
        """The member a value expression names, or None when it is not one fixed value."""
        while isinstance(node, ast.TypeCast):
            node = node.arg
        if isinstance(node, ast.ParamRef):
            if node.number - 1 >= len(self.args):
                return _UNPINNABLE
            value = self.args[node.number - 1]
            if value is None or isinstance(value, list | tuple | set):
                return _UNPINNABLE
            return ("value", str(value))
        if isinstance(node, ast.A_Const):
            if node.isnull:
                return _UNPINNABLE
            return ("value", str(node.val))
        return None

    # scopes --------------------------------------------------------------------------

    def relation(self, name: str, distributed_key: str | None) -> _Relation:
        rel = _Relation(name, distributed_key, distributed_key is not None)
        self.relations.append(rel)
        return rel

    def cte(self, name: str) -> _Relation | None:
        for frame in reversed(self.ctes):
            if name in frame:
                return frame[name]
        return None

    def from_item(self, item: Any, scope: dict[str, _Relation], quals: list[Any]) -> None:
        if isinstance(item, ast.RangeVar):
            alias = item.alias.aliasname if item.alias else item.relname
            cte = self.cte(item.relname) if item.schemaname is None else None
            if cte is not None:
                scope[alias] = cte
            else:
                scope[alias] = self.relation(item.relname, DISTRIBUTED.get(item.relname))
        elif isinstance(item, ast.JoinExpr):
            self.from_item(item.larg, scope, quals)
            self.from_item(item.rarg, scope, quals)
            if item.quals is not None:
                quals.append(item.quals)
        elif isinstance(item, ast.RangeSubselect):
            inner = self.statement(item.subquery, [scope])
            if item.alias is not None and inner is not None:
                scope[item.alias.aliasname] = inner
        # functions (unnest, generate_series) own no member-owned rows

    def resolve(self, ref: ast.ColumnRef, scopes: list[dict[str, _Relation]]) -> _Relation | None:
        """The relation whose member column ``ref`` names, or None."""
        names = [f.sval for f in ref.fields if isinstance(f, ast.String)]
        if not names:
            return None
        column = names[-1]
        if len(names) >= 2:
            for scope in reversed(scopes):
                if names[-2] in scope:
                    rel = scope[names[-2]]
                    return rel if rel.key == column else None
            return None
        # Unqualified: the one relation of the innermost scope that has this member column.
        for scope in reversed(scopes):
            owners = {id(r): r for r in scope.values() if r.key == column}
            if len(owners) == 1:
                return next(iter(owners.values()))
            if owners:
                return None
        return None

    def equate(self, quals: Iterable[Any], scopes: list[dict[str, _Relation]]) -> None:
        for qual in quals:
            for conjunct in _conjuncts(qual):
                if not (
                    isinstance(conjunct, ast.A_Expr)
                    and conjunct.kind == A_Expr_Kind.AEXPR_OP
                    and len(conjunct.name) == 1
                    and conjunct.name[0].sval == "="
                ):
                    continue
                sides = [conjunct.lexpr, conjunct.rexpr]
                rels = [
                    self.resolve(_unwrap(s), scopes)
                    if isinstance(_unwrap(s), ast.ColumnRef)
                    else None
                    for s in sides
                ]
                if rels[0] is not None and rels[1] is not None:
                    _union(rels[0], rels[1])
                    continue
                for rel, other in ((rels[0], sides[1]), (rels[1], sides[0])):
                    if rel is not None:
                        value = self.pin_value(other)
                        if value is not None:
                            rel.root().pins.add(value)

    # statements ----------------------------------------------------------------------

    def with_clause(self, clause: Any, scopes: list[dict[str, _Relation]]) -> None:
        frame: dict[str, _Relation] = {}
        self.ctes.append(frame)
        for cte in clause.ctes if clause is not None else ():
            inner = self.statement(cte.ctequery, scopes)
            frame[cte.ctename] = inner or self.relation(cte.ctename, None)

    def statement(self, node: Any, outer: list[dict[str, _Relation]]) -> _Relation | None:
        """Analyses one statement; returns a pseudo-relation for what it returns (member_id)."""
        pushed = False
        if getattr(node, "withClause", None) is not None:
            self.with_clause(node.withClause, outer)
            pushed = True
        try:
            if isinstance(node, ast.SelectStmt):
                return self.select(node, outer)
            if isinstance(node, ast.InsertStmt):
                return self.insert(node, outer)
            if isinstance(node, ast.UpdateStmt | ast.DeleteStmt):
                return self.update_or_delete(node, outer)
            return None
        finally:
            if pushed:
                self.ctes.pop()

    def select(self, node: ast.SelectStmt, outer: list[dict[str, _Relation]]) -> _Relation | None:
        if node.op != SetOperation.SETOP_NONE:
            self.statement(node.larg, outer)
            self.statement(node.rarg, outer)
            return None
        scope: dict[str, _Relation] = {}
        quals: list[Any] = []
        for item in node.fromClause or ():
            self.from_item(item, scope, quals)
        scopes = [*outer, scope]
        if node.whereClause is not None:
            quals.append(node.whereClause)
        self.equate(quals, scopes)
        self.subqueries([node.targetList, node.whereClause, quals, node.havingClause], scopes)
        for values in node.valuesLists or ():
            self.subqueries(values, scopes)
        # What it returns as member_id (or id): pinned when the expression is.
        returned = self.relation("(select)", "member_id")
        returned.distributed = False
        for target in node.targetList or ():
            name = target.name or _column_name(target.val)
            if name not in ("member_id", "id"):
                continue
            value = self.pin_value(target.val)
            if value is not None:
                returned.pins.add(value)
                return returned
            ref = _unwrap(target.val)
            if isinstance(ref, ast.ColumnRef):
                rel = self.resolve(ref, scopes)
                if rel is not None and name == "member_id":
                    _union(rel, returned)
                    return returned
        return returned

    def insert(self, node: ast.InsertStmt, outer: list[dict[str, _Relation]]) -> _Relation:
        target = self.relation(node.relation.relname, DISTRIBUTED.get(node.relation.relname))
        columns = [c.name for c in node.cols or ()]
        source = node.selectStmt
        if target.key is not None and target.key in columns:
            position = columns.index(target.key)
            if isinstance(source, ast.SelectStmt) and source.valuesLists:
                self.subqueries(source.valuesLists, outer)
                for row in source.valuesLists:
                    value = self.pin_value(row[position])
                    target.pins.add(value if value is not None else _UNPINNABLE)
            elif isinstance(source, ast.SelectStmt) and source.targetList:
                self.select(source, outer)
                expression = source.targetList[position].val
                value = self.pin_value(expression)
                if value is not None:
                    target.pins.add(value)
                elif isinstance(_unwrap(expression), ast.ColumnRef):
                    rel = self._resolve_in_select(source, _unwrap(expression), outer)
                    if rel is not None:
                        _union(target, rel)
        elif source is not None:
            self.statement(source, outer)
        result = self.relation("(returning)", "member_id")
        result.distributed = False
        if target.key is not None:
            _union(target, result)
        return result

    def _resolve_in_select(
        self, select: ast.SelectStmt, ref: ast.ColumnRef, outer: list[dict[str, _Relation]]
    ) -> _Relation | None:
        # The select was analysed already; its FROM names map to the relations created then.
        # Find them again by name: CTEs resolve to the same objects, tables to new ones that
        # share nothing, so only CTE (and outer) references pin an INSERT ... SELECT.
        scope: dict[str, _Relation] = {}
        for item in select.fromClause or ():
            if isinstance(item, ast.RangeVar):
                cte = self.cte(item.relname)
                if cte is not None:
                    scope[item.alias.aliasname if item.alias else item.relname] = cte
        return self.resolve(ref, [*outer, scope])

    def update_or_delete(
        self, node: ast.UpdateStmt | ast.DeleteStmt, outer: list[dict[str, _Relation]]
    ) -> _Relation:
        scope: dict[str, _Relation] = {}
        quals: list[Any] = []
        self.from_item(node.relation, scope, quals)
        extra = node.fromClause if isinstance(node, ast.UpdateStmt) else node.usingClause
        for item in extra or ():
            self.from_item(item, scope, quals)
        scopes = [*outer, scope]
        if node.whereClause is not None:
            quals.append(node.whereClause)
        self.equate(quals, scopes)
        self.subqueries([quals, getattr(node, "targetList", None)], scopes)
        alias = node.relation.alias.aliasname if node.relation.alias else node.relation.relname
        result = self.relation("(returning)", "member_id")
        result.distributed = False
        if scope[alias].key is not None:
            _union(scope[alias], result)
        return result

    def subqueries(self, nodes: Any, scopes: list[dict[str, _Relation]]) -> None:
        for sub in _sublinks(nodes):
            self.statement(sub.subselect, scopes)


def _unwrap(node: Any) -> Any:
    while isinstance(node, ast.TypeCast):
        node = node.arg
    return node


def _column_name(node: Any) -> str | None:
    node = _unwrap(node)
    if isinstance(node, ast.ColumnRef) and isinstance(node.fields[-1], ast.String):
        return str(node.fields[-1].sval)
    return None


def _conjuncts(node: Any) -> Iterator[Any]:
    if isinstance(node, ast.BoolExpr) and node.boolop == BoolExprType.AND_EXPR:
        for arg in node.args:
            yield from _conjuncts(arg)
    else:
        yield node


def _sublinks(node: Any) -> Iterator[ast.SubLink]:
    """SubLinks (scalar, EXISTS, ARRAY(...) subqueries) in ``node``, not inside other ones."""
    if isinstance(node, list | tuple):
        for item in node:
            yield from _sublinks(item)
    elif isinstance(node, ast.SubLink):
        yield node
    elif isinstance(node, ast.Node) and not isinstance(node, ast.SelectStmt | ast.RangeSubselect):
        for name in node.__slots__:
            yield from _sublinks(getattr(node, name, None))


def unrouted(sql: str, args: Sequence[Any] = ()) -> list[str]:
    """The member-owned tables ``sql`` touches without pinning them to one member.

    Empty when the statement would be routed to a single member's shard (or touches no
    member-owned table). With two different members pinned, every pinned table is named.
    """
    problems: list[str] = []
    for raw in pglast.parse_sql(sql):
        analysis = _Analysis(args)
        analysis.statement(raw.stmt, [])
        members = {
            value for rel in analysis.relations if rel.distributed for value in rel.root().pins
        }
        for rel in analysis.relations:
            if not rel.distributed:
                continue
            pins = rel.root().pins
            if not pins or _UNPINNABLE in pins or len(members) > 1:
                problems.append(rel.name)
    return sorted(set(problems))


def statement_exception(request: str, sql: str, tables: Iterable[str]) -> StatementException | None:
    """The exception that excuses ``tables`` left unpinned by ``sql`` in ``request``."""
    text = " ".join(sql.split())
    for exception in STATEMENT_EXCEPTIONS:
        if (
            exception.request == request
            and text.startswith(exception.starts_with)
            and exception.tables.issuperset(tables)
        ):
            return exception
    return None
