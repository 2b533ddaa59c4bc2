"""POST /api/v1/requests/{id}/cancel: the caller withdraws a pending request."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from approvals.models import ApprovalRequest, OutboxEvent
from approvals.services import approval_decide
from tests.api import assert_problem

pytestmark = pytest.mark.django_db


def test_it_cancels_a_pending_request_and_returns_it(api: Client, pending: ApprovalRequest) -> None:
    response = api.post(f"/api/v1/requests/{pending.pk}/cancel")

    assert response.status_code == 200
    data = response.json()
    assert data["id"] == str(pending.pk) and data["status"] == "cancelled"
    assert data["decision"] is None
    pending.refresh_from_db()
    assert pending.status == "cancelled"
    assert OutboxEvent.objects.filter(approval=pending, event_type="request.cancelled").exists()


def test_cancelling_twice_is_409(api: Client, pending: ApprovalRequest) -> None:
    api.post(f"/api/v1/requests/{pending.pk}/cancel")

    problem = assert_problem(api.post(f"/api/v1/requests/{pending.pk}/cancel"), 409)

    assert "cancelled" in problem["detail"]
    assert OutboxEvent.objects.filter(event_type="request.cancelled").count() == 1


def test_cancelling_a_decided_request_is_409_and_changes_nothing(
    api: Client, pending: ApprovalRequest, reviewer: Any
) -> None:
    approval_decide(approval=pending, reviewer=reviewer, option="approve")

    assert_problem(api.post(f"/api/v1/requests/{pending.pk}/cancel"), 409)
    assert ApprovalRequest.objects.get().status == "approved"


@pytest.mark.parametrize("request_id", ["00000000-0000-7000-8000-000000000000", "nope"])
def test_an_unknown_request_is_404(api: Client, request_id: str) -> None:
    assert_problem(api.post(f"/api/v1/requests/{request_id}/cancel"), 404)


def test_get_is_not_allowed(api: Client, pending: ApprovalRequest) -> None:
    problem = assert_problem(api.get(f"/api/v1/requests/{pending.pk}/cancel"), 405)

    assert "POST" in problem["detail"]


def test_it_needs_a_token(client: Client, pending: ApprovalRequest) -> None:
    assert_problem(client.post(f"/api/v1/requests/{pending.pk}/cancel"), 401)
    assert ApprovalRequest.objects.get().status == "pending"


def test_a_reviewers_session_is_not_a_token(
    client: Client, outsider: Any, pending: ApprovalRequest
) -> None:
    client.force_login(outsider)

    assert_problem(client.post(f"/api/v1/requests/{pending.pk}/cancel"), 401)
    assert ApprovalRequest.objects.get().status == "pending"
