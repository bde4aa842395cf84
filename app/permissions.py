"""The one permission table of the back office: what each staff role may do, and which
permission each operation needs.

Both the /v1/admin API (its bearer tokens carry a staff role) and the console (its sessions
belong to a staff member) are checked against these two tables on the server, by the same
guard (adapters/http/permissions.py): hiding a button is never the protection. An operation is
named by its OpenAPI operation id (the API) or by its console action id (`console.*`). An
operation missing from OPERATIONS is refused to everyone, and a test enumerates every admin
and console route of the application and fails if one is missing here.
"""

from __future__ import annotations

from enum import StrEnum

from domain.staff import StaffRole


class Permission(StrEnum):
    CONSOLE = "console"  # any staff member: dashboard, own session
    STAFF_MANAGE = "staff.manage"
    PROGRAMME_READ = "programme.read"
    PROGRAMME_MANAGE = "programme.manage"  # programme settings, tier ladder
    STORES_MANAGE = "stores.manage"
    MEMBERS_READ = "members.read"  # search, 360 view
    MEMBERS_ADJUST = "members.adjust"  # points adjustments, card replacement
    MEMBERS_TIER = "members.tier"
    MEMBERS_EXPORT = "members.export"
    MEMBERS_ERASE = "members.erase"
    CAMPAIGNS_READ = "campaigns.read"
    CAMPAIGNS_MANAGE = "campaigns.manage"  # templates, coupons, rewards, draws, segments, rules
    FEEDBACK_MANAGE = "feedback.manage"
    FOLLOW_UPS_MANAGE = "follow_ups.manage"
    REPORTS_READ = "reports.read"  # reports and every CSV download of a list
    AUDIT_READ = "audit.read"  # the audit log: who changed what (owner only)
    # Outbound webhooks: where the programme's events go, their secrets (owner only).
    INTEGRATIONS_MANAGE = "integrations.manage"


P = Permission

ROLE_PERMISSIONS: dict[StaffRole, frozenset[Permission]] = {
    StaffRole.OWNER: frozenset(Permission),
    StaffRole.MARKETING: frozenset(
        {P.CONSOLE, P.PROGRAMME_READ, P.CAMPAIGNS_READ, P.CAMPAIGNS_MANAGE, P.REPORTS_READ}
    ),
    StaffRole.SERVICE: frozenset(
        {P.CONSOLE, P.MEMBERS_READ, P.MEMBERS_ADJUST, P.FEEDBACK_MANAGE, P.FOLLOW_UPS_MANAGE}
    ),
    StaffRole.ANALYST: frozenset({P.CONSOLE, P.PROGRAMME_READ, P.REPORTS_READ}),
}

