"""Intake API tokens: shown once at creation, stored only as a SHA-256 hash (docs/api.md "Commands")."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from approvals.models import ApiToken

TOKEN_PREFIX = "cpk_"
# last_used_at is for people ("is this token still in use?"), not an access log: writing it on
# every request would turn each API read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


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


def api_token_authenticate(*, raw: str) -> ApiToken | None:
    """The active token `raw` stands for, or None (unknown or revoked).

    Looked up by hash only; last_used_at moves at most once per LAST_USED_RESOLUTION, with a
    conditional UPDATE so concurrent requests write it once.
    """
    token = ApiToken.objects.filter(token_hash=api_token_hash(raw), revoked_at__isnull=True).first()
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION)
        ).update(last_used_at=now)
        token.last_used_at = now
    return token
