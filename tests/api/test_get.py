"""GET /api/v1/requests/{id}: the request with every decision, oldest first."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from approvals.models import ApprovalRequest, Policy
from approvals.services import approval_decide
from approvals.services.policies import policy_bump_version
from tests.api import assert_problem

pytestmark = pytest.mark.django_db


def test_it_shows_the_request_and_its_decisions_oldest_first(
    api: Client, pending: ApprovalRequest, reviewer: Any, other_reviewer: Any, policy: Policy
) -> None:
    policy.stages.update(quorum="count", quorum_count=2)
    pending.stage_plan[0]["quorum"] = "count"
    pending.stage_plan[0]["quorum_count"] = 2
    pending.save()
    approval_decide(approval=pending, reviewer=reviewer, option="approve", comment="fine")
    approval_decide(approval=pending, reviewer=other_reviewer, option="approve")

    data = api.get(f"/api/v1/requests/{pending.pk}").json()

    assert data["id"] == str(pending.pk) and data["status"] == "approved"
    assert [d["decided_by"] for d in data["decisions"]] == ["alice", "bob"]
    first = data["decisions"][0]
    assert first == {
        "stage": 1,
        "outcome": "approve",
        "option": "approve",
        "value": None,
        "comment": "fine",
        "decided_by": "alice",
        "channel": "web",
        "decided_at": first["decided_at"],
        "payload_changes": {},
        "rule": None,
        "policy_version": policy.version,
    }
    assert data["decision"] == data["decisions"][-1]


def test_an_auto_decision_shows_its_rule_and_policy_version(
    api: Client, submit: Callable[..., ApprovalRequest], policy: Policy
) -> None:
    approval = submit(payload={"amount": 10})

    data = api.get(f"/api/v1/requests/{approval.pk}").json()

    (decision,) = data["decisions"]
    assert (decision["channel"], decision["decided_by"]) == ("auto", "policy")
    assert (decision["rule"], decision["policy_version"]) == ("small amounts", policy.version)
    assert (
        data["route"] == "auto" and data["route_reason"] == "Auto-approved by rule 'small amounts'."
    )


def test_a_request_keeps_the_policy_version_it_was_routed_under(
    api: Client, pending: ApprovalRequest, policy: Policy
) -> None:
    routed_under = policy.version
    policy_bump_version(policy=policy)

    data = api.get(f"/api/v1/requests/{pending.pk}").json()

    assert data["policy"] == {"slug": "refund-approval", "version": routed_under}
    assert Policy.objects.get().version == routed_under + 1


def test_a_pending_request_has_no_decisions(api: Client, pending: ApprovalRequest) -> None:
    data = api.get(f"/api/v1/requests/{pending.pk}").json()

    assert data["decisions"] == [] and data["decision"] is None


@pytest.mark.parametrize(
    "request_id",
    ["00000000-0000-7000-8000-000000000000", "not-a-uuid", "1", "%00", "x" * 300],
    ids=["unknown", "malformed", "number", "nul", "long"],
)
def test_an_unknown_or_malformed_id_is_404(api: Client, request_id: str) -> None:
    assert_problem(api.get(f"/api/v1/requests/{request_id}"), 404)


def test_it_needs_a_token(client: Client, pending: ApprovalRequest) -> None:
    assert_problem(client.get(f"/api/v1/requests/{pending.pk}"), 401)


def test_a_reviewers_session_is_not_a_token(
    client: Client, outsider: Any, pending: ApprovalRequest
) -> None:
    client.force_login(outsider)

    assert_problem(client.get(f"/api/v1/requests/{pending.pk}"), 401)
