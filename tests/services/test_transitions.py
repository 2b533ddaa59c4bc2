"""The status table and the services that must obey it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from approvals.exceptions import ApprovalError
from approvals.models import ApprovalRequest
from approvals.services import (
    approval_assign,
    approval_cancel,
    approval_claim,
    approval_decide,
    approval_escalate,
    approval_expire,
    approval_release,
)

Status = ApprovalRequest.Status
FINAL = [
    Status.APPROVED,
    Status.REJECTED,
    Status.CHANGES_REQUESTED,
    Status.EXPIRED,
    Status.CANCELLED,
]
ALL_MOVES = [(source, target) for source in Status.values for target in Status.values]


def test_the_table_covers_every_status() -> None:
    assert set(ApprovalRequest.TRANSITIONS) == set(Status.values)


@pytest.mark.parametrize(("source", "target"), ALL_MOVES)
def test_only_pending_moves_to_another_status(source: str, target: str) -> None:
    approval = ApprovalRequest(status=source)
    legal = source == Status.PENDING and target != Status.PENDING
    assert approval.can_move_to(target) is legal


@pytest.mark.parametrize("status", FINAL)
def test_final_statuses_go_nowhere(status: str) -> None:
    approval = ApprovalRequest(status=status)
    assert approval.is_final
    assert not any(approval.can_move_to(target) for target in Status.values)


def _finish_as(status: str, approval: ApprovalRequest, reviewer: Any) -> ApprovalRequest:
    """Bring a pending request to `status` through the services, as production would."""
    if status == Status.APPROVED:
        approval_decide(approval=approval, reviewer=reviewer, option="approve")
    elif status == Status.REJECTED:
        approval_decide(approval=approval, reviewer=reviewer, option="reject")
    elif status == Status.CHANGES_REQUESTED:
        approval_decide(
            approval=approval, reviewer=reviewer, option="request_changes", comment="Add the order."
        )
    elif status == Status.EXPIRED:
        approval_expire(approval=approval)
    else:
        approval_cancel(approval=approval)
    approval.refresh_from_db()
    assert approval.status == status
    return approval


@pytest.mark.parametrize("status", FINAL)
def test_services_refuse_every_move_out_of_a_final_status(
    status: str,
    pending: ApprovalRequest,
    reviewer: Any,
    other_reviewer: Any,
    submit: Callable[..., Any],
) -> None:
    approval = _finish_as(status, pending, reviewer)
    decisions = approval.decisions.count()
    attempts: list[Callable[[], Any]] = [
        lambda: approval_decide(approval=approval, reviewer=other_reviewer, option="approve"),
        lambda: approval_decide(approval=approval, reviewer=other_reviewer, option="reject"),
        lambda: approval_decide(
            approval=approval, reviewer=other_reviewer, option="request_changes", comment="x"
        ),
        lambda: approval_cancel(approval=approval),
        lambda: approval_expire(approval=approval),
        lambda: approval_escalate(approval=approval),
        lambda: approval_assign(approval=approval, assignee=other_reviewer),
        lambda: approval_claim(approval=approval, reviewer=other_reviewer),
        lambda: approval_release(approval=approval, reviewer=reviewer),
    ]
    for attempt in attempts:
        with pytest.raises(ApprovalError):
            attempt()
        approval.refresh_from_db()
        assert approval.status == status
    assert approval.decisions.count() == decisions
