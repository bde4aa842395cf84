from __future__ import annotations

from litestar.openapi.datastructures import ResponseSpec

from adapters.http.problems import PROBLEM_JSON
from adapters.http.schemas.common import Output


class FieldErrorOut(Output, kw_only=True):
    field: str | None
    message: str | None
    source: str | None = None


class ProblemOut(Output, kw_only=True):
    type: str
    title: str
    status: int
    detail: str
    code: str
    errors: list[FieldErrorOut] | None = None


_DESCRIPTIONS = {
    400: "Malformed request or missing header",
    401: "Missing, expired or invalid token",
    403: "Token of the wrong role, store or member",
    404: "Not found",
    409: "Conflicts with current state or an earlier request",
    415: "The body is not sent as the JSON media type the operation takes",
    422: "Invalid input or a programme rule refuses it",
    429: "Too many requests: wait for the Retry-After header's seconds",
}


def problems(*statuses: int) -> dict[int, ResponseSpec]:
    """Problem responses for an operation; 400 (undecodable request) applies to every one."""
    return {
        status: ResponseSpec(
            data_container=ProblemOut,
            description=_DESCRIPTIONS.get(status, "Problem"),
            media_type=PROBLEM_JSON,
            generate_examples=False,
        )
        for status in sorted({400, *statuses})
    }
