"""The SLA clock's state changes: reminders, and the check that escalates or expires.

`approvals.sla.sweep.sweep_due` claims rows that are due and calls `approval_sla_check` on each;
everything a check changes goes through a service here or in `services/approvals.py`.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from approvals.models import ApprovalRequest, Notification
from approvals.services.approvals import (
    approval_escalate,
    approval_expire,
    lock_approval,
    next_sla_check,
)
from approvals.services.audit import audit_append
from approvals.services.notices import queue_notice
from approvals.sla.clock import reminder_due
from approvals.slack.hooks import slack_after_commit

log = logging.getLogger(__name__)
Status = ApprovalRequest.Status


def reminder_key(approval: ApprovalRequest, point: str) -> str:
    """The at-most-once mark of one reminder: one per request, stage and point."""
    return f"reminder:{approval.pk}:{approval.stage}:{point}"


@transaction.atomic
def approval_remind(*, approval: ApprovalRequest, point: str, actor: str = "system") -> bool:
    """Remind the assignee (or the group) at one reminder point; False if already reminded.

    Steps: lock the row; only a pending request is reminded; write the mark (a Notification
    with a unique key per request, stage and point — a second sweep's insert fails and sends
    nothing); audit "reminded"; email after commit.
    """
    approval = lock_approval(approval)
    if approval.status != Status.PENDING:
        return False
    try:
        with transaction.atomic():
            Notification.objects.create(
                key=reminder_key(approval, point),
                kind=Notification.Kind.REMINDER,
                approval=approval,
                recipient=approval.assignee,
                stage=approval.stage,
            )
    except IntegrityError:
        return False
    audit_append(
        action="reminded",
        actor=actor,
        approval=approval,
        data={
            "stage": approval.stage,
            "point": point,
            "group": approval.assigned_group.slug if approval.assigned_group else None,
            "assignee": approval.assignee.get_username() if approval.assignee else None,
        },
    )
    # `point` keeps the 0.9 reminder's email apart from the 0.5 one's in notify's marks.
    queue_notice(approval, Notification.Kind.REMINDER, tag=point)
    slack_after_commit(approval, Notification.Kind.REMINDER, point)
    return True


@transaction.atomic
def approval_sla_check(
    *, approval: ApprovalRequest, now: datetime | None = None, actor: str = "system"
) -> str:
    """Act on whatever of a request's SLA has come due, and schedule its next check.

    Steps: lock the row (a pending request only); past its expiry, run the policy's expiry
    action; else past its due time and not yet escalated at this stage, escalate; else send
    the latest reminder point that has passed (once, by its mark). Then store the next check
    point. Returns what it did: "expired", "escalated", "reminded" or "" for nothing.
    """
    now = now or timezone.now()
    approval = lock_approval(approval)
    if approval.status != Status.PENDING:
        return ""
    done = ""
    if approval.expires_at and approval.expires_at <= now:
        approval = approval_expire(approval=approval, actor=actor)
        done = "escalated" if approval.status == Status.PENDING else "expired"
    elif approval.due_at and approval.due_at <= now and not approval.escalated:
        approval = approval_escalate(approval=approval, actor=actor)
        done = "escalated"
    elif approval.due_at and not approval.escalated:
        point = reminder_due(
            approval.created_at, approval.due_at, approval.policy.reminder_points, now=now
        )
        if point is not None and approval_remind(approval=approval, point=point, actor=actor):
            done = "reminded"
    # The next check is bookkeeping of the sweep, not a change reviewers see: no history row.
    next_check = next_sla_check(approval, after=now) if approval.status == Status.PENDING else None
    ApprovalRequest.objects.filter(pk=approval.pk).update(next_sla_check_at=next_check)
    return done
