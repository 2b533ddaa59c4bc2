"""Intake API tokens: shown once at creation, stored only as a SHA-256 hash (CONTRACT §1)."""

from __future__ import annotations

import hashlib
import secrets

from django.db import transaction
from django.utils import timezone

from approvals.models import ApiToken

TOKEN_PREFIX = "cpk_"


def api_token_hash(raw: str) -> str:
    # A plain hash is enough: the token is 256 random bits, so there is nothing to brute-force.
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def api_token_create(*, name: str) -> tuple[ApiToken, str]:
    """A new token row and the raw token; the raw value is never stored or shown again."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(name=name, prefix=raw[:12], token_hash=api_token_hash(raw))
    return token, raw


@transaction.atomic
def api_token_revoke(*, token: ApiToken) -> ApiToken:
    """Revoke at once; revoking twice keeps the first revocation time."""
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    token.refresh_from_db(fields=["revoked_at"])
    return token
