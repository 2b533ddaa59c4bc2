"""Rules the services define once for every channel: four eyes, "already decided", queuing."""

from __future__ import annotations

from datetime import UTC
from typing import Any

import pytest
from django.db import transaction

from approvals.models import ApprovalRequest
from approvals.routing import condition_problem
from approvals.services import approval_decide
from approvals.services.after_commit import enqueue_after_commit
from approvals.services.approvals import already_decided, is_requester


@pytest.mark.parametrize(
    ("requested_by", "expected"),
    [
        ("alice", True),
        ("ALICE@example.com", True),
        ("  Alice ", True),
        ("bob", False),
        ("", False),
    ],
)
def test_the_requester_is_named_by_username_or_email_in_any_case(
    reviewer: Any, requested_by: str, expected: bool
) -> None:
    assert is_requester(ApprovalRequest(requested_by=requested_by), reviewer) is expected


def test_already_decided_names_who_finished_it_and_when(
    pending: ApprovalRequest, reviewer: Any
) -> None:
    decision = approval_decide(approval=pending, reviewer=reviewer, option="approve")
    pending.refresh_from_db()
    error = already_decided(pending)
    stamp = decision.decided_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M")  # TIME_ZONE is UTC
    assert error.message == f"Already decided by alice at {stamp} (approved)."
    assert (error.decided_by, error.decided_at) == ("alice", decision.decided_at)


def test_a_malformed_condition_is_named_and_a_good_one_passes() -> None:
    assert condition_problem("amount < 80") == "Invalid condition: a condition must be an object"
    assert condition_problem({"field": "amount", "op": "lt", "value": 80}) is None


def test_work_is_queued_only_when_the_transaction_commits(
    db: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as queued:
        enqueue_after_commit("distribute_work")
    assert len(queued) == 1
    with django_capture_on_commit_callbacks(execute=False) as queued:
        try:
            with transaction.atomic():
                enqueue_after_commit("distribute_work")
                raise RuntimeError("roll back")
        except RuntimeError:
            pass
    assert queued == []
