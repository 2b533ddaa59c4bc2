"""What a manager does to a live request from the admin: reassign, cancel, escalate now, nudge.

Each is a thin, audited wrapper over the service that owns the change (approval_assign,
approval_cancel, approval_escalate, approval_remind), with the manager as the actor, so the
audit entry, the outbox event (cancel: request.cancelled, escalate: request.escalated) and the
emails are the ones the rest of the system writes. Reassign and nudge change who holds the
request or who is reminded, which callers are not told about (docs/api.md lists the events).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from approvals.exceptions import NotAllowed
from approvals.models import ApprovalRequest, ReviewerGroup
from approvals.services.approvals import (
    approval_assign,
    approval_cancel,
    approval_escalate,
)
from approvals.services.audit import audit_append
from approvals.services.sla import approval_remind

MANAGERS_GROUP = "Managers"


def is_manager(user: Any) -> bool:
    """Who may act on requests from the admin: superusers and the Managers group."""
    return bool(
        user.is_active
        and user.is_staff
        and (user.is_superuser or user.groups.filter(name=MANAGERS_GROUP).exists())
    )


def _check(manager: Any) -> str:
    if not is_manager(manager):
        raise NotAllowed("Only managers can act on requests.")
    return str(manager.get_username())


@transaction.atomic
def manager_reassign(
    *,
    approval: ApprovalRequest,
    manager: Any,
    assignee: Any = None,
    group: ReviewerGroup | None = None,
    reason: str = "",
) -> ApprovalRequest:
    """Give a pending request to `assignee` (a member of `group`, default its current group),
    or with no assignee put it back in the group's queue; the new holder is emailed."""
    actor = _check(manager)
    approval = approval_assign(approval=approval, assignee=assignee, group=group, actor=actor)
    audit_append(
        action="manager_reassigned",
        actor=actor,
        approval=approval,
        data={
            "group": approval.assigned_group.slug if approval.assigned_group else None,
            "assignee": assignee.get_username() if assignee else None,
            "reason": reason[:500],
        },
    )
    return approval


@transaction.atomic
def manager_cancel(*, approval: ApprovalRequest, manager: Any, reason: str = "") -> ApprovalRequest:
    """Withdraw a pending request: final, with its request.cancelled callback."""
    actor = _check(manager)
    approval = approval_cancel(approval=approval, actor=actor)
    audit_append(
        action="manager_cancelled", actor=actor, approval=approval, data={"reason": reason[:500]}
    )
    return approval


@transaction.atomic
def manager_escalate(
    *, approval: ApprovalRequest, manager: Any, reason: str = ""
) -> ApprovalRequest:
    """Escalate now, as the SLA would when due: request.escalated, the new holder emailed."""
    actor = _check(manager)
    approval = approval_escalate(approval=approval, actor=actor)
    audit_append(
        action="manager_escalated", actor=actor, approval=approval, data={"reason": reason[:500]}
    )
    return approval


@transaction.atomic
def manager_nudge(*, approval: ApprovalRequest, manager: Any) -> bool:
    """Send the reminder now to whoever holds the request; at most once a minute.

    False (and nothing written) if the request is no longer pending or was nudged this minute.
    """
    actor = _check(manager)
    point = f"nudge-{timezone.now():%Y%m%dT%H%M}"
    return approval_remind(approval=approval, point=point, actor=actor)
