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

from domain.crm import CrmSettings
from domain.draws import ChanceRule, DrawCampaign, Prize
from domain.program import ExpiryKind, PointsExpiryRule, ProgramSettings
from domain.tier_policy import TierPolicy
from domain.tiers import Tier, TierLadder

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
               FROM draw_prizes p)
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
    )


def ladder_from(rows: Sequence[Mapping[str, Any]]) -> TierLadder:
    return TierLadder.of(
        Tier(
            code=r["code"],
            name=r["name"],
            rank=r["rank"],
            threshold=r["threshold"],
            earn_multiplier=Decimal(r["earn_multiplier"]),
        )
        for r in rows
    )


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _campaigns(
    campaigns: Sequence[Mapping[str, Any]], prizes: Sequence[Mapping[str, Any]]
) -> tuple[DrawCampaign, ...]:
    by_campaign: dict[str, list[Prize]] = {}
    for p in prizes:
        by_campaign.setdefault(p["campaign_id"], []).append(
            Prize(
                p["code"],
                p["name"],
                p["weight"],
                UUID(p["template_id"]) if p["template_id"] else None,
                p["stock"],
            )
        )
    return tuple(
        DrawCampaign(
            id=UUID(c["id"]),
            name=c["name"],
            threshold=c["threshold"],
            chances=ChanceRule(c["chances"]),
            chance_valid_days=c["chance_valid_days"],
            starts_at=_instant(c["starts_at"]),
            ends_at=_instant(c["ends_at"]),
            prizes=tuple(by_campaign.get(c["id"], ())),
            created_at=_instant(c["created_at"]) if c["created_at"] else None,
        )
        for c in campaigns
    )


@dataclass(frozen=True, slots=True)
class ConfigSnapshot:
    epoch: int
    program: ProgramSettings
    policy: TierPolicy
    # Every campaign, past and future: a late till's sale is judged at its own time. The
    # prizes' stock is as of the last configuration change (plays take stock under lock).
    campaigns: tuple[DrawCampaign, ...]

    def campaigns_running_at(self, at: datetime) -> list[DrawCampaign]:
        return [campaign for campaign in self.campaigns if campaign.runs_at(at)]


def _snapshot(epoch: int, text: str) -> ConfigSnapshot:
    # Numbers with a fraction are PostgreSQL numerics: Decimal keeps every digit.
    config = json.loads(text, parse_float=Decimal)
    if config["program"] is None or config["policy"] is None:
        raise LookupError("program_settings or tier_policies has no row: have migrations run?")
    policy = config["policy"]
    return ConfigSnapshot(
        epoch=epoch,
        program=program_from(config["program"]),
        policy=TierPolicy(
            window_days=policy["window_days"],
            grace_days=policy["grace_days"],
            ladder=ladder_from(config["tiers"]),
            version=policy["version"],
        ),
        campaigns=_campaigns(config["campaigns"], config["prizes"]),
    )


class ConfigCache:
    """One database's configuration in this process."""

    __slots__ = ("_snapshot", "loads")

    def __init__(self) -> None:
        self._snapshot: ConfigSnapshot | None = None
        self.loads = 0  # how often it was (re)read: for tests and curiosity

    def clear(self) -> None:
        self._snapshot = None

    def at(self, epoch: int) -> ConfigSnapshot | None:
        """The cached configuration if it is the one of ``epoch``: for a statement that reads
        ``(SELECT epoch FROM config_epoch WHERE id = 1)`` along with its own data."""
        snapshot = self._snapshot
        return snapshot if snapshot is not None and snapshot.epoch == epoch else None

    async def current(self, connection: Any) -> ConfigSnapshot:
        """The configuration as of now, in the caller's transaction: one statement when the
        cache is current, two when it must reload."""
        cached = self.at(await connection.fetchval(EPOCH))
        return cached if cached is not None else await self.load(connection)

    async def load(self, connection: Any) -> ConfigSnapshot:
        row = await connection.fetchrow(_LOAD)
        snapshot = _snapshot(row["epoch"], row["config"])
        # Whatever transaction read it, this epoch names this state and no other.
        self._snapshot = snapshot
        self.loads += 1
        return snapshot
