"""GET /api/v1/requests/{id} with ETag / If-None-Match: cheap polling (docs/api.md "The API")."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from approvals.models import ApprovalRequest
from approvals.services import approval_decide, approval_escalate
from tests.api import assert_problem

pytestmark = pytest.mark.django_db


def test_an_unchanged_request_is_a_304_costing_one_query_beyond_the_token(
    api: Client, pending: ApprovalRequest, django_assert_num_queries: Any
) -> None:
    first = api.get(f"/api/v1/requests/{pending.pk}")
    etag = first["ETag"]
    assert first.status_code == 200 and etag.startswith('"')

    # The token lookup (last_used_at was written by the first call) and the ETag's own query.
    with django_assert_num_queries(2):
        again = api.get(f"/api/v1/requests/{pending.pk}", headers={"If-None-Match": etag})

    assert again.status_code == 304 and again.content == b""
    assert again["ETag"] == etag


def test_a_decision_changes_the_etag_so_the_poller_gets_the_new_state(
    api: Client, pending: ApprovalRequest, reviewer: Any
) -> None:
    etag = api.get(f"/api/v1/requests/{pending.pk}")["ETag"]
    approval_decide(approval=pending, reviewer=reviewer, option="approve")

    response = api.get(f"/api/v1/requests/{pending.pk}", headers={"If-None-Match": etag})

    assert response.status_code == 200
    assert response["ETag"] != etag and response.json()["status"] == "approved"


def test_an_escalation_changes_the_etag_and_shows_in_the_object(
    api: Client, pending: ApprovalRequest
) -> None:
    etag = api.get(f"/api/v1/requests/{pending.pk}")["ETag"]
    approval_escalate(approval=pending)

    response = api.get(f"/api/v1/requests/{pending.pk}", headers={"If-None-Match": etag})

    data = response.json()
    assert response.status_code == 200 and data["escalated"] is True
    assert data["escalated_at"].endswith("Z")


def test_a_stale_or_foreign_etag_gets_the_whole_object(
    api: Client, pending: ApprovalRequest
) -> None:
    for tag in ('"nope"', "garbage", '"1", "2"'):
        response = api.get(f"/api/v1/requests/{pending.pk}", headers={"If-None-Match": tag})
        assert response.status_code == 200, tag


def test_if_none_match_on_an_unknown_id_is_still_a_404(api: Client, db: Any) -> None:
    for pk in ("0190f000-0000-7000-8000-000000000000", "not-a-uuid"):
        response = api.get(f"/api/v1/requests/{pk}", headers={"If-None-Match": '"x"'})
        assert_problem(response, 404)


def test_anonymous_if_none_match_is_a_401(client: Client, pending: ApprovalRequest) -> None:
    response = client.get(f"/api/v1/requests/{pending.pk}", headers={"If-None-Match": "*"})
    assert_problem(response, 401)