# Operation -> the permission it needs; None: public (the console's login pages only).
OPERATIONS: dict[str, Permission | None] = {
    # /v1/admin, by OpenAPI operation id
    "getProgram": P.PROGRAMME_READ,
    "updateProgram": P.PROGRAMME_MANAGE,
    "getTierPolicy": P.PROGRAMME_READ,
    "updateTierPolicy": P.PROGRAMME_MANAGE,
    "simulateTiers": P.PROGRAMME_MANAGE,
    "createStore": P.STORES_MANAGE,
    "createTerminal": P.STORES_MANAGE,
    "getMemberOverview": P.MEMBERS_READ,
    "adjustMemberPoints": P.MEMBERS_ADJUST,
    "replaceMemberCard": P.MEMBERS_ADJUST,
    "setMemberTier": P.MEMBERS_TIER,
    "exportMemberData": P.MEMBERS_EXPORT,
    "eraseMemberData": P.MEMBERS_ERASE,
    "listCouponTemplates": P.CAMPAIGNS_READ,
    "getCouponTemplate": P.CAMPAIGNS_READ,
    "createCouponTemplate": P.CAMPAIGNS_MANAGE,
    "reviseCouponTemplate": P.CAMPAIGNS_MANAGE,
    "issueCoupons": P.CAMPAIGNS_MANAGE,
    "getBirthdayReward": P.CAMPAIGNS_READ,
    "updateBirthdayReward": P.CAMPAIGNS_MANAGE,
    "getReviewReward": P.CAMPAIGNS_READ,
    "updateReviewReward": P.CAMPAIGNS_MANAGE,
    "listDrawCampaigns": P.CAMPAIGNS_READ,
    "getDrawCampaign": P.CAMPAIGNS_READ,
    "createDrawCampaign": P.CAMPAIGNS_MANAGE,
    "previewSegment": P.CAMPAIGNS_MANAGE,
    "listFeedback": P.FEEDBACK_MANAGE,
    "updateFeedback": P.FEEDBACK_MANAGE,
    "listFollowUps": P.FOLLOW_UPS_MANAGE,
    "recordFollowUpCall": P.FOLLOW_UPS_MANAGE,
    "getPointsLiability": P.REPORTS_READ,
    "getRfmReport": P.REPORTS_READ,
    "getLifecycleReport": P.REPORTS_READ,
    "getChurnRisk": P.REPORTS_READ,
    "getRegionsReport": P.REPORTS_READ,
    "patchProgram": P.PROGRAMME_MANAGE,
    "patchTierPolicy": P.PROGRAMME_MANAGE,
    "listStores": P.STORES_MANAGE,
    "listTerminals": P.STORES_MANAGE,
    "deactivateTerminal": P.STORES_MANAGE,
    "rotateTerminalSecret": P.STORES_MANAGE,
    "findMembers": P.MEMBERS_READ,
    "listMemberConsentHistory": P.MEMBERS_READ,
    "correctMemberBirthday": P.MEMBERS_ADJUST,
    "retireCouponTemplate": P.CAMPAIGNS_MANAGE,
    "voidCoupon": P.CAMPAIGNS_MANAGE,
    "editDrawCampaign": P.CAMPAIGNS_MANAGE,
    "endDrawCampaign": P.CAMPAIGNS_MANAGE,
    "listCampaignRecipients": P.CAMPAIGNS_READ,
    "listCampaignSkips": P.CAMPAIGNS_READ,
    "exportRfmMembers": P.REPORTS_READ,
    "exportChurnRisk": P.REPORTS_READ,
    "exportSegmentMembers": P.REPORTS_READ,
    "exportFeedback": P.REPORTS_READ,
    "exportFollowUps": P.REPORTS_READ,
    "getMessageTemplateCatalogue": P.CAMPAIGNS_READ,
    "getMessageTemplate": P.CAMPAIGNS_READ,
    "previewMessageTemplate": P.CAMPAIGNS_READ,
    "saveMessageTemplate": P.CAMPAIGNS_MANAGE,
    "resetMessageTemplate": P.CAMPAIGNS_MANAGE,
    "listEarningRules": P.CAMPAIGNS_READ,
    "getEarningRule": P.CAMPAIGNS_READ,
    "listEarningRuleVersions": P.CAMPAIGNS_READ,
    "simulateEarningRule": P.CAMPAIGNS_MANAGE,
    "createEarningRule": P.CAMPAIGNS_MANAGE,
    "reviseEarningRule": P.CAMPAIGNS_MANAGE,
    "scheduleEarningRule": P.CAMPAIGNS_MANAGE,
    "pauseEarningRule": P.CAMPAIGNS_MANAGE,
    "resumeEarningRule": P.CAMPAIGNS_MANAGE,
    "endEarningRule": P.CAMPAIGNS_MANAGE,
    # The reward catalogue: defined by marketing; a member's redemption is a service matter
    # (cancelling gives points back, like an adjustment).
    "listCatalogueRewards": P.CAMPAIGNS_READ,
    "getCatalogueReward": P.CAMPAIGNS_READ,
    "createCatalogueReward": P.CAMPAIGNS_MANAGE,
    "reviseCatalogueReward": P.CAMPAIGNS_MANAGE,
    "retireCatalogueReward": P.CAMPAIGNS_MANAGE,
    "getRewardRedemption": P.MEMBERS_READ,
    "cancelRewardRedemption": P.MEMBERS_ADJUST,
    "fulfilRewardRedemption": P.MEMBERS_ADJUST,
    "listAuditLog": P.AUDIT_READ,
    "exportAuditLog": P.AUDIT_READ,
    "registerWebhookEndpoint": P.INTEGRATIONS_MANAGE,
    "listWebhookEndpoints": P.INTEGRATIONS_MANAGE,
    "getWebhookEndpoint": P.INTEGRATIONS_MANAGE,
    "changeWebhookEndpoint": P.INTEGRATIONS_MANAGE,
    "rotateWebhookEndpointSecret": P.INTEGRATIONS_MANAGE,
    "listWebhookDeliveries": P.INTEGRATIONS_MANAGE,
    "listWebhookAttempts": P.INTEGRATIONS_MANAGE,
    "resendWebhookDelivery": P.INTEGRATIONS_MANAGE,
    "resendWebhookDeliveriesSince": P.INTEGRATIONS_MANAGE,
    # The console, by action id
    "console.login": None,
    "console.login.submit": None,
    "console.totp": None,
    "console.totp.submit": None,
    "console.set_password": None,
    "console.set_password.submit": None,
    "console.language": None,
    "console.static": None,
    "console.logout": P.CONSOLE,
    "console.dashboard": P.CONSOLE,
    "console.members.search": P.MEMBERS_READ,
    "console.members.view": P.MEMBERS_READ,
    "console.staff.list": P.STAFF_MANAGE,
    "console.staff.create": P.STAFF_MANAGE,
    "console.staff.role": P.STAFF_MANAGE,
    "console.staff.disable": P.STAFF_MANAGE,
    "console.members.adjust": P.MEMBERS_ADJUST,
    "console.members.replace_card": P.MEMBERS_ADJUST,
    "console.members.erase": P.MEMBERS_ERASE,
    "console.members.set_tier": P.MEMBERS_TIER,
    "console.members.export": P.MEMBERS_EXPORT,
    "console.automatic_rewards.view": P.CAMPAIGNS_READ,
    "console.automatic_rewards.review": P.CAMPAIGNS_MANAGE,
    "console.automatic_rewards.birthday": P.CAMPAIGNS_MANAGE,
    "console.feedback.list": P.FEEDBACK_MANAGE,
    "console.feedback.update": P.FEEDBACK_MANAGE,
    "console.follow_ups.list": P.FOLLOW_UPS_MANAGE,
    "console.follow_ups.record": P.FOLLOW_UPS_MANAGE,
    "console.programme.view": P.PROGRAMME_READ,
    "console.programme.update": P.PROGRAMME_MANAGE,
    "console.tiers.view": P.PROGRAMME_READ,
    "console.tiers.simulate": P.PROGRAMME_MANAGE,
    "console.tiers.save": P.PROGRAMME_MANAGE,
    "console.campaigns.view": P.CAMPAIGNS_READ,
    "console.campaigns.preview": P.CAMPAIGNS_MANAGE,
    "console.campaigns.issue": P.CAMPAIGNS_MANAGE,
    "console.campaigns.sent": P.CAMPAIGNS_READ,
    "console.templates.retire": P.CAMPAIGNS_MANAGE,
    "console.crm.rfm": P.REPORTS_READ,
    "console.crm.cell": P.REPORTS_READ,
    "console.crm.rfm_csv": P.REPORTS_READ,
    "console.crm.churn": P.REPORTS_READ,
    "console.crm.churn_csv": P.REPORTS_READ,
    "console.stores": P.STORES_MANAGE,
    "console.terminals.deactivate": P.STORES_MANAGE,
    "console.terminals.rotate": P.STORES_MANAGE,
    "console.audit": P.AUDIT_READ,
}


