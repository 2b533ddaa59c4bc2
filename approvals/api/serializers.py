"""ApprovalRequest and Decision as the JSON objects of docs/api.md "The API".

Plain functions over rows the caller has already loaded: no query runs here, so a list of 50
costs what a list of 1 does (the selectors set the joins and prefetches).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from approvals.formats import absolute_url, iso_z
from approvals.models import ApprovalRequest, Decision


def decision_data(decision: Decision) -> dict[str, Any]:
    return {
        "stage": decision.stage,
        "outcome": decision.outcome,
        "option": decision.option or None,
        "value": decision.value or None,
        "comment": decision.comment,
        "decided_by": decision.decided_by_name,
        "channel": decision.channel,
        "decided_at": iso_z(decision.decided_at),
        "payload_changes": decision.payload_changes or {},
        # Why an auto decision was taken: the rule that matched, under this policy version.
        "rule": decision.rule or None,
        "policy_version": decision.policy_version,
    }


def request_data(approval: ApprovalRequest, *, final: Decision | None) -> dict[str, Any]:
    """The request object; `final` is the decision that ended it (None while pending)."""
    return {
        "id": str(approval.pk),
        "external_id": approval.external_id or None,
        "policy": {"slug": approval.policy.slug, "version": approval.policy_version},
        "status": approval.status,
        "route": approval.route,
        "route_reason": approval.route_reason,
        "stage": approval.stage,
        "assigned_group": approval.assigned_group.slug if approval.assigned_group else None,
        "assignee": approval.assignee.get_username() if approval.assignee else None,
        "due_at": iso_z(approval.due_at),
        "decision": decision_data(final) if final else None,
        "previous_id": str(approval.previous_id) if approval.previous_id else None,
        "review_url": absolute_url("inbox_detail", approval.pk),
        "created_at": iso_z(approval.created_at),
        "escalated": approval.escalated,
        "escalated_at": iso_z(approval.escalated_at),
    }


def request_detail_data(
    approval: ApprovalRequest, *, decisions: Sequence[Decision]
) -> dict[str, Any]:
    """The request object plus every decision so far, oldest first (GET /requests/{id})."""
    final = next((d for d in reversed(decisions) if d.is_final), None)
    return {
        **request_data(approval, final=final),
        "decisions": [decision_data(decision) for decision in decisions],
        "payload": approval.payload,
    }
