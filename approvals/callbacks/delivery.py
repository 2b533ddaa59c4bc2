"""The callback sender: claims due outbox events, signs them, POSTs them (docs/api.md "Callbacks").

Two ways in, both idempotent and safe on many workers at once:

- ``deliver_one(event_id)`` — the on-commit kick, so a decision reaches the caller in a second
  or two when the broker and a worker are up.
- ``deliver_due()`` — the periodic sweep (beat, every few seconds): retries that came due,
  kicks a broker outage lost, and events whose worker died mid-delivery (expired lease).

A claim sets ``leased_until`` with a conditional UPDATE (PostgreSQL: ``SELECT … FOR UPDATE
SKIP LOCKED`` first, so concurrent sweeps never wait on each other). The claim commits before
the HTTP request, and no transaction is held open across it. What happened is recorded by the
services in approvals/services/delivery.py.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from standardwebhooks import Webhook

from approvals.callbacks.netguard import IPAddress, UnsafeCallbackURL, resolve_callback_url
from approvals.models import OutboxEvent
from approvals.services.delivery import event_mark_delivered, event_record_failure

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10.0
# deliver_due stops claiming after this long, well inside the task's soft time limit; whatever
# is left is still due and the next run takes it.
SWEEP_BUDGET_SECONDS = 120.0
USER_AGENT = "Checkpoint-Webhooks/1"

Status = OutboxEvent.Status


# --- signing ----------------------------------------------------------------------------------


def encode_body(body: dict[str, Any]) -> str:
    """The exact text posted and signed."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False, sort_keys=False)


def sign(*, secrets: list[str], msg_id: str, at: datetime, data: str) -> str:
    """`webhook-signature`: one `v1,<sig>` per secret, space-separated (rotation grace)."""
    return " ".join(
        Webhook(secret).sign(msg_id=msg_id, timestamp=at, data=data) for secret in secrets
    )


def signed_headers(event: OutboxEvent, data: str, *, at: datetime) -> dict[str, str]:
    secrets = event.approval.policy.signing_secrets(at)
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": event.webhook_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": sign(secrets=secrets, msg_id=event.webhook_id, at=at, data=data),
    }


# --- claiming -----------------------------------------------------------------------------------


def _lease_free(now: datetime) -> Q:
    return Q(leased_until__isnull=True) | Q(leased_until__lte=now)


def _claim(event_id: Any, now: datetime, due_by: datetime | None = None) -> bool:
    """Take the event for one attempt; False if another worker holds it or it is not due."""
    lease_end = now + timedelta(seconds=settings.WEBHOOK_LEASE_SECONDS)
    claimed = (
        OutboxEvent.objects.filter(
            pk=event_id, status=Status.PENDING, next_attempt_at__lte=due_by or now
        )
        .filter(_lease_free(now))
        .update(leased_until=lease_end)
    )
    return claimed == 1


def _claim_next(now: datetime, due_by: datetime) -> Any:
    """The id of the next event due by `due_by`, now leased to this worker; None if none is.

    `due_by` is the sweep's start, so a retry scheduled during this sweep waits for the next.
    """
    due = (
        OutboxEvent.objects.filter(status=Status.PENDING, next_attempt_at__lte=due_by)
        .filter(_lease_free(now))
        .order_by("next_attempt_at")
    )
    if settings.IS_POSTGRES:
        with transaction.atomic():
            # SKIP LOCKED: a row another sweep is claiming right now is simply passed over.
            event_id = due.select_for_update(skip_locked=True).values_list("pk", flat=True).first()
            if event_id is not None and _claim(event_id, now, due_by):
                return event_id
            return None
    # SQLite: one writer at a time anyway; the conditional UPDATE decides who got it.
    for event_id in due.values_list("pk", flat=True)[:5]:
        if _claim(event_id, now, due_by):
            return event_id
    return None


# --- sending -------------------------------------------------------------------------------------


