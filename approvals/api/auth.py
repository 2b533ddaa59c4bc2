"""Bearer-token authentication for /api/v1/ (docs/api.md "The API"): tokens from `create_api_token`,
stored only as hashes, revocable in the admin. Missing, unknown or revoked: 401."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer

from approvals.models import ApiToken
from approvals.services.tokens import api_token_authenticate


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
        return api_token_authenticate(raw=token)
