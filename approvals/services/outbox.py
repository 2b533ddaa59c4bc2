from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from approvals.formats import iso_z
from approvals.models import ApprovalRequest, Decision, OutboxEvent
from approvals.rows import RowInsert
from approvals.services.after_commit import enqueue_after_commit

EVENT_TYPES = frozenset(
    {
        "request.decided",
        "request.changes_requested",
        "request.expired",
        "request.cancelled",
        "request.escalated",
    }
)


def event_body(
    *, approval: ApprovalRequest, event_type: str, decision: Decision | None, at: Any
) -> dict[str, Any]:
    """The callback body of docs/api.md "Callbacks"."""
    data: dict[str, Any] = {
        "id": str(approval.pk),
        "external_id": approval.external_id,
        "policy": approval.policy.slug,
        "status": approval.status,
        "outcome": decision.outcome if decision else None,
        "option": (decision.option or None) if decision else None,
        "value": (decision.value or None) if decision else None,
        "comment": decision.comment if decision else "",
        "decided_by": decision.decided_by_name if decision else None,
        "channel": decision.channel if decision else None,
        "decided_at": iso_z(decision.decided_at) if decision else None,
        "payload_changes": decision.payload_changes if decision else {},
        "payload": approval.payload,
        "escalated": approval.escalated,
        "escalated_at": iso_z(approval.escalated_at),
    }
    if event_type == "request.escalated":
        data["assigned_group"] = approval.assigned_group.slug if approval.assigned_group else None
    return {"type": event_type, "timestamp": iso_z(at), "data": data}


# The event's INSERT, built once (approvals/rows.py): outbox rows have no signals or history.
_OUTBOX_INSERT = RowInsert(OutboxEvent)


def outbox_enqueue(
    *, approval: ApprovalRequest, event_type: str, decision: Decision | None = None
) -> OutboxEvent:
    """Write the event in the caller's transaction; kick delivery once that commits.

    A request with no callback URL (its own or its policy's) still gets the row, marked
    `no_target`, so the audit of what would have been sent stays complete.
    """
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("outbox_enqueue must run inside the service's transaction")
    now = timezone.now()
    target = approval.callback_url or approval.policy.callback_url
    event = OutboxEvent(
        approval=approval,
        event_type=event_type,
        body=event_body(approval=approval, event_type=event_type, decision=decision, at=now),
        target_url=target,
        status=OutboxEvent.Status.PENDING if target else OutboxEvent.Status.NO_TARGET,
        next_attempt_at=now if target else None,
        created_at=now,
    )
    _OUTBOX_INSERT.insert([event])
    if target:
        enqueue_after_commit("deliver_event", str(event.pk))
    if event_type != "request.escalated":
        # A HubSpot workflow action waiting on this request is completed by its own event.
        from approvals.inbound.completion import hubspot_completion_enqueue

        hubspot_completion_enqueue(approval=approval, event_type=event_type, decision=decision)
    return event
