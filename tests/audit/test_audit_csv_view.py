"""/exports/audit.csv: login for the anonymous, 403 without `approvals.export_audit`, a streamed
CSV for managers, and a 400 naming the bad parameter (with no data) for bad input."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from approvals.models import ApprovalRequest
from tests.audit.conftest import joined, read_csv

pytestmark = pytest.mark.django_db

URL = "/exports/audit.csv"


def test_the_url_is_the_contracts() -> None:
    assert reverse("export_audit_csv") == URL


def test_anonymous_users_are_sent_to_log_in(client: Client) -> None:
    response = client.get(URL + "?policy=refund-approval")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/exports/audit.csv")


def test_a_reviewer_without_the_permission_is_refused(
    client: Client, reviewer: Any, decided_history: list[ApprovalRequest]
) -> None:
    client.force_login(reviewer)
    response = client.get(URL)
    assert response.status_code == 403
    assert b"request_id" not in response.content


def test_an_outsider_is_refused(client: Client, outsider: Any) -> None:
    client.force_login(outsider)
    assert client.get(URL).status_code == 403


def test_a_manager_downloads_the_csv(
    client: Client, manager: Any, decided_history: list[ApprovalRequest]
) -> None:
    client.force_login(manager)
    response = client.get(URL, {"since": "2000-01-01", "policy": "refund-approval"})
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="checkpoint-audit-')
    content = response.streaming_content  # type: ignore[attr-defined]
    rows = read_csv(joined(content))
    assert rows[0][0] == "request_id"
    assert [row[0] for row in rows[1:]] == [str(a.pk) for a in decided_history]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"since": "last tuesday"}, b"since='last tuesday' is not a date"),
        ({"until": "2026-02-30"}, b"until='2026-02-30' is not a date"),
        ({"since": "2026-12-01", "until": "2026-11-01"}, b"since must be before until"),
        ({"policy": "nope"}, b"Unknown policy 'nope'"),
        ({"policy": "x\x00"}, b"policy is not a valid value"),
    ],
)
def test_bad_parameters_are_a_400_without_data(
    client: Client,
    manager: Any,
    decided_history: list[ApprovalRequest],
    query: dict[str, str],
    message: bytes,
) -> None:
    client.force_login(manager)
    response = client.get(URL, query)
    assert response.status_code == 400
    assert message in response.content
    assert b"request_id" not in response.content


def test_post_is_not_allowed(client: Client, manager: Any) -> None:
    client.force_login(manager)
    assert client.post(URL).status_code == 405
