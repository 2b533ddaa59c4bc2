"""State changes of a callback outbox event (docs/api.md "Callbacks").

The sender (approvals/callbacks/delivery.py) does the HTTP; these record what happened. Each owns its
transaction and writes, together: the attempt row, the event's new status and due time, and —
when the event ends (delivered or dead) or an operator redelivers it — the audit entry.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from approvals.models import DeliveryAttempt, OutboxEvent
from approvals.services.after_commit import enqueue_after_commit
from approvals.services.audit import audit_append

Status = OutboxEvent.Status
JITTER = 0.2


def retry_delay(attempts: int) -> timedelta | None:
    """How long to wait after the `attempts`-th failed attempt; None once retries are spent."""
    schedule = settings.WEBHOOK_RETRY_SCHEDULE
    if attempts > len(schedule):
        return None
    base = schedule[attempts - 1]
    return timedelta(seconds=base * random.uniform(1 - JITTER, 1 + JITTER))


def _locked(event: OutboxEvent) -> OutboxEvent:
    return OutboxEvent.objects.select_for_update().select_related("approval").get(pk=event.pk)


def _record_attempt(
    event: OutboxEvent, *, at: datetime, status_code: int | None, error: str, duration_ms: int
) -> DeliveryAttempt:
    # Numbered over the event's whole life, so a redelivery continues the log instead of
    # restarting it.
    last = event.delivery_attempts.aggregate(last=Max("number"))["last"] or 0
    return DeliveryAttempt.objects.create(
        event=event,
        number=last + 1,
        at=at,
        status_code=status_code,
        error=error[:2000],
        duration_ms=max(duration_ms, 0),
    )


def _audit_event(event: OutboxEvent, action: str, **extra: Any) -> None:
    """The audit entry of a delivery outcome, in the caller's transaction."""
    audit_append(
        action=action,
        actor="system",
        approval=event.approval,
        data={
            "event": str(event.pk),
            "type": event.event_type,
            "webhook_id": event.webhook_id,
            "attempts": event.attempts,
            **extra,
        },
    )


@transaction.atomic
def event_mark_delivered(
    *, event: OutboxEvent, status_code: int, duration_ms: int, at: datetime | None = None
) -> OutboxEvent:
    """A 2xx answer: record the attempt, mark the event delivered, audit it."""
    event = _locked(event)
    at = at or timezone.now()
    _record_attempt(event, at=at, status_code=status_code, error="", duration_ms=duration_ms)
    event.attempts += 1
    if event.status != Status.DELIVERED:
        event.status = Status.DELIVERED
        event.delivered_at = at
        _audit_event(event, "callback_delivered", status_code=status_code)
    event.next_attempt_at = None
    event.leased_until = None
    event.last_error = ""
    event.save(
        update_fields=[
            "status",
            "attempts",
            "delivered_at",
            "next_attempt_at",
            "leased_until",
            "last_error",
        ]
    )
    return event


@transaction.atomic
def event_record_failure(
    *,
    event: OutboxEvent,
    error: str,
    status_code: int | None = None,
    duration_ms: int = 0,
    at: datetime | None = None,
) -> OutboxEvent:
    """A non-2xx, a timeout, a refused URL: record it and schedule the next try, or give up.

    Due times live in the database (next_attempt_at); the periodic deliver_webhooks run picks
    them up, so no retry waits in the broker.
    """
    event = _locked(event)
    at = at or timezone.now()
    _record_attempt(event, at=at, status_code=status_code, error=error, duration_ms=duration_ms)
    event.attempts += 1
    event.last_error = error[:2000]
    event.leased_until = None
    if event.status == Status.PENDING:
        delay = retry_delay(event.attempts)
        if delay is None:
            event.status = Status.DEAD
            event.next_attempt_at = None
            _audit_event(event, "callback_dead", last_error=event.last_error[:300])
        else:
            event.next_attempt_at = at + delay
    event.save(
        update_fields=["status", "attempts", "last_error", "leased_until", "next_attempt_at"]
    )
    return event


@transaction.atomic
def event_redeliver(*, event: OutboxEvent, actor: str) -> OutboxEvent:
    """An operator sends a dead (or delivered) event again, with a fresh retry schedule.

    The webhook-id stays the same, so a receiver that already processed it can tell.
    Raises ValueError for an event without a callback URL.
    """
    event = _locked(event)
    if not event.target_url:
        raise ValueError("This event has no callback URL to deliver to.")
    if event.status != Status.PENDING:
        # A pending event may be leased by a worker posting it right now: keep that lease, so
        # the redelivery cannot race it into a double send.
        event.leased_until = None
    event.status = Status.PENDING
    event.attempts = 0  # the schedule restarts; DeliveryAttempt numbers keep counting
    event.next_attempt_at = timezone.now()
    event.save(update_fields=["status", "attempts", "next_attempt_at", "leased_until"])
    audit_append(
        action="callback_redelivered",
        actor=actor,
        approval=event.approval,
        data={"event": str(event.pk), "type": event.event_type, "webhook_id": event.webhook_id},
    )
    enqueue_after_commit("deliver_event", str(event.pk))
    return event
