"""Reads of standing approvals: the plain values the pure router matches, and the admin's list."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from approvals import routing
from approvals.models import ApprovalRequest, Policy, StandingApproval


def policy_standing_specs(*, policy: Policy, at: datetime) -> list[routing.StandingSpec]:
    """The policy's standing approvals active at `at`, oldest first (one query, on the
    `standing_active` index)."""
    rows = (
        StandingApproval.objects.filter(policy=policy, revoked_at__isnull=True, ends_at__gt=at)
        .order_by("created_at", "id")
        .values_list("id", "conditions", "created_by__username", "ends_at")
    )
    return [
        routing.StandingSpec(id=pk, conditions=conditions, author=author, ends_at=ends_at)
        for pk, conditions, author, ends_at in rows
    ]


def remember_field_choices(approval: ApprovalRequest) -> list[tuple[str, Any]]:
    """The visible payload fields a standing approval may match on, with this request's values.

    Only top-level fields present in the payload: a condition on a missing field could never
    match, and a field the policy hides is never shown or matched on.
    """
    names = approval.policy.visible_fields or list(approval.payload)
    return [
        (str(name), approval.payload[name])
        for name in names
        if isinstance(name, str) and name in approval.payload
    ]
