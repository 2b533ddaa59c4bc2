"""Celery tasks: each takes ids (or nothing) and calls one service or sweep.

Every task is idempotent and safe on two workers at once. None retries by itself: the
periodic ones (config/celery.py) run again on the next beat and pick up what a failed run
left; a webhook's retries are its outbox row's schedule (deliver_webhooks), a Slack message's
its SlackMessage row's (slack_deliver_due); a notice email that failed keeps its error in
Notification and is sent again by the next run of the same notice.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

from approvals.api.idempotency import purge_expired
from approvals.audit.checkpoints import CheckpointError, export_checkpoint
from approvals.callbacks.delivery import deliver_due, deliver_one
from approvals.notifications.email import (
    notify,
    send_batch,
    send_digests,
    send_due_batches,
    send_queued,
)
from approvals.services.audit import audit_seal
from approvals.sla.sweep import sweep_due
from approvals.slack import delivery as slack_delivery
from approvals.workload.distribution import distribute
from approvals.workload.fatigue import flag_fatigued_reviewers

logger = logging.getLogger(__name__)


@shared_task(name="approvals.tasks.deliver_webhooks")
def deliver_webhooks() -> int:
    """Deliver every outbox event whose attempt is due; returns how many were attempted."""
    return deliver_due()


@shared_task(name="approvals.tasks.deliver_event")
def deliver_event(event_id: str) -> bool:
    """The on-commit kick for one event, so a decision reaches the caller in a second or two."""
    return deliver_one(event_id)


@shared_task(name="approvals.tasks.seal_audit")
def seal_audit() -> int:
    """Chain the committed audit entries not yet sealed (kicked on commit; beat runs it too)."""
    return audit_seal()


@shared_task(name="approvals.tasks.export_audit_checkpoint")
def export_audit_checkpoint() -> int:
    """Sign the sealed head and write it outside the database (docs/security.md); returns the
    checkpoint's sequence number, 0 when there is nothing to do or it cannot be done (logged)."""
    if not (settings.AUDIT_SIGNING_KEY_ID and settings.AUDIT_CHECKPOINT_URL):
        logger.warning("audit checkpoints are off: set AUDIT_SIGNING_KEY and AUDIT_CHECKPOINT_URL")
        return 0
    try:
        exported = export_checkpoint()
    except (CheckpointError, OSError) as exc:
        logger.error("audit checkpoint not written: %s", exc)
        return 0
    return exported.checkpoint.seq if exported else 0


@shared_task(name="approvals.tasks.send_notices")
def send_notices() -> int:
    """Send the queued notice emails (kicked once per window after commit; beat runs it too);
    returns how many emails went out."""
    return send_queued()


@shared_task(name="approvals.tasks.notify_approval")
def notify_approval(approval_id: str, kind: str, stage: int, tag: str = "") -> int:
    """Email the people a request now waits on (assigned, reminder, escalated); at most once each.

    `tag` tells repeated notices of one stage apart (e.g. the reminder point "0.5").
    """
    return notify(approval_id=approval_id, kind=kind, stage=stage, tag=tag)


@shared_task(name="approvals.tasks.sweep_slas")
def sweep_slas() -> int:
    """Reminders, escalations and expiries that are due; returns how many rows it acted on."""
    return sweep_due()


@shared_task(name="approvals.tasks.distribute_work")
def distribute_work() -> int:
    """Assign unassigned work and re-route the work of members who went away."""
    return distribute()


@shared_task(name="approvals.tasks.purge_idempotency_records")
def purge_idempotency_records() -> int:
    """Delete idempotency records older than the 24-hour window."""
    return purge_expired()


@shared_task(name="approvals.tasks.flag_fatigue")
def flag_fatigue() -> int:
    """Flag reviewers whose recent decisions are nearly all instant approvals."""
    return flag_fatigued_reviewers()


@shared_task(name="approvals.tasks.send_daily_digests")
def send_daily_digests() -> int:
    """The opt-in daily digest of pending work per reviewer."""
    return send_digests()


@shared_task(name="approvals.tasks.slack_sync")
def slack_sync(approval_id: str, event: str = "", tag: str = "") -> int:
    """Post, thread and update a request's Slack messages after a change (docs/api.md "Slack")."""
    return slack_delivery.sync(approval_id=approval_id, event=event, tag=tag)


@shared_task(name="approvals.tasks.slack_deliver_due")
def slack_deliver_due() -> int:
    """Slack messages whose retry (after an error or a 429's Retry-After) has come due."""
    return slack_delivery.deliver_due()


@shared_task(name="approvals.tasks.send_notification_batch")
def send_notification_batch(user_id: int, batch: str) -> int:
    """One reviewer's batched email for `batch` once its window has passed (else nothing)."""
    return send_batch(user_id=user_id, batch=batch)


@shared_task(name="approvals.tasks.send_due_notification_batches")
def send_due_notification_batches() -> int:
    """Every batched email whose window has passed (the beat's safety net)."""
    return send_due_batches()
