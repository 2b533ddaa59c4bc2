"""RFC 9457 problem details: the one shape of every error the intake API returns (docs/api.md "The API").

`{"type", "title", "status", "detail", "errors": [{"field", "message"}]}` as
`application/problem+json`, whatever went wrong: a bad token, an unknown URL, a method the URL
does not take, a body that is too large or not JSON, a validation error (ours or Ninja's), a
conflict, or a bug (a 500 that still speaks JSON).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from http import HTTPStatus
from typing import Any

from django.http import HttpRequest, HttpResponse

logger = logging.getLogger(__name__)

CONTENT_TYPE = "application/problem+json"

# Problem types: URNs, because they are identifiers, not pages to fetch. Plain HTTP errors use
# "about:blank", where the title is the status phrase (RFC 9457 §4.2.1).
VALIDATION = "urn:checkpoint:problem:validation-error"
MALFORMED = "urn:checkpoint:problem:malformed-request"
DUPLICATE = "urn:checkpoint:problem:duplicate-request"
KEY_REUSED = "urn:checkpoint:problem:idempotency-key-reused"
KEY_IN_FLIGHT = "urn:checkpoint:problem:idempotency-key-in-flight"
CONFLICT = "urn:checkpoint:problem:conflict"


class Problem(Exception):
    """Raise anywhere under /api/v1/ to answer with a problem document."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        type: str = "about:blank",
        title: str = "",
        errors: Sequence[tuple[str, str]] = (),
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.type = type
        self.title = title or HTTPStatus(status).phrase
        self.errors = list(errors)
        self.extra = extra or {}
        self.headers = headers or {}


def validation_problem(errors: Iterable[tuple[str, str]], detail: str = "") -> Problem:
    errors = list(errors)
    return Problem(
        422,
        detail or "The request is not valid: " + "; ".join(f"{f}: {m}" for f, m in errors[:5]),
        type=VALIDATION,
        title="Validation error",
        errors=errors,
    )


def problem_response(problem: Problem) -> HttpResponse:
    body: dict[str, Any] = {
        "type": problem.type,
        "title": problem.title,
        "status": problem.status,
        "detail": problem.detail,
        "errors": [{"field": field, "message": message} for field, message in problem.errors],
        **problem.extra,
    }
    response = HttpResponse(
        json.dumps(body, ensure_ascii=False).encode(),
        status=problem.status,
        content_type=CONTENT_TYPE,
    )
    for name, value in problem.headers.items():
        response[name] = value
    return response


def problem(status: int, detail: str, **kwargs: Any) -> HttpResponse:
    return problem_response(Problem(status, detail, **kwargs))


def not_found(request: HttpRequest | None = None, *args: Any, **kwargs: Any) -> HttpResponse:
    """Any URL under /api/v1/ that names no operation, and any request id we do not have."""
    return problem(404, "There is nothing at this URL.")


def unauthorized(detail: str = "") -> HttpResponse:
    return problem(
        401,
        detail or "Send a valid API token as 'Authorization: Bearer <token>'.",
        headers={"WWW-Authenticate": 'Bearer realm="checkpoint"'},
    )


def method_not_allowed(allowed: Iterable[str]) -> HttpResponse:
    allow = ", ".join(sorted(allowed))
    return problem(405, f"This URL takes {allow} only.", headers={"Allow": allow})


def server_error(request: HttpRequest, exc: BaseException) -> HttpResponse:
    # A bug, never the caller's fault: log it in full, answer in the API's own shape.
    logger.error(
        "unhandled error in %s %s",
        request.method,
        request.path,
        exc_info=(type(exc), exc, exc.__traceback__),
    )
    return problem(500, "Something went wrong on our side; it has been logged.")


def field_path(location: Sequence[Any]) -> str:
    """A pydantic/Ninja error location as a dotted field path: ("query", "limit") -> "limit"."""
    parts = [str(part) for part in location]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    return ".".join(parts) or "body"
