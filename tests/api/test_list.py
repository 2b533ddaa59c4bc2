"""GET /api/v1/requests: newest first, filters, an opaque keyset cursor, flat query count."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from approvals.models import ApprovalRequest, Policy, ReviewerGroup
from tests.api import assert_problem
from tests.factories import make_policy

pytestmark = pytest.mark.django_db

Submit = Callable[..., ApprovalRequest]


def _ids(response: Any) -> list[str]:
    return [row["id"] for row in response.json()["results"]]


def test_it_lists_newest_first_with_the_request_objects(api: Client, submit: Submit) -> None:
    older = submit()
    newer = submit(payload={"amount": 5})

    data = api.get("/api/v1/requests").json()

    assert [row["id"] for row in data["results"]] == [str(newer.pk), str(older.pk)]
    assert data["next"] is None
    assert data["results"][0]["decision"]["channel"] == "auto"
    assert data["results"][1]["decision"] is None
    assert "decisions" not in data["results"][0]


def test_the_cursor_walks_every_row_once(api: Client, submit: Submit) -> None:
    made = [submit() for _ in range(7)]
    # Two rows share a created_at: the id breaks the tie, so neither is skipped or repeated.
    ApprovalRequest.objects.filter(pk=made[3].pk).update(created_at=made[4].created_at)

    seen: list[str] = []
    url = "/api/v1/requests?limit=3"
    pages = 0
    while url:
        data = api.get(url).json()
        seen += [row["id"] for row in data["results"]]
        url = f"/api/v1/requests?limit=3&cursor={data['next']}" if data["next"] else ""
        pages += 1

    expected = ApprovalRequest.objects.order_by("-created_at", "-id").values_list("pk", flat=True)
    assert seen == [str(pk) for pk in expected]
    assert pages == 3


def test_it_filters_by_status_policy_and_external_id(
    api: Client, submit: Submit, support: ReviewerGroup
) -> None:
    other = make_policy(slug="other", group=support)
    human = submit(external_id="a")
    auto = submit(external_id="b", payload={"amount": 1})
    elsewhere = submit(external_id="a", policy=other)

    assert _ids(api.get("/api/v1/requests?status=pending&policy=refund-approval")) == [
        str(human.pk)
    ]
    assert _ids(api.get("/api/v1/requests?status=approved")) == [str(auto.pk)]
    assert _ids(api.get("/api/v1/requests?external_id=a")) == [str(elsewhere.pk), str(human.pk)]
    assert _ids(api.get("/api/v1/requests?policy=other")) == [str(elsewhere.pk)]
    assert _ids(api.get("/api/v1/requests?policy=nobody")) == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("limit=ten", "limit"),
        ("limit=", "limit"),
        ("status=done", "status"),
        ("cursor=!!!", "cursor"),
        ("cursor=bm90LWEtY3Vyc29y", "cursor"),  # base64 of "not-a-cursor"
        ("external_id=%00", "external_id"),
        ("policy=" + "x" * 65, "policy"),
    ],
)
def test_bad_parameters_are_422_naming_them(
    api: Client, policy: Policy, query: str, field: str
) -> None:
    assert_problem(api.get(f"/api/v1/requests?{query}"), 422, field=field)


def test_limit_200_is_allowed(api: Client, policy: Policy) -> None:
    assert api.get("/api/v1/requests?limit=200").status_code == 200


def test_the_query_count_is_the_same_for_1_and_50_rows(
    api: Client, submit: Submit, reviewer: Any
) -> None:
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert api.get("/api/v1/requests?limit=200").status_code == 200
        return len(queries)

    submit()
    api.get("/api/v1/requests")  # the token's last_used_at is stamped once a minute
    one = count()
    base = timezone.now()
    for n in range(49):
        approval = submit(payload={"amount": 5 if n % 2 else 500})
        ApprovalRequest.objects.filter(pk=approval.pk).update(
            created_at=base + timedelta(seconds=n)
        )

    assert count() == one


def test_it_needs_a_token(client: Client) -> None:
    assert_problem(client.get("/api/v1/requests"), 401)


def test_a_reviewers_session_is_not_a_token(client: Client, outsider: Any) -> None:
    client.force_login(outsider)

    assert_problem(client.get("/api/v1/requests"), 401)
