"""The SLA sweep behind `approvals.tasks.sweep_slas`.

Cost follows the work due, not the table: rows are found through the partial index
`req_sla_check_due` (pending rows with a next check), oldest check first, in bounded batches.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from approvals.models import ApprovalRequest
from approvals.services.sla import approval_sla_check

log = logging.getLogger(__name__)
Status = ApprovalRequest.Status


def due_rows(now: datetime) -> QuerySet[ApprovalRequest]:
    """Pending rows whose next SLA check has come, oldest first: served by the partial index
    `req_sla_check_due` (its condition is repeated here so the planner can use it)."""
    return ApprovalRequest.objects.filter(
        status=Status.PENDING,
        next_sla_check_at__isnull=False,
        next_sla_check_at__lte=now,
    ).order_by("next_sla_check_at")


def claim_due(*, now: datetime, limit: int, lease: timedelta) -> list[ApprovalRequest]:
    """Claim up to `limit` due rows for this sweep and return them.

    Steps: in one short transaction, select the due rows through `req_sla_check_due`, locking
    them and skipping rows another sweep holds (PostgreSQL; SQLite's write transaction
    serialises sweeps instead); push their next check forward by `lease`. A second sweep at the
    same moment no longer sees them as due, and a sweep that dies mid-way leaves them to be
    retried when the lease runs out.
    """
    with transaction.atomic():
        due = due_rows(now).select_for_update(skip_locked=True)
        ids = list(due.values_list("pk", flat=True)[:limit])
        if not ids:
            return []
        # Conditional: only rows still pending and due are claimed.
        ApprovalRequest.objects.filter(
            pk__in=ids, status=Status.PENDING, next_sla_check_at__lte=now
        ).update(next_sla_check_at=now + lease)
    return list(ApprovalRequest.objects.filter(pk__in=ids).order_by())


def sweep_due(*, now: datetime | None = None) -> int:
    """Remind, escalate and expire what has come due; returns how many requests it acted on.

    Steps: claim a batch of due rows; run each one's SLA check (its own transaction); a row
    whose check fails keeps the lease as its next check, so it is retried later and never
    blocks the others; repeat until a batch comes back short or the batch limit is reached
    (the rest waits for the next beat). A second run right after finds nothing.
    """
    batch_size = settings.SLA_SWEEP_BATCH_SIZE
    max_batches = settings.SLA_SWEEP_MAX_BATCHES
    lease = timedelta(seconds=settings.SLA_SWEEP_RETRY_SECONDS)
    acted = 0
    for _ in range(max_batches):
        check_at = now or timezone.now()
        batch = claim_due(now=check_at, limit=batch_size, lease=lease)
        for approval in batch:
            try:
                if approval_sla_check(approval=approval, now=check_at):
                    acted += 1
            except Exception:
                log.exception(
                    "SLA check of %s failed; retrying after %s", approval.pk, check_at + lease
                )
        if len(batch) < batch_size:
            break
    return acted
