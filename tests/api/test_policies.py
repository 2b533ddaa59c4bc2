"""GET /api/v1/policies: what a caller may submit to, and how (docs/api.md "The API")."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from approvals.models import Policy
from tests.api import assert_problem
from tests.factories import make_policy

pytestmark = pytest.mark.django_db


def test_it_lists_active_policies_with_schema_and_options(
    api: Client, policy: Policy, support: Any
) -> None:
    policy.payload_schema = {"type": "object", "required": ["amount"]}
    policy.summary = "Refunds over 50 need a lead."
    policy.save()
    make_policy(slug="retired", group=support, is_active=False)

    response = api.get("/api/v1/policies")

    assert response.status_code == 200
    results = response.json()["results"]
    assert [p["slug"] for p in results] == ["refund-approval"]
    assert results[0] == {
        "slug": "refund-approval",
        "name": policy.name,
        "summary": "Refunds over 50 need a lead.",
        "version": policy.version,
        "payload_schema": {"type": "object", "required": ["amount"]},
        "options": [
            {"key": o.key, "label": o.label, "outcome": o.outcome}
            for o in policy.options.order_by("position", "id")
        ],
    }


def test_the_list_costs_the_same_for_many_policies(
    api: Client, support: Any, django_assert_max_num_queries: Any
) -> None:
    for n in range(6):
        make_policy(slug=f"p-{n}", group=support)
    api.get("/api/v1/policies")  # writes last_used_at once

    # The token, the policies, their options.
    with django_assert_max_num_queries(3):
        response = api.get("/api/v1/policies")
    assert len(response.json()["results"]) == 6


def test_anonymous_is_a_401(client: Client, policy: Policy) -> None:
    assert_problem(client.get("/api/v1/policies"), 401)


def test_a_post_is_a_405_problem(api: Client, policy: Policy) -> None:
    assert_problem(api.post("/api/v1/policies"), 405)
