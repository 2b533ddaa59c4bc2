"""Intake API tokens: shown once at creation, stored only as a SHA-256 hash; each belongs to one
caller, may be limited to some policies and scopes, may expire and may act for a user
(docs/api.md "Tokens and callers", docs/security.md "API tokens")."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from approvals.models import ApiToken, Policy
from approvals.rows import ModelColumns

TOKEN_PREFIX = "cpk_"
# last_used_at is for people ("is this token still in use?"), not an access log: writing it on
# every request would turn each API read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class TokenNameTaken(ValueError):
    """Token names are unique: they name the actor on the audit trail (`api:<name>`)."""


def api_token_hash(raw: str) -> str:
    # A plain hash is enough: the token is 256 random bits, so there is nothing to brute-force.
    return hashlib.sha256(raw.encode()).hexdigest()


def api_token_create(
    *,
    name: str,
    caller: str = "",
    scopes: Iterable[str] | None = None,
    policies: Iterable[Policy] = (),
    expires_at: datetime | None = None,
    user: Any = None,
) -> tuple[ApiToken, str]:
    """A new token row and the raw token; the raw value is never stored or shown again.

    `caller` defaults to the name; `scopes` to all three; no `policies`: every policy; no
    `expires_at`: never expires. Raises TokenNameTaken when the name is in use.
    """
    scopes = list(ApiToken.SCOPES if scopes is None else scopes)
    unknown = set(scopes) - set(ApiToken.SCOPES)
    if unknown or not scopes:
        raise ValueError(f"scopes must be some of {', '.join(ApiToken.SCOPES)}")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    try:
        with transaction.atomic():
            token = ApiToken.objects.create(
                name=name,
                caller=caller or name,
                prefix=raw[:12],
                token_hash=api_token_hash(raw),
                scopes=[scope for scope in ApiToken.SCOPES if scope in scopes],
                policy_ids=sorted({policy.pk for policy in policies}),
                expires_at=expires_at,
                user=user,
            )
    except IntegrityError:
        if ApiToken.objects.filter(name=name).exists():
            raise TokenNameTaken(f"There is already a token named {name!r}.") from None
        raise
    return token, raw


@transaction.atomic
def api_token_revoke(*, token: ApiToken) -> ApiToken:
    """Revoke at once; revoking twice keeps the first revocation time."""
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    token.refresh_from_db(fields=["revoked_at"])
    return token


# Every API call runs this; fixed SQL costs a third of the CPU the ORM spends building it.
# Columns named, not `*` (see _GROUP_SQL in approvals/services/approvals.py).
_ACTIVE_TOKEN_SQL = (
    f"SELECT {ModelColumns(ApiToken, 't').sql} FROM {ApiToken._meta.db_table} t"  # noqa: S608
    " WHERE t.token_hash = %s AND t.revoked_at IS NULL"
    " AND (t.expires_at IS NULL OR t.expires_at > %s)"
)


def api_token_authenticate(*, raw: str) -> ApiToken | None:
    """The active token `raw` stands for, or None (unknown, revoked or expired).

    One query by hash (expiry and revocation in its WHERE); last_used_at moves at most once per
    LAST_USED_RESOLUTION, with a conditional UPDATE so concurrent requests write it once.
    """
    now = timezone.now()
    token = next(iter(ApiToken.objects.raw(_ACTIVE_TOKEN_SQL, [api_token_hash(raw), now])), None)
    if token is None:
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION)
        ).update(last_used_at=now)
        token.last_used_at = now
    return token
