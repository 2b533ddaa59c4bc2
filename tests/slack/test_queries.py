"""The click is Slack's 3-second hot path: its query count does not grow with the group."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext

from approvals.models import ApprovalRequest
from approvals.slack.delivery import slack_user_id
from tests.factories import MembershipFactory, UserFactory
from tests.fixtures.slack import FakeSlack
from tests.slack.conftest import click_payload, send


def _click_queries(client: Any, approval: ApprovalRequest) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = send(client, click_payload(approval, "approve"))
    assert response.status_code == 200
    return len(queries)


def test_an_approve_click_costs_the_same_queries_in_a_small_and_a_large_group(
    slack: FakeSlack, support: Any, reviewer: Any, submit: Any, client: Any
) -> None:
    slack_user_id(reviewer)
    send(client, {"type": "view_closed", "user": {"id": "UALICE"}})  # warm the URL map
    small = _click_queries(client, submit())
    for n in range(25):
        MembershipFactory.create(group=support, user=UserFactory.create(username=f"member{n}"))
    large = _click_queries(client, submit())
    assert small == large
