"""Idempotent intake, as Stripe defines it (docs/api.md "The API").

A POST with an `Idempotency-Key` is remembered for 24 hours per API token: the same key with
the same body gets the first response again (status and body, byte for byte) and creates
nothing; the same key with another body is refused (422).

Concurrency: the key is claimed by inserting its IdempotencyRecord *inside the transaction
that creates the request*. The unique constraint (token, key) makes a second, concurrent insert
wait for the first transaction: if it commits, the second sees the stored response and replays
it; if it rolls back, the second goes ahead as if it were first. So however many requests
race, one request is created, and a key is never left claimed by a request that failed.

Only a created request (2xx) is remembered. A refusal (a 409 duplicate, a 422) rolls the claim
back with everything else, so the caller may fix the cause and retry with the same key.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from approvals.models import ApiToken, IdempotencyRecord

WINDOW = IdempotencyRecord.IDEMPOTENCY_WINDOW
MAX_KEY_LENGTH = 255
PURGE_BATCH = 1000
PURGE_MAX_BATCHES = 100


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: bytes


class KeyReused(Exception):
    """The key was used with a different body."""


class KeyInFlight(Exception):
    """The key's first request has not finished (only seen if its claim outlives a crash)."""


def body_fingerprint(document: Any) -> str:
    # Of the parsed document in a canonical form, so that a retry that re-serialises the same
    # JSON with other key order or spacing still counts as the same body.
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def idempotency_replay(*, token: ApiToken, key: str, fingerprint: str) -> StoredResponse | None:
    """The stored response for this key, or None when the key is new (or its 24 h are over).

    Raises KeyReused when the key came with another body, KeyInFlight when it has no response.
    """
    record = (
        IdempotencyRecord.objects.filter(
            token=token, key=key, created_at__gte=timezone.now() - WINDOW
        )
        .only("body_hash", "response_status", "response_body")
        .first()
    )
    if record is None:
        return None
    if record.body_hash != fingerprint:
        raise KeyReused(key)
    if record.response_status is None or record.response_body is None:
        raise KeyInFlight(key)
    return StoredResponse(status=record.response_status, body=bytes(record.response_body))


def idempotency_run(
    *,
    token: ApiToken,
    key: str,
    fingerprint: str,
    produce: Callable[[], StoredResponse],
) -> tuple[StoredResponse, bool]:
    """Run `produce` once for this key and remember its response; (response, replayed).

    Steps: in one transaction, claim the key (insert its record; a concurrent claimant waits
    here), run `produce` (the submit), store its response on the record, commit. Losing the
    claim means another request holds or held the key: replay what it stored. An exception
    from `produce`, or a non-2xx response, rolls the claim back with the rest.
    """
    for _ in range(2):
        with transaction.atomic():
            record = _claim(token=token, key=key, fingerprint=fingerprint)
            if record is not None:
                response = produce()
                if not 200 <= response.status < 300:
                    transaction.set_rollback(True)
                    return response, False
                record.response_status = response.status
                record.response_body = response.body
                record.save(update_fields=["response_status", "response_body"])
                return response, False
        replay = idempotency_replay(token=token, key=key, fingerprint=fingerprint)
        if replay is not None:
            return replay, True
        # The record we collided with is past its 24 hours: clear it and claim afresh.
        IdempotencyRecord.objects.filter(
            token=token, key=key, created_at__lt=timezone.now() - WINDOW
        ).delete()
    raise KeyInFlight(key)


def _claim(*, token: ApiToken, key: str, fingerprint: str) -> IdempotencyRecord | None:
    try:
        with transaction.atomic():
            return IdempotencyRecord.objects.create(
                token=token, key=key, body_hash=fingerprint, created_at=timezone.now()
            )
    except IntegrityError:
        return None


def purge_expired() -> int:
    """Delete records older than the 24-hour window, in bounded batches; returns how many.

    Uses the index on created_at; a second run right after finds nothing.
    """
    cutoff = timezone.now() - WINDOW
    deleted = 0
    for _ in range(PURGE_MAX_BATCHES):
        ids = list(
            IdempotencyRecord.objects.filter(created_at__lt=cutoff)
            .order_by("created_at")
            .values_list("pk", flat=True)[:PURGE_BATCH]
        )
        if not ids:
            break
        count, _ = IdempotencyRecord.objects.filter(pk__in=ids).delete()
        deleted += count
        if len(ids) < PURGE_BATCH:
            break
    return deleted
