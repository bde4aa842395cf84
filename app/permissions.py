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
    CAMPAIGNS_MANAGE = "campaigns.manage"  # templates, coupons, rewards, draws, segments
    FEEDBACK_MANAGE = "feedback.manage"
    FOLLOW_UPS_MANAGE = "follow_ups.manage"
    REPORTS_READ = "reports.read"  # reports and every CSV download of a list
    AUDIT_READ = "audit.read"  # the audit log: who changed what (owner only)


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
