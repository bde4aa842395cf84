"""JSON merge patch (RFC 7396): what PATCH of a settings document applies.

A member of the patch replaces the target's; an object is merged into the target's object,
recursively; null removes the member (a setting that cannot be absent then fails validation
of the merged document, naming the field). Arrays are replaced whole.
"""

from __future__ import annotations

from typing import Any

MERGE_PATCH_JSON = "application/merge-patch+json"


def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for name, value in patch.items():
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = merge_patch(merged.get(name), value)
    return merged
