from __future__ import annotations

from typing import Any

import pytest

from approvals.exceptions import AlreadyDecided, AlreadyVoted, InvalidDecision, NotAllowed
from approvals.models import ApprovalRequest, AuditEntry, Decision, OutboxEvent
from approvals.services import approval_decide

Status = ApprovalRequest.Status


def test_a_small_refund_is_auto_approved_with_its_reason(submit: Any) -> None:
    approval = submit(payload={"amount": 10})
    assert approval.route == "auto"
    assert approval.status == Status.APPROVED
    decision = approval.decisions.get()
    assert (decision.channel, decision.decided_by_name, decision.rule) == (
        "auto",
        "policy",
        "small amounts",
    )
    assert approval.events.get().event_type == "request.decided"


def test_a_large_refund_waits_for_the_support_group(pending: ApprovalRequest) -> None:
    assert pending.route == "human"
    assert pending.status == Status.PENDING
    assert pending.stage == 1
    assert pending.assigned_group is not None
    assert pending.assigned_group.slug == "support-leads"
    assert pending.due_at is not None


def test_it_records_one_decision_and_one_event(pending: ApprovalRequest, reviewer: Any) -> None:
    decision = approval_decide(approval=pending, reviewer=reviewer, option="approve", comment="ok")
    pending.refresh_from_db()
    assert pending.status == Status.APPROVED
    assert decision.is_final and decision.entry_hash
    assert OutboxEvent.objects.filter(approval=pending, event_type="request.decided").count() == 1
    assert AuditEntry.objects.filter(approval=pending, action="decided").count() == 1


def test_the_second_decider_is_told_who_got_there_first(
    pending: ApprovalRequest, reviewer: Any, other_reviewer: Any
) -> None:
    approval_decide(approval=pending, reviewer=reviewer, option="approve")
    with pytest.raises(AlreadyDecided, match=r"(?i)already decided by alice at"):
        approval_decide(approval=pending, reviewer=other_reviewer, option="reject")
    assert Decision.objects.filter(approval=pending).count() == 1


def test_an_outsider_cannot_decide(pending: ApprovalRequest, outsider: Any) -> None:
    with pytest.raises(NotAllowed):
        approval_decide(approval=pending, reviewer=outsider, option="approve")
    assert not pending.decisions.exists()


def test_request_changes_needs_a_comment(pending: ApprovalRequest, reviewer: Any) -> None:
    with pytest.raises(InvalidDecision, match="needs a comment"):
        approval_decide(approval=pending, reviewer=reviewer, option="request_changes")
    pending.refresh_from_db()
    assert pending.status == Status.PENDING


def test_the_requester_cannot_approve_their_own_request(submit: Any, reviewer: Any) -> None:
    approval = submit(requested_by="ALICE@example.com")
    with pytest.raises(NotAllowed, match="someone else"):
        approval_decide(approval=approval, reviewer=reviewer, option="approve")


def test_quorum_of_two_needs_two_votes(
    pending: ApprovalRequest, reviewer: Any, other_reviewer: Any
) -> None:
    ApprovalRequest.objects.filter(pk=pending.pk).update(
        stage_plan=[{**pending.stage_plan[0], "quorum": "count", "quorum_count": 2}]
    )
    first = approval_decide(approval=pending, reviewer=reviewer, option="approve")
    pending.refresh_from_db()
    assert pending.status == Status.PENDING and not first.is_final
    with pytest.raises(AlreadyVoted):
        approval_decide(approval=pending, reviewer=reviewer, option="approve")
    approval_decide(approval=pending, reviewer=other_reviewer, option="approve")
    pending.refresh_from_db()
    assert pending.status == Status.APPROVED
