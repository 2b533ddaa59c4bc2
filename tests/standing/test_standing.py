"""Standing approvals through the services (docs/agents.md): remember, use, end, revoke.

The playbook is the real `agent-tool-use`: read-only tools pass, the rest go to a supervisor.
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from approvals.audit.csv_export import ExportFilter, decision_rows
from approvals.audit.verify import audit_verify
from approvals.exceptions import ApprovalError
from approvals.models import ApprovalRequest, AuditEntry, Policy, PolicyRule, StandingApproval
from approvals.services import approval_submit
from approvals.services.standing import (
    AlreadyRevoked,
    approval_decide_and_remember,
    standing_approval_revoke,
)

pytestmark = pytest.mark.django_db


def tool_call(policy: Policy, tool: str, **input: Any) -> ApprovalRequest:
    return approval_submit(
        policy=policy,
        title=f"{tool} call",
        payload={"tool_name": tool, "input": input or {"command": "ls"}, "agent": "claude-code"},
    )


@pytest.fixture
def remembered(agent_policy: Policy, supervisor: Any) -> StandingApproval:
    first = tool_call(agent_policy, "Bash", command="make test")
    _, standing = approval_decide_and_remember(
        approval=first,
        reviewer=supervisor,
        option="approve-remember",
        fields=["tool_name"],
        duration="1h",
    )
    return standing


def test_remembering_approves_the_request_and_records_who_what_and_until_when(
    agent_policy: Policy, supervisor: Any
) -> None:
    first = tool_call(agent_policy, "Bash", command="make test")
    before = timezone.now()

    decision, standing = approval_decide_and_remember(
        approval=first,
        reviewer=supervisor,
        option="approve-remember",
        fields=["tool_name"],
        duration="1d",
    )

    first.refresh_from_db()
    assert first.status == "approved" and decision.option == "approve-remember"
    assert standing.conditions == {"tool_name": "Bash"}
    assert standing.created_by == supervisor and standing.source_request == first
    assert (
        timedelta(hours=23, minutes=59) < standing.ends_at - before <= timedelta(days=1, seconds=5)
    )
    entry = AuditEntry.objects.get(action="standing_approval_created")
    assert entry.approval == first and entry.actor == "sam"
    assert entry.data["conditions"] == {"tool_name": "Bash"}


def test_the_next_bash_call_is_approved_at_once_naming_the_standing_approval(
    remembered: StandingApproval,
) -> None:
    second = tool_call(remembered.policy, "Bash", command="rm build/")

    assert second.status == "approved" and second.route == "auto"
    until = remembered.ends_at.strftime("%Y-%m-%d %H:%M UTC")
    assert second.route_reason == (
        f"Approved by standing approval #{remembered.pk} of sam (tool_name = 'Bash'), "
        f"active until {until}."
    )
    decision = second.decisions.get()
    assert (decision.channel, decision.decided_by_name) == ("auto", "policy")
    assert decision.rule == f"standing approval #{remembered.pk}"
    routed = AuditEntry.objects.get(approval=second, action="routed")
    assert routed.data["standing_approval"] == remembered.pk


def test_a_different_tool_still_goes_to_a_person(remembered: StandingApproval) -> None:
    other = tool_call(remembered.policy, "Write", file_path="/etc/hosts")
    assert other.status == "pending" and other.route == "human"


def test_after_revocation_or_the_end_time_it_goes_to_a_person_again(
    remembered: StandingApproval, manager: Any
) -> None:
    standing_approval_revoke(standing=remembered, actor=manager)
    assert tool_call(remembered.policy, "Bash").status == "pending"

    other = StandingApproval.objects.create(
        policy=remembered.policy,
        source_request=remembered.source_request,
        conditions={"tool_name": "Bash"},
        created_by=remembered.created_by,
        ends_at=timezone.now() - timedelta(seconds=1),
    )
    assert other.is_active() is False
    assert tool_call(remembered.policy, "Bash").status == "pending"


def test_revoking_is_on_the_audit_trail_and_twice_is_a_polite_409(
    remembered: StandingApproval, manager: Any
) -> None:
    standing_approval_revoke(standing=remembered, actor=manager)

    remembered.refresh_from_db()
    assert remembered.revoked_by == manager and remembered.revoked_at is not None
    entry = AuditEntry.objects.get(action="standing_approval_revoked")
    assert entry.actor == "maria" and entry.approval == remembered.source_request
    with pytest.raises(AlreadyRevoked):
        standing_approval_revoke(standing=remembered, actor=manager)
    assert AuditEntry.objects.filter(action="standing_approval_revoked").count() == 1


def test_an_auto_reject_rule_still_rejects(remembered: StandingApproval) -> None:
    PolicyRule.objects.create(
        policy=remembered.policy,
        position=0,
        name="Never rm -rf",
        condition={"field": "input.command", "op": "contains", "value": "rm -rf"},
        action="reject",
    )
    rejected = tool_call(remembered.policy, "Bash", command="rm -rf /")
    assert rejected.status == "rejected" and rejected.matched_rule == "Never rm -rf"


def test_creating_and_using_are_in_the_csv_and_the_chain_holds(
    remembered: StandingApproval, manager: Any
) -> None:
    second = tool_call(remembered.policy, "Bash", command="ls")
    standing_approval_revoke(standing=remembered, actor=manager)

    out = io.StringIO()
    csv.writer(out).writerows(decision_rows(ExportFilter()))
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    by_request = {row["request_id"]: row for row in rows}
    created = by_request[str(remembered.source_request_id)]
    used = by_request[str(second.pk)]
    assert (created["option"], created["decided_by"]) == ("approve-remember", "sam")
    assert (
        used["channel"] == "auto"
        and f"standing approval #{remembered.pk} of sam" in used["comment"]
    )
    assert audit_verify().ok


@pytest.mark.parametrize(
    ("option", "fields", "duration", "field"),
    [
        ("approve", ["tool_name"], "1h", "option"),
        ("approve-remember", [], "1h", "remember_fields"),
        ("approve-remember", ["secret"], "1h", "remember_fields"),
        ("approve-remember", ["tool_name"], "2h", "remember_for"),
    ],
)
def test_bad_remember_input_is_refused_and_changes_nothing(
    agent_policy: Policy, supervisor: Any, option: str, fields: list[str], duration: str, field: str
) -> None:
    pending = tool_call(agent_policy, "Bash")

    with pytest.raises(ApprovalError) as caught:
        approval_decide_and_remember(
            approval=pending, reviewer=supervisor, option=option, fields=fields, duration=duration
        )

    assert caught.value.field == field and caught.value.status_code == 422
    pending.refresh_from_db()
    assert pending.status == "pending" and not StandingApproval.objects.exists()
    assert not pending.decisions.exists()


def test_an_outsider_cannot_remember(agent_policy: Policy, outsider: Any) -> None:
    pending = tool_call(agent_policy, "Bash")
    with pytest.raises(ApprovalError):
        approval_decide_and_remember(
            approval=pending,
            reviewer=outsider,
            option="approve-remember",
            fields=["tool_name"],
            duration="1h",
        )
    assert not StandingApproval.objects.exists()
