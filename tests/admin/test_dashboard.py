"""The managers' dashboard: opens for managers only, draws SVG charts from database aggregates,
gives exact percentiles, and keeps a flat query count from 1 to 50 requests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from approvals.admin.dashboard import time_to_decision
from approvals.models import ApprovalRequest, ReviewerProfile
from approvals.services import approval_decide
from tests.admin.conftest import at

pytestmark = pytest.mark.django_db

URL = "/admin/approvals/dashboard/"


def test_anonymous_users_go_to_the_admin_login(client: Client) -> None:
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_a_reviewer_who_is_not_staff_goes_to_the_admin_login(client: Client, reviewer: Any) -> None:
    client.force_login(reviewer)
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_an_outsider_goes_to_the_admin_login(client: Client, outsider: Any) -> None:
    client.force_login(outsider)
    assert client.get(URL).status_code == 302


def test_staff_without_the_managers_permissions_get_403(client: Client, bare_staff: Any) -> None:
    client.force_login(bare_staff)
    assert client.get(URL).status_code == 403
    index = client.get("/admin/")
    assert b"Managers&#x27; dashboard" not in index.content


def test_the_admin_index_links_to_the_dashboard_and_the_what_if(manager_client: Client) -> None:
    index = manager_client.get("/admin/")
    assert index.status_code == 200
    assert b'href="/admin/approvals/dashboard/"' in index.content
    assert b'href="/admin/approvals/what-if/"' in index.content


def _history(submit: Callable[..., ApprovalRequest], reviewer: Any, count: int) -> None:
    """`count` requests: auto-approved, decided by alice, and overdue ones still open."""
    for n in range(count):
        kind = n % 3
        if kind == 0:
            submit(payload={"amount": 10})
        elif kind == 1:
            approval = submit()
            approval_decide(approval=approval, reviewer=reviewer, option="approve")
        else:
            with at(timezone.now() - timedelta(days=2)):
                submit()


def test_a_manager_sees_the_charts_and_the_overdue_list(
    manager_client: Client, submit: Callable[..., ApprovalRequest], reviewer: Any
) -> None:
    _history(submit, reviewer, 6)
    ReviewerProfile.objects.create(
        user=reviewer, fatigue_flagged_at=timezone.now(), fatigue_reason="approves in 3 s"
    )
    response = manager_client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count("<svg") >= 8
    assert "Time to decision by policy" in html and "Open requests by age" in html
    assert "SLA hit rate" in html and "Auto-decided" in html
    assert "approves in 3 s" in html  # the fatigue flag
    overdue = ApprovalRequest.objects.filter(status="pending", due_at__lte=timezone.now())
    assert overdue.count() == 2
    for approval in overdue:
        assert approval.title in html
    assert 'href="/exports/audit.csv"' not in html  # the form's action, below
    assert 'action="/exports/audit.csv"' in html
    assert "<script>" not in html and ' style="' not in html  # strict CSP: no inline code


@pytest.mark.parametrize("days", ["0", "abc", "31", "-7"])
def test_a_bad_window_is_a_400(manager_client: Client, days: str) -> None:
    response = manager_client.get(URL, {"days": days})
    assert response.status_code == 400
    assert b"days must be one of 7, 30, 90" in response.content


def test_the_query_count_is_flat_from_1_to_50_requests(
    manager_client: Client, submit: Callable[..., ApprovalRequest], reviewer: Any
) -> None:
    _history(submit, reviewer, 1)
    manager_client.get(URL)  # warm the session and content types
    with CaptureQueriesContext(connection) as one:
        assert manager_client.get(URL).status_code == 200
    _history(submit, reviewer, 49)
    with CaptureQueriesContext(connection) as fifty:
        assert manager_client.get(URL).status_code == 200
    assert len(fifty) == len(one), [q["sql"][:120] for q in fifty.captured_queries]
    # 19: the headline totals (SLA, routes, human decisions) are over every policy, not the top
    # rows; one is the staff member's second-factor check (docs/security.md).
    assert len(one) <= 19, "\n".join(q["sql"][:90] for q in one.captured_queries)


def test_percentiles_are_exact_for_known_durations(
    submit: Callable[..., ApprovalRequest], reviewer: Any, other_reviewer: Any
) -> None:
    # Ten requests decided 1..10 minutes after they came in: percentile_disc gives the 5th
    # and the 9th value.
    start = timezone.now() - timedelta(hours=3)
    for minutes in range(1, 11):
        created = start + timedelta(minutes=minutes * 11)
        with at(created):
            approval = submit()
        decider = reviewer if minutes % 2 else other_reviewer
        with at(created + timedelta(minutes=minutes)):
            approval_decide(approval=approval, reviewer=decider, option="approve")
    since: datetime = start - timedelta(days=1)

    (overall,) = time_to_decision(since=since, key="-")
    assert overall.count == 10
    assert overall.median == pytest.approx(300, abs=0.5)
    assert overall.p90 == pytest.approx(540, abs=0.5)
    by_reviewer = {row.label: row for row in time_to_decision(since=since, key="decided_by_name")}
    assert by_reviewer["alice"].median == pytest.approx(300, abs=0.5)  # 1, 3, 5, 7, 9 minutes
    assert by_reviewer["bob"].median == pytest.approx(360, abs=0.5)  # 2, 4, 6, 8, 10 minutes
    (by_policy,) = time_to_decision(since=since, key="approval__policy__name")
    assert by_policy.label == "Refund Approval" and by_policy.count == 10
