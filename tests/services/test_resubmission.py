"""The request-changes loop (issue 13, item 7): a resubmission goes back to the reviewer who
asked for the changes when they can take it, and no rule or standing approval decides it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from approvals.models import ApprovalRequest, AuditEntry, Membership, ReviewerGroup
from approvals.services import approval_decide
from tests.factories import MembershipFactory, RuleFactory, UserFactory

pytestmark = pytest.mark.django_db

Status = ApprovalRequest.Status
Submit = Callable[..., ApprovalRequest]


@pytest.fixture
def rotation(support: ReviewerGroup, reviewer: Any, other_reviewer: Any) -> list[Any]:
    """support as round robin with alice, bob and carol."""
    support.strategy = ReviewerGroup.Strategy.ROUND_ROBIN
    support.save()
    carol = UserFactory.create(username="carol")
    MembershipFactory.create(group=support, user=carol)
    return [reviewer, other_reviewer, carol]


def _changes_requested(submit: Submit, asker: Any, **kwargs: Any) -> ApprovalRequest:
    first = submit(external_id="ticket-1", **kwargs)
    first.assignee = asker  # as if the rotation had picked the asker
    approval_decide(
        approval=first, reviewer=asker, option="request_changes", comment="Attach the receipt."
    )
    first.refresh_from_db()
    assert first.status == Status.CHANGES_REQUESTED
    return first


def _resubmit(submit: Submit, first: ApprovalRequest, amount: float = 120.0) -> ApprovalRequest:
    return submit(
        external_id="ticket-1",
        title="Refund with receipt",
        payload={"amount": amount, "currency": "USD", "customer": "acme"},
        previous=first,
    )


def test_a_resubmission_goes_back_to_the_reviewer_who_asked(
    submit: Submit, rotation: list[Any]
) -> None:
    _, bob, _ = rotation
    first = _changes_requested(submit, bob)
    for _ in range(2):  # move the rotation on: bob would not be next
        submit()

    second = _resubmit(submit, first)

    assert second.assignee_id == bob.pk and second.status == Status.PENDING
    assigned = AuditEntry.objects.get(approval=second, action="assigned")
    assert assigned.data["assignee"] == "bob" and assigned.data["returned_to_asker"] is True


def test_a_pull_group_resubmission_is_assigned_to_the_asker(
    submit: Submit, reviewer: Any, other_reviewer: Any
) -> None:
    first = _changes_requested(submit, other_reviewer)

    second = _resubmit(submit, first)

    assert second.assignee_id == other_reviewer.pk


def test_an_away_asker_leaves_it_to_normal_routing(submit: Submit, rotation: list[Any]) -> None:
    _, bob, _ = rotation
    first = _changes_requested(submit, bob)
    Membership.objects.filter(user=bob).update(away=True)

    second = _resubmit(submit, first)

    assert second.assignee_id not in (None, bob.pk)
    assert (
        "returned_to_asker" not in AuditEntry.objects.get(approval=second, action="assigned").data
    )


def test_an_asker_who_left_the_group_leaves_it_to_normal_routing(
    submit: Submit, rotation: list[Any]
) -> None:
    _, bob, _ = rotation
    first = _changes_requested(submit, bob)
    Membership.objects.filter(user=bob).delete()

    second = _resubmit(submit, first)

    assert second.assignee_id not in (None, bob.pk)


def test_a_lower_resubmitted_amount_is_not_auto_approved(
    submit: Submit, rotation: list[Any]
) -> None:
    _, bob, _ = rotation
    first = _changes_requested(submit, bob)

    second = _resubmit(submit, first, amount=10)  # under the auto-approve threshold of 50

    assert (second.status, second.route, second.assignee_id) == (Status.PENDING, "human", bob.pk)
    assert not second.decisions.exists()
    assert "would have approved" in second.route_reason


def test_an_auto_reject_rule_does_not_decide_a_resubmission_either(
    submit: Submit, policy: Any, rotation: list[Any]
) -> None:
    _, bob, _ = rotation
    first = _changes_requested(submit, bob)
    policy.rules.all().delete()
    RuleFactory.create(
        policy=policy,
        position=1,
        name="too big",
        action="reject",
        condition={"field": "amount", "op": "gt", "value": 100},
    )

    second = _resubmit(submit, first, amount=500)

    assert (second.status, second.assignee_id) == (Status.PENDING, bob.pk)
    assert "would have rejected" in second.route_reason


def test_a_first_submission_still_follows_the_rules(submit: Submit, rotation: list[Any]) -> None:
    approval = submit(payload={"amount": 10})
    assert approval.status == Status.APPROVED


def test_a_resubmission_costs_one_query_more_than_an_intake(
    submit: Submit, rotation: list[Any], settings: Any
) -> None:
    settings.AUDIT_SEAL_INLINE = False
    _, bob, _ = rotation
    first = _changes_requested(submit, bob)
    submit()  # the policy's specs are cached
    with CaptureQueriesContext(connection) as plain:
        submit()
    with CaptureQueriesContext(connection) as resubmitted:
        _resubmit(submit, first)
    # + who asked (one SELECT); the asker is picked by the same single UPDATE as any member.
    assert len(resubmitted.captured_queries) == len(plain.captured_queries) + 1
