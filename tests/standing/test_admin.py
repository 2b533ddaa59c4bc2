"""Managers see, filter and revoke standing approvals in the admin (docs/agents.md)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from approvals.models import AuditEntry, Policy, StandingApproval
from approvals.services import approval_submit
from approvals.services.standing import approval_decide_and_remember

pytestmark = pytest.mark.django_db

URL = "/admin/approvals/standingapproval/"


@pytest.fixture
def standing(agent_policy: Policy, supervisor: Any) -> StandingApproval:
    call = approval_submit(
        policy=agent_policy, title="Bash", payload={"tool_name": "Bash", "input": {}}
    )
    return approval_decide_and_remember(
        approval=call,
        reviewer=supervisor,
        option="approve-remember",
        fields=["tool_name"],
        duration="1h",
    )[1]


@pytest.fixture
def maria(client: Client, manager: Any) -> Client:
    client.force_login(manager)
    return client


def test_managers_list_and_filter_them(maria: Client, standing: StandingApproval) -> None:
    page = maria.get(URL).content.decode()
    assert "tool_name = &#x27;Bash&#x27;" in page and "active" in page

    assert (
        f"Standing approval #{standing.pk}" in maria.get(URL, {"state": "active"}).content.decode()
    )
    assert (
        f"Standing approval #{standing.pk}"
        not in maria.get(URL, {"state": "revoked"}).content.decode()
    )
    assert maria.get(f"{URL}{standing.pk}/change/").status_code == 200


def test_the_revoke_action_goes_through_the_service(
    maria: Client, standing: StandingApproval
) -> None:
    response = maria.post(URL, {"action": "revoke", "_selected_action": [standing.pk]}, follow=True)

    assert "Revoked 1 standing approval" in response.content.decode()
    standing.refresh_from_db()
    assert standing.revoked_by is not None and standing.revoked_by.username == "maria"
    assert AuditEntry.objects.filter(action="standing_approval_revoked").count() == 1
    assert (
        f"Standing approval #{standing.pk}" in maria.get(URL, {"state": "revoked"}).content.decode()
    )


def test_nobody_adds_or_deletes_one_here(maria: Client, standing: StandingApproval) -> None:
    assert maria.get(f"{URL}add/").status_code == 403
    assert maria.get(f"{URL}{standing.pk}/delete/").status_code == 403


def test_a_reviewer_is_sent_to_the_admin_login(
    client: Client, supervisor: Any, standing: StandingApproval
) -> None:
    client.force_login(supervisor)
    response = client.get(URL)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_anonymous_is_sent_to_the_admin_login(client: Client, standing: StandingApproval) -> None:
    response = client.get(URL)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
