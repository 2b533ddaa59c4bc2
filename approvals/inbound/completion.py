"""Completing a HubSpot workflow action that waits on a request (docs/integrations.md).

When a request that a HubSpot custom workflow action started ends (decided, changes
requested, expired or cancelled), an outbox event of kind `hubspot_complete` is written in the
same transaction: `POST {HUBSPOT_API_URL}/automation/v4/actions/callbacks/<callbackId>/complete`
with the source's private-app token. The callback sender delivers it like every other event:
retries, dead letters, redeliver, the same network guard.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.db import connection
from django.utils import timezone

from approvals.ids import uuid_param
from approvals.inbound.secrets import source_api_token
from approvals.models import ApprovalRequest, Decision, InboundEvent, OutboxEvent
from approvals.services.after_commit import enqueue_after_commit

Status = ApprovalRequest.Status

HUBSPOT_DECISION: dict[str, str] = {
    Status.APPROVED: "approve",
    Status.REJECTED: "reject",
    Status.CHANGES_REQUESTED: "request_changes",
    Status.EXPIRED: "expire",
    Status.CANCELLED: "cancel",
}


def completion_url(callback_id: str) -> str:
    base = settings.HUBSPOT_API_URL.rstrip("/")
    return f"{base}/automation/v4/actions/callbacks/{quote(callback_id, safe='')}/complete"


def completion_body(approval: ApprovalRequest, decision: Decision | None) -> dict[str, Any]:
    return {
        "outputFields": {
            "hs_execution_state": "SUCCESS",
            "decision": HUBSPOT_DECISION[approval.status],
            "comment": decision.comment if decision else "",
            "decided_by": decision.decided_by_name if decision else "",
        }
    }


# The HubSpot action waiting on a request, if any: two columns, no join, built once (this runs
# in every final decision's transaction).
_LINK_SQL = (
    f"SELECT source_id, callback_id FROM {InboundEvent._meta.db_table}"  # noqa: S608
    " WHERE approval_id = %s AND callback_id <> '' ORDER BY id LIMIT 1"
)


def hubspot_completion_enqueue(
    *, approval: ApprovalRequest, event_type: str, decision: Decision | None
) -> OutboxEvent | None:
    """In the caller's transaction: the completion event for a request that ended, if a
    HubSpot workflow action waits on it; None otherwise."""
    if approval.status not in HUBSPOT_DECISION:
        return None
    with connection.cursor() as cursor:
        cursor.execute(_LINK_SQL, [uuid_param(approval.pk)])
        link = cursor.fetchone()
    if link is None:
        return None
    source_id, callback_id = link
    now = timezone.now()
    event = OutboxEvent.objects.create(
        approval=approval,
        event_type=event_type,
        kind=OutboxEvent.Kind.HUBSPOT_COMPLETE,
        inbound_source_id=source_id,
        body=completion_body(approval, decision),
        target_url=completion_url(callback_id),
        status=OutboxEvent.Status.PENDING,
        next_attempt_at=now,
        created_at=now,
    )
    enqueue_after_commit("deliver_event", str(event.pk))
    return event


def hubspot_headers(event: OutboxEvent) -> dict[str, str]:
    """Headers of a completion: the source's private-app token as Bearer; ValueError if the
    source or its token is gone (recorded as a failed attempt, redeliverable once fixed)."""
    source = event.inbound_source
    token = source_api_token(source) if source is not None else ""
    if not token:
        raise ValueError("the inbound source has no HubSpot private-app token")
    return {
        "content-type": "application/json",
        "authorization": f"Bearer {token}",
        "user-agent": "Checkpoint-HubSpot/1",
    }
