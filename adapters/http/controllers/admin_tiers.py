from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, Response, get, patch, put
from litestar.di import NamedDependency
from litestar.params import Body, JSONBody

from adapters.http.merge_patch import MERGE_PATCH_JSON, merge_patch
from adapters.http.schemas.problem import problems
from adapters.http.schemas.tiers import TierPolicyIn, TierPolicyOut, TierPolicyPatch
from adapters.http.strict_input import decode_body
from adapters.http.versions import ETAG_HEADER, IfMatch, etag, expected_version
from app import transactions
from app.container import Container
from app.principal import Principal
from app.use_cases.tiers import (
    ProposedPolicy,
    get_tier_policy,
    revise_tier_policy,
    update_tier_policy,
)
from domain.tier_policy import TierPolicy


class AdminTiersController(Controller):
    path = "/tiers"
    tags = ["admin"]

    @get(
        operation_id="getTierPolicy",
        summary="The tier policy in force: window, grace and the ladder",
        description="The answer can be sent back to PUT as it is.",
        responses=problems(401, 403),
        response_headers=[ETAG_HEADER],
    )
    async def show(self, container: NamedDependency[Container]) -> Response[TierPolicyOut]:
        return _answer(await transactions.read(container.uow, get_tier_policy))

    @put(
        operation_id="updateTierPolicy",
        summary="Save a new version of the tier policy and apply it to members (audited)",
        description="Members whose tier is removed, and members who now qualify for a higher "
        "tier, move at once (reason policy_change); nobody moves down until a review. "
        "409 `tier_policy_changed` if another admin saved a version first: send the version "
        "the change is based on (the ETag of GET in If-Match, or the body's `version`) to be "
        "refused also when it was saved before this request started.",
        responses=problems(401, 403, 409, 422),
        response_headers=[ETAG_HEADER],
    )
    async def update(
        self,
        data: JSONBody[TierPolicyIn],
        container: NamedDependency[Container],
        principal: NamedDependency[Principal],
        if_match: IfMatch = None,
    ) -> Response[TierPolicyOut]:
        proposed = data.to_proposed()
        based_on = expected_version(if_match, data.version)
        updated = await transactions.write(
            container.uow,
            lambda uow: update_tier_policy(
                proposed, principal.actor, uow, clock=container.clock, expected_version=based_on
            ),
        )
        return _answer(updated.policy)

    @patch(
        operation_id="patchTierPolicy",
        summary="Change the window or grace of the tier policy (JSON merge patch, audited)",
        description=(
            "The body is a JSON merge patch (RFC 7396, `Content-Type: "
            'application/merge-patch+json`): `{"grace_days": 14}` keeps the window and the '
            "ladder; `tiers`, an array, is replaced whole when given. Saved and applied like "
            "a PUT. 409 `tier_policy_changed` if another admin saved a version first, or, "
            "with If-Match or `version`, since the version this change is based on."
        ),
        responses=problems(401, 403, 409, 422),
        response_headers=[ETAG_HEADER],
    )
    async def patch_(
        self,
        data: Annotated[TierPolicyPatch, Body(media_type=MERGE_PATCH_JSON, title="merge patch")],
        container: NamedDependency[Container],
        principal: NamedDependency[Principal],
        if_match: IfMatch = None,
    ) -> Response[TierPolicyOut]:
        changes = data.changes()
        based_on = expected_version(
            if_match, data.version if isinstance(data.version, int) else None
        )
        updated = await transactions.write(
            container.uow,
            lambda uow: revise_tier_policy(
                lambda current: _patched(current, changes),
                principal.actor,
                uow,
                clock=container.clock,
                expected_version=based_on,
            ),
        )
        return _answer(updated.policy)


def _patched(current: TierPolicy, changes: dict[str, object]) -> ProposedPolicy:
    """The policy with the merge patch applied, validated as a whole document (a PUT)."""
    document = msgspec.to_builtins(TierPolicyOut.of(current))
    document.pop("version")
    merged = merge_patch(document, changes)
    proposed: ProposedPolicy = decode_body(msgspec.json.encode(merged), TierPolicyIn).to_proposed()
    return proposed


def _answer(policy: TierPolicy) -> Response[TierPolicyOut]:
    return Response(TierPolicyOut.of(policy), headers={"ETag": etag(policy.version)})
