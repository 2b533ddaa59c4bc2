"""Managers act on a request from its admin page: reassign, cancel, escalate now, nudge.

Each leaves an audit entry under the manager's name (and, for cancel and escalate, the outbox
event callers get); bad input is a 4xx that changes nothing; only managers may act."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from approvals.models import ApprovalRequest, AuditEntry, Notification, OutboxEvent
from approvals.services import approval_decide


def act_url(approval: ApprovalRequest) -> str:
    return reverse("admin:approvals_approvalrequest_act", args=[approval.pk])


def snapshot(approval: ApprovalRequest) -> tuple[Any, ...]:
    approval.refresh_from_db()
    return (
        approval.status,
        approval.assignee_id,
        approval.assigned_group_id,
        approval.escalation_count,
        AuditEntry.objects.count(),
        OutboxEvent.objects.count(),
        Notification.objects.count(),
    )


def test_the_change_page_offers_the_actions_to_a_manager(
    manager_client: Client, pending: ApprovalRequest
) -> None:
    page = manager_client.get(reverse("admin:approvals_approvalrequest_change", args=[pending.pk]))
    assert page.status_code == 200
    for label in ("Reassign", "Send the reminder now", "Escalate now", "Cancel the request"):
        assert label in page.content.decode()


def test_reassign_to_a_member_audits_under_the_managers_name(
    manager_client: Client, manager: Any, pending: ApprovalRequest, other_reviewer: Any
) -> None:
    to = manager_client.post(
        act_url(pending),
        {"action": "reassign", "assignee": other_reviewer.pk, "reason": "bob knows it"},
    )
    assert to.status_code == 302
    pending.refresh_from_db()
    assert pending.assignee_id == other_reviewer.pk
    entry = AuditEntry.objects.get(approval=pending, action="manager_reassigned")
    assert entry.actor == manager.username and entry.data["reason"] == "bob knows it"
    assert AuditEntry.objects.filter(approval=pending, action="assigned").exists()


def test_cancel_is_final_and_tells_the_caller(
    manager_client: Client, manager: Any, pending: ApprovalRequest
) -> None:
    assert manager_client.post(act_url(pending), {"action": "cancel"}).status_code == 302
    pending.refresh_from_db()
    assert pending.status == ApprovalRequest.Status.CANCELLED
    assert OutboxEvent.objects.filter(approval=pending, event_type="request.cancelled").count() == 1
    assert AuditEntry.objects.filter(approval=pending, action="manager_cancelled").exists()


def test_escalate_now_raises_the_count_and_tells_the_caller(
    manager_client: Client, pending: ApprovalRequest
) -> None:
    assert manager_client.post(act_url(pending), {"action": "escalate"}).status_code == 302
    pending.refresh_from_db()
    assert pending.escalated and pending.escalation_count == 1
    assert OutboxEvent.objects.filter(approval=pending, event_type="request.escalated").count() == 1
    assert AuditEntry.objects.filter(approval=pending, action="escalated", actor="maria").exists()


def test_nudge_sends_the_reminder_now_once_a_minute(
    manager_client: Client, pending: ApprovalRequest
) -> None:
    assert manager_client.post(act_url(pending), {"action": "nudge"}).status_code == 302
    assert (
        AuditEntry.objects.filter(approval=pending, action="reminded", actor="maria").count() == 1
    )
    manager_client.post(act_url(pending), {"action": "nudge"})
    assert AuditEntry.objects.filter(approval=pending, action="reminded").count() == 1


@pytest.mark.parametrize(
    "data",
    [
        {"action": "explode"},
        {},
        {"action": "reassign", "assignee": "999999"},
        {"action": "reassign", "assignee": "not-a-number"},
        {"action": "reassign", "group": "999999"},
        {"action": "cancel", "reason": "x" * 501},
    ],
)
def test_bad_input_is_a_400_and_changes_nothing(
    manager_client: Client, pending: ApprovalRequest, data: dict[str, str]
) -> None:
    before = snapshot(pending)
    response = manager_client.post(act_url(pending), data)
    assert response.status_code == 400 and b"Bad input" in response.content
    assert snapshot(pending) == before


def test_reassigning_to_a_non_member_is_refused_and_changes_nothing(
    manager_client: Client, pending: ApprovalRequest, outsider: Any
) -> None:
    before = snapshot(pending)
    response = manager_client.post(
        act_url(pending), {"action": "reassign", "assignee": outsider.pk}
    )
    assert response.status_code == 409 and b"not a member" in response.content
    assert snapshot(pending) == before


def test_acting_on_a_decided_request_is_a_409_naming_who_decided(
    manager_client: Client, pending: ApprovalRequest, reviewer: Any
) -> None:
    approval_decide(approval=pending, reviewer=reviewer, option="approve")
    before = snapshot(pending)
    response = manager_client.post(act_url(pending), {"action": "cancel"})
    assert response.status_code == 409 and b"already approved" in response.content
    assert snapshot(pending) == before


def test_staff_who_are_not_managers_get_403(
    client: Client, bare_staff: Any, pending: ApprovalRequest
) -> None:
    client.force_login(bare_staff)
    before = snapshot(pending)
    assert client.post(act_url(pending), {"action": "cancel"}).status_code == 403
    assert snapshot(pending) == before


def test_anonymous_and_non_staff_go_to_the_admin_login(
    client: Client, outsider: Any, pending: ApprovalRequest
) -> None:
    assert "/admin/login/" in client.post(act_url(pending), {"action": "cancel"})["Location"]
    client.force_login(outsider)
    assert "/admin/login/" in client.post(act_url(pending), {"action": "cancel"})["Location"]
    assert snapshot(pending)[0] == ApprovalRequest.Status.PENDING


@pytest.mark.parametrize("object_id", ["01ARZ3NDEKTSV4RRFFQ69G5FAV", str(uuid.uuid4())])
def test_an_unknown_or_malformed_request_id_is_a_404(
    manager_client: Client, object_id: str
) -> None:
    url = reverse("admin:approvals_approvalrequest_act", args=[object_id])
    assert manager_client.post(url, {"action": "cancel"}).status_code == 404


def test_get_is_not_allowed(manager_client: Client, pending: ApprovalRequest) -> None:
    assert manager_client.get(act_url(pending)).status_code == 405
