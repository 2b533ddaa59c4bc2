"""The inbox's "Approve and remember" (docs/agents.md): the form asks which visible fields must
match (tool_name ticked for agent-tool-use) and for how long; POST creates the standing approval."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from approvals.models import ApprovalRequest, Policy, StandingApproval
from approvals.services import approval_submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def bash_call(agent_policy: Policy) -> ApprovalRequest:
    return approval_submit(
        policy=agent_policy,
        title="Bash: make test",
        payload={"tool_name": "Bash", "input": {"command": "make test"}, "agent": "claude-code"},
    )


@pytest.fixture
def sam(client: Client, supervisor: Any) -> Client:
    client.force_login(supervisor)
    return client


def test_the_form_offers_the_visible_fields_with_tool_name_ticked_and_three_durations(
    sam: Client, bash_call: ApprovalRequest
) -> None:
    html = sam.get(f"/inbox/{bash_call.pk}/").content.decode()

    assert 'name="remember_fields" value="tool_name" checked' in html
    assert 'name="remember_fields" value="input">' in html
    assert 'name="remember_fields" value="agent">' in html
    assert '<option value="1h" selected>1 hour</option>' in html
    assert ">1 day</option>" in html and ">7 days</option>" in html
    assert ">Approve and remember</button>" in html


def test_a_policy_without_a_remember_option_shows_no_remember_box(
    client: Client, reviewer: Any, pending: ApprovalRequest
) -> None:
    client.force_login(reviewer)
    assert b"remember_fields" not in client.get(f"/inbox/{pending.pk}/").content


def test_remembering_approves_and_the_next_bash_call_passes(
    sam: Client, bash_call: ApprovalRequest, agent_policy: Policy
) -> None:
    response = sam.post(
        f"/inbox/{bash_call.pk}/decide",
        {"option": "approve-remember", "remember_fields": ["tool_name"], "remember_for": "7d"},
    )

    assert response.status_code == 302
    standing = StandingApproval.objects.get()
    assert standing.conditions == {"tool_name": "Bash"} and standing.created_by.username == "sam"
    bash_call.refresh_from_db()
    assert bash_call.status == "approved"
    page = sam.get(f"/inbox/{bash_call.pk}/").content.decode()
    assert "Remembered" in page  # the timeline
    second = approval_submit(
        policy=agent_policy, title="Bash: ls", payload={"tool_name": "Bash", "input": {}}
    )
    assert second.status == "approved" and "standing approval" in second.route_reason


@pytest.mark.parametrize(
    "data",
    [
        {"option": "approve-remember", "remember_for": "1h"},  # nothing ticked
        {"option": "approve-remember", "remember_fields": ["tool_name"], "remember_for": "1y"},
        {"option": "approve-remember", "remember_fields": ["secret"], "remember_for": "1h"},
    ],
)
def test_bad_remember_input_is_a_422_that_keeps_the_ticks_and_changes_nothing(
    sam: Client, bash_call: ApprovalRequest, data: dict[str, Any]
) -> None:
    response = sam.post(f"/inbox/{bash_call.pk}/decide", data)

    assert response.status_code == 422
    assert b'role="alert"' in response.content
    bash_call.refresh_from_db()
    assert bash_call.status == "pending" and not StandingApproval.objects.exists()


def test_an_outsider_gets_a_404_and_changes_nothing(
    client: Client, outsider: Any, bash_call: ApprovalRequest
) -> None:
    client.force_login(outsider)
    response = client.post(
        f"/inbox/{bash_call.pk}/decide",
        {"option": "approve-remember", "remember_fields": ["tool_name"], "remember_for": "1h"},
    )
    assert response.status_code == 404 and not StandingApproval.objects.exists()


def test_anonymous_is_sent_to_sign_in(client: Client, bash_call: ApprovalRequest) -> None:
    response = client.post(f"/inbox/{bash_call.pk}/decide", {"option": "approve-remember"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not StandingApproval.objects.exists()