def pinned_request(
    url: str, addresses: list[IPAddress]
) -> tuple[str, dict[str, str], dict[str, Any]]:
    """Point the request at an address that was just vetted, keeping Host and TLS SNI.

    Connecting to the checked address (instead of letting the client resolve the name again)
    closes the DNS-rebinding gap between the check and the connection.
    """
    if not addresses:
        return url, {}, {}
    parts = urlsplit(url)
    address = addresses[0]
    host = f"[{address}]" if address.version == 6 else str(address)
    netloc = f"{host}:{parts.port}" if parts.port else host
    headers = {"host": parts.netloc.rsplit("@", 1)[-1]}
    extensions: dict[str, Any] = {}
    if parts.scheme == "https" and parts.hostname:
        extensions["sni_hostname"] = parts.hostname
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, "")), headers, extensions


def _attempt(event_id: Any) -> bool:
    """One signed POST of a claimed event; records the outcome. True if delivered."""
    event = OutboxEvent.objects.select_related("approval__policy", "inbound_source").get(
        pk=event_id
    )
    started = time.monotonic()

    def elapsed_ms() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        addresses = resolve_callback_url(event.target_url)
    except UnsafeCallbackURL as exc:
        event_record_failure(event=event, error=f"refused: {exc.message}")
        return False
    data = encode_body(event.body)
    if event.kind == OutboxEvent.Kind.HUBSPOT_COMPLETE:
        # To HubSpot's API with the source's token, not signed (docs/integrations.md).
        from approvals.inbound.completion import hubspot_headers

        try:
            headers = hubspot_headers(event)
        except ValueError as exc:
            event_record_failure(event=event, error=f"refused: {exc}")
            return False
    else:
        headers = signed_headers(event, data, at=timezone.now())
    url, pin_headers, extensions = pinned_request(event.target_url, addresses)
    try:
        with httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=False) as client:
            response = client.post(
                url,
                content=data.encode(),
                headers={**headers, **pin_headers},
                extensions=extensions,
            )
    except httpx.TimeoutException:
        event_record_failure(
            event=event, error=f"no answer within {TIMEOUT_SECONDS:.0f} s", duration_ms=elapsed_ms()
        )
        return False
    except httpx.HTTPError as exc:
        event_record_failure(
            event=event, error=f"{type(exc).__name__}: {exc}", duration_ms=elapsed_ms()
        )
        return False
    if 200 <= response.status_code < 300:
        event_mark_delivered(
            event=event, status_code=response.status_code, duration_ms=elapsed_ms()
        )
        return True
    reason = "redirects are not followed" if response.is_redirect else response.text[:300]
    event_record_failure(
        event=event,
        error=f"HTTP {response.status_code}: {reason}".strip(),
        status_code=response.status_code,
        duration_ms=elapsed_ms(),
    )
    return False


def deliver_one(event_id: str) -> bool:
    """The on-commit kick: attempt this event now if it is due and nobody holds it."""
    try:
        event_id = str(uuid.UUID(str(event_id)))
    except ValueError:  # a malformed id from the queue
        return False
    if not _claim(event_id, timezone.now()):
        return False
    return _attempt(event_id)


def deliver_due(*, limit: int | None = None) -> int:
    """Attempt every due event, one claim at a time; returns how many were attempted.

    Steps: claim the next due event (lease), POST it, record the outcome; repeat until
    nothing is due, `limit` (WEBHOOK_BATCH_SIZE) attempts were made, or the time budget is
    spent. A second run right after finds nothing to do.
    """
    limit = settings.WEBHOOK_BATCH_SIZE if limit is None else limit
    started, due_by = time.monotonic(), timezone.now()
    attempted = 0
    while attempted < limit and time.monotonic() - started < SWEEP_BUDGET_SECONDS:
        event_id = _claim_next(timezone.now(), due_by)
        if event_id is None:
            break
        attempted += 1
        try:
            _attempt(event_id)
        except Exception:  # one bad row must not stop the sweep; its lease expires and it retries
            logger.exception("delivery of outbox event %s crashed", event_id)
    return attempted