def permissions_of(role: StaffRole) -> frozenset[Permission]:
    return ROLE_PERMISSIONS[role]


def required(operation: str) -> Permission | None:
    """The permission ``operation`` needs; KeyError for an operation nobody listed."""
    return OPERATIONS[operation]


def allows(role: StaffRole, operation: str) -> bool:
    """Whether ``role`` may run ``operation``; False for an operation missing from the table."""
    if operation not in OPERATIONS:
        return False
    needed = OPERATIONS[operation]
    return needed is None or needed in ROLE_PERMISSIONS[role]


def adjustment_limit(role: StaffRole | None, service_limit: int) -> int | None:
    """The most points, either way, ``role`` may adjust in one go: none for an owner (and an
    admin token without a staff role, which is an owner's), ``service_limit`` for the
    service role (LOYALTY_SERVICE_ADJUSTMENT_LIMIT); nothing for a role without
    members.adjust, whom the guard refuses before."""
    if role is None or role is StaffRole.OWNER:
        return None
    if Permission.MEMBERS_ADJUST not in ROLE_PERMISSIONS[role]:
        return 0
    return service_limit


# The table as docs/console.md shows it (a test keeps the page equal to this).
ROLES = (StaffRole.OWNER, StaffRole.MARKETING, StaffRole.SERVICE, StaffRole.ANALYST)


def markdown_table() -> str:
    """One row per permission (then the public operations): which roles have it, and the
    operations that need it, in the table's order."""
    lines = [
        "| permission | " + " | ".join(r.value for r in ROLES) + " | operations |",
        "|---|" + "---|" * len(ROLES) + "---|",
    ]
    for permission in Permission:
        operations = [op for op, needed in OPERATIONS.items() if needed is permission]
        has = ["yes" if permission in ROLE_PERMISSIONS[r] else "-" for r in ROLES]
        lines.append(_row(f"`{permission.value}`", has, operations))
    public = [op for op, needed in OPERATIONS.items() if needed is None]
    lines.append(_row("public", ["yes"] * len(ROLES), public))
    return "\n".join(lines) + "\n"


def _row(name: str, has: list[str], operations: list[str]) -> str:
    listed = ", ".join(f"`{op}`" for op in operations) or "-"
    return f"| {name} | " + " | ".join(has) + f" | {listed} |"
