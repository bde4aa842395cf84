"""The configuration, cached per process and checked once per transaction.

The programme, the tier policy with its ladder, and the draw campaigns change rarely (an
admin writes them) but nearly every request reads them. Each is cached here, tagged with the
configuration epoch it was read at (``config_epoch``: see migrations/baseline.sql).

Why a transaction never works with a configuration older than one committed before it
began: its first configuration read asks PostgreSQL for the current epoch, in the
transaction itself, after it began. A configuration change sets a new epoch in its own
transaction, so the epoch seen includes every change committed before that statement. If the
cache holds that epoch, the cache holds exactly that configuration: the cache is only ever
filled by one statement that reads the epoch together with every configuration table (one
snapshot), and epochs come from a sequence, so one epoch never names two states. Otherwise
that one statement reloads everything.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import structlog

from app.health import ConfigurationUnavailable, RefusedRow
from domain.crm import CrmSettings
from domain.draws import ChanceRule, DrawCampaign, Prize
from domain.earning_rules import EarningRule, rule_from_document
from domain.program import ExpiryKind, PointsExpiryRule, ProgramSettings
from domain.tier_policy import TierPolicy
from domain.tiers import Tier, TierLadder
from domain.time_range import require_instant

log = structlog.get_logger("loyalty.config")

EPOCH = "SELECT epoch FROM config_epoch WHERE id = 1"

# One statement, so one snapshot: the epoch and the configuration it names.
_LOAD = """
SELECT (SELECT epoch FROM config_epoch WHERE id = 1) AS epoch, json_build_object(
    'program', (SELECT row_to_json(p) FROM program_settings p WHERE p.id = 1),
    'policy', (SELECT json_build_object('version', version, 'window_days', window_days,
                                        'grace_days', grace_days)
               FROM tier_policies ORDER BY version DESC LIMIT 1),
    'tiers', (SELECT coalesce(json_agg(t ORDER BY t.rank), '[]') FROM tiers t),
    'campaigns', (SELECT coalesce(json_agg(c ORDER BY c.created_at, c.id), '[]')
                  FROM draw_campaigns c),
    'prizes', (SELECT coalesce(json_agg(p ORDER BY p.campaign_id, p.position), '[]')
               FROM draw_prizes p),
    'earning_rules', (SELECT coalesce(json_agg(r.document ORDER BY r.id), '[]')
                      FROM earning_rules r WHERE r.status <> 'ended')
)::text AS config
"""


def program_from(row: Mapping[str, Any]) -> ProgramSettings:
    return ProgramSettings(
        currency=row["currency"],
        time_zone=row["time_zone"],
        earn_rate=Decimal(row["earn_rate"]),
        point_value=Decimal(row["point_value"]),
        points_expiry=PointsExpiryRule(ExpiryKind(row["expiry_kind"]), row["expiry_count"]),
        pending_days=row["pending_days"],
        version=row["version"],
        crm=CrmSettings(
            new_days=row["crm_new_days"],
            dormant_days=row["crm_dormant_days"],
            churned_days=row["crm_churned_days"],
            follow_up_days=row["crm_follow_up_days"],
        ),
        refunds_at_any_store=row["refunds_at_any_store"],
        guest_claim_days=row["guest_claim_days"],
    )


def tier_from(row: Mapping[str, Any]) -> Tier:
    return Tier(
        code=row["code"],
        name=row["name"],
        rank=row["rank"],
        threshold=row["threshold"],
        earn_multiplier=Decimal(row["earn_multiplier"]),
    )


def _instant(text: str, field: str) -> datetime:
    # PostgreSQL writes -infinity/infinity (and years out of Python's range) as it stores
    # them; only instants the API would accept are applied.
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{field} {text} is not a time the service accepts") from None
    return require_instant(value, field)


def _reason(error: Exception) -> str:
    return str(error) or type(error).__name__


def _prizes(
    rows: Sequence[Mapping[str, Any]], refused: list[RefusedRow]
) -> dict[str, list[Prize] | None]:
    """Prizes by campaign id; a campaign any of whose prizes is refused maps to None."""
    by_campaign: dict[str, list[Prize] | None] = {}
    for p in rows:
        campaign = p["campaign_id"]
        try:
            prize = Prize(
                p["code"],
                p["name"],
                p["weight"],
                UUID(p["template_id"]) if p["template_id"] else None,
                p["stock"],
            )
        except Exception as error:  # any bad row, whatever it is: refused, never fatal
            refused.append(RefusedRow("draw_prizes", f"{campaign}/{p['position']}", _reason(error)))
            by_campaign[campaign] = None
            continue
        prizes = by_campaign.setdefault(campaign, [])
        if prizes is not None:
            prizes.append(prize)
    return by_campaign


def _campaigns(
    campaigns: Sequence[Mapping[str, Any]],
    prizes: Sequence[Mapping[str, Any]],
    refused: list[RefusedRow],
) -> tuple[DrawCampaign, ...]:
    by_campaign = _prizes(prizes, refused)
    accepted = []
    for c in campaigns:
        try:
            # Its odds are its whole prize table: without one of them it is not run at all.
            if c["id"] in by_campaign and by_campaign[c["id"]] is None:
                raise ValueError("one of its prizes is refused")
            accepted.append(
                DrawCampaign(
                    id=UUID(c["id"]),
                    name=c["name"],
                    threshold=c["threshold"],
                    chances=ChanceRule(c["chances"]),
                    chance_valid_days=c["chance_valid_days"],
                    starts_at=_instant(c["starts_at"], "starts_at"),
                    ends_at=_instant(c["ends_at"], "ends_at"),
                    prizes=tuple(by_campaign.get(c["id"]) or ()),
                    created_at=datetime.fromisoformat(c["created_at"]) if c["created_at"] else None,
                )
            )
        except Exception as error:
            refused.append(RefusedRow("draw_campaigns", str(c["id"]), _reason(error)))
    return tuple(accepted)


def _ladder(rows: Sequence[Mapping[str, Any]], refused: list[RefusedRow]) -> TierLadder | None:
    """All of the ladder or none of it: without one of its tiers, the members on it would
    read as entry-tier members, and a purchase would move them."""
    problems = []
    tiers = []
    for r in rows:
        try:
            tiers.append(tier_from(r))
        except Exception as error:
            problems.append(RefusedRow("tiers", str(r.get("code")), _reason(error)))
    if not problems:
        try:
            return TierLadder.of(tiers)
        except Exception as error:
            problems.append(RefusedRow("tiers", "*", _reason(error)))
    refused.extend(problems)
    return None


@dataclass(frozen=True, slots=True)
class ConfigSnapshot:
    epoch: int
    program: ProgramSettings
    policy: TierPolicy
    # Every campaign, past and future: a late till's sale is judged at its own time. The
    # prizes' stock is as of the last configuration change (plays take stock under lock).
    campaigns: tuple[DrawCampaign, ...]
    # Rows of this epoch that are not applied (logged when read, listed by GET /health).
    refused: tuple[RefusedRow, ...] = ()
    # Earning rules not ended (active or paused), current versions; () costs a sale nothing.
    earning_rules: tuple[EarningRule, ...] = ()

    def campaigns_running_at(self, at: datetime) -> list[DrawCampaign]:
        return [campaign for campaign in self.campaigns if campaign.runs_at(at)]


def _or_previous(ladder: TierLadder | None, previous: ConfigSnapshot | None) -> TierLadder:
    if ladder is not None:
        return ladder
    assert previous is not None
    return previous.policy.ladder


def _snapshot(epoch: int, text: str, previous: ConfigSnapshot | None) -> ConfigSnapshot:
    """The configuration of ``epoch``, every bad row refused rather than fatal. The programme
    and the tier policy have no "rest" to serve with: a refused one is replaced by this
    process's last good copy (``previous``), and without one the configuration is
    unavailable."""
    # Numbers with a fraction are PostgreSQL numerics: Decimal keeps every digit.
    config = json.loads(text, parse_float=Decimal)
    refused: list[RefusedRow] = []
    program = None
    if config["program"] is None:
        refused.append(RefusedRow("program_settings", "1", "no row: have migrations run?"))
    else:
        try:
            program = program_from(config["program"])
        except Exception as error:
            refused.append(RefusedRow("program_settings", "1", _reason(error)))
    ladder = _ladder(config["tiers"], refused)
    policy = None
    row = config["policy"]
    if row is None:
        refused.append(RefusedRow("tier_policies", "*", "no row: have migrations run?"))
    elif ladder is not None or previous is not None:
        try:
            policy = TierPolicy(
                window_days=row["window_days"],
                grace_days=row["grace_days"],
                ladder=_or_previous(ladder, previous),
                version=row["version"],
            )
        except Exception as error:
            refused.append(RefusedRow("tier_policies", str(row.get("version")), _reason(error)))
    campaigns = _campaigns(config["campaigns"], config["prizes"], refused)
    rules = []
    for document in config.get("earning_rules") or ():
        try:
            rules.append(rule_from_document(document))
        except Exception as error:  # a bad rule is refused, never fatal: it earns nothing
            refused.append(RefusedRow("earning_rules", str(document.get("id")), _reason(error)))
    if program is None or policy is None:
        if previous is None:
            raise ConfigurationUnavailable(refused)
        program = program or previous.program
        policy = policy or previous.policy
    return ConfigSnapshot(epoch, program, policy, campaigns, tuple(refused), tuple(rules))


class ConfigCache:
    """One database's configuration in this process."""

    __slots__ = ("_last_good", "_snapshot", "_unavailable", "loads")

    def __init__(self) -> None:
        self._snapshot: ConfigSnapshot | None = None
        # What a refused programme or tier policy falls back to; kept across clear().
        self._last_good: ConfigSnapshot | None = None
        self._unavailable: tuple[int, ConfigurationUnavailable] | None = None
        self.loads = 0  # how often it was (re)read: for tests and curiosity

    def clear(self) -> None:
        self._snapshot = None
        self._unavailable = None

    def at(self, epoch: int) -> ConfigSnapshot | None:
        """The cached configuration if it is the one of ``epoch``: for a statement that reads
        ``(SELECT epoch FROM config_epoch WHERE id = 1)`` along with its own data. Raises
        ConfigurationUnavailable if that epoch's configuration is known to be unusable."""
        snapshot = self._snapshot
        if snapshot is not None and snapshot.epoch == epoch:
            return snapshot
        unavailable = self._unavailable
        if unavailable is not None and unavailable[0] == epoch:
            raise unavailable[1]
        return None

    async def current(self, connection: Any) -> ConfigSnapshot:
        """The configuration as of now, in the caller's transaction: one statement when the
        cache is current, two when it must reload."""
        cached = self.at(await connection.fetchval(EPOCH))
        return cached if cached is not None else await self.load(connection)

    async def load(self, connection: Any) -> ConfigSnapshot:
        row = await connection.fetchrow(_LOAD)
        epoch = row["epoch"]
        self.loads += 1
        try:
            snapshot = _snapshot(epoch, row["config"], self._last_good)
        except ConfigurationUnavailable as unavailable:
            # Remembered for this epoch: each request answers 503 at once, and the rows are
            # logged once per change, not once per request.
            self._unavailable = (epoch, unavailable)
            _log_refused(epoch, unavailable.refused, usable=False)
            raise
        _log_refused(epoch, snapshot.refused, usable=True)
        # Whatever transaction read it, this epoch names this state and no other.
        self._snapshot = self._last_good = snapshot
        self._unavailable = None
        return snapshot


def _log_refused(epoch: int, refused: Sequence[RefusedRow], *, usable: bool) -> None:
    for row in refused:
        log.error(
            "config.row_refused",
            table=row.table,
            row=row.row,
            reason=row.reason,
            epoch=epoch,
            # False: the programme or tier ladder is unusable and nothing replaces it here.
            served=usable,
        )
