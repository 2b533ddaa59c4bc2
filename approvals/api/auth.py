"""Bearer-token authentication for /api/v1/ (docs/api.md "Tokens and callers"): tokens from
`create_api_token`, stored only as hashes. Missing, unknown, revoked or expired: 401. Above the
token's rate (`API_RATE_LIMIT`): 429 with Retry-After. A call outside the token's scopes: 403."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer

from approvals.api.problems import Problem
from approvals.api.ratelimit import retry_after
from approvals.models import ApiToken
from approvals.services.tokens import api_token_authenticate

FORBIDDEN = "urn:checkpoint:problem:forbidden"
RATE_LIMITED = "urn:checkpoint:problem:rate-limited"


class ApiTokenAuth(HttpBearer):
    def __call__(self, request: HttpRequest) -> Any:
        # Parsed here rather than by HttpBearer, which logs the whole header (the secret) when
        # DEBUG is on and the scheme is not "Bearer".
        scheme, _, raw = request.headers.get("Authorization", "").partition(" ")
        raw = raw.strip()
        if scheme.lower() != "bearer" or not raw:
            return None
        return self.authenticate(request, raw)

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        found = api_token_authenticate(raw=token)
        if found is None:
            return None
        # Counted after authentication, so an unknown token cannot use up a real one's rate.
        wait = retry_after(token_id=found.pk)
        if wait is not None:
            raise Problem(
                429,
                f"This token sent more than its rate allows; retry in {wait} s.",
                type=RATE_LIMITED,
                title="Too many requests",
                headers={"Retry-After": str(wait)},
            )
        return found


def caller_token(request: HttpRequest, scope: str) -> ApiToken:
    """The request's token, if it holds `scope`; else a 403 problem."""
    token: ApiToken = request.auth  # type: ignore[attr-defined]
    if not token.allows(scope):
        raise Problem(
            403,
            f"This token may not {scope}; its scopes are: {', '.join(token.scopes) or 'none'}.",
            type=FORBIDDEN,
            title="Outside the token's scope",
        )
    return token


def policy_forbidden(slug: str) -> Problem:
    return Problem(
        403,
        f"This token may not submit to policy {slug!r}.",
        type=FORBIDDEN,
        title="Outside the token's scope",
        errors=[("policy", "not one of this token's policies")],
    )
