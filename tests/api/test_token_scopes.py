"""Tokens belong to one caller and are limited in what they may do (docs/api.md "Tokens and
callers"): another caller's request is a 404, outside the token's scopes or policies a 403,
revoked or expired a 401, above its rate a 429 with Retry-After."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from approvals.models import ApiToken, ApprovalRequest, Policy
from approvals.services.tokens import api_token_create, api_token_revoke
from tests.factories import make_policy


def _client(raw: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


@pytest.fixture
def other(policy: Policy) -> Client:
    """Token B: another caller (and the policy the `body` files into)."""
    return _client(api_token_create(name="hubspot")[1])


def test_another_callers_request_is_a_404_on_get_and_cancel_and_absent_from_the_list(
    api: Client, other: Client, post: Callable[..., Any], body: dict[str, Any]
) -> None:
    mine = post(body).json()["id"]
    assert other.get(f"/api/v1/requests/{mine}").status_code == 404
    assert other.get(f"/api/v1/requests/{mine}", HTTP_IF_NONE_MATCH="*").status_code == 404
    response = other.post(f"/api/v1/requests/{mine}/cancel")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert other.get("/api/v1/requests").json()["results"] == []
    assert ApprovalRequest.objects.get(pk=mine).status == ApprovalRequest.Status.PENDING
    # The owner still sees it.
    assert api.get(f"/api/v1/requests/{mine}").status_code == 200
    assert [r["id"] for r in api.get("/api/v1/requests").json()["results"]] == [mine]


def test_tokens_of_one_caller_share_its_requests(
    policy: Policy, post: Callable[..., Any], body: dict[str, Any]
) -> None:
    mine = post(body).json()["id"]
    _, raw = api_token_create(name="zendesk-2", caller="zendesk")
    assert _client(raw).get(f"/api/v1/requests/{mine}").status_code == 200


def test_external_ids_are_each_callers_own(
    other: Client, post: Callable[..., Any], body: dict[str, Any]
) -> None:
    first = post(body)
    second = post(body, client=other)
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] != second.json()["id"]
    assert post(body).status_code == 409  # still one open per caller


@pytest.mark.parametrize(
    ("scopes", "method", "path", "allowed"),
    [
        (["read"], "post", "/api/v1/requests", False),
        (["create"], "get", "/api/v1/requests", False),
        (["create"], "get", "/api/v1/requests/{id}", False),
        (["create", "read"], "post", "/api/v1/requests/{id}/cancel", False),
        (["cancel"], "post", "/api/v1/requests/{id}/cancel", True),
        (["read"], "get", "/api/v1/requests/{id}", True),
    ],
)
def test_a_call_outside_the_tokens_scopes_is_a_403_and_changes_nothing(
    pending: ApprovalRequest,
    body: dict[str, Any],
    scopes: list[str],
    method: str,
    path: str,
    allowed: bool,
) -> None:
    _, raw = api_token_create(name="limited", caller="zendesk", scopes=scopes)
    client = _client(raw)
    before = ApprovalRequest.objects.count()
    url = path.format(id=pending.pk)
    if method == "post":
        response = client.post(url, json.dumps(body), content_type="application/json")
    else:
        response = client.get(url)
    if allowed:
        assert response.status_code == 200
        return
    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["status"] == 403 and response.json()["type"].endswith("forbidden")
    assert ApprovalRequest.objects.count() == before
    pending.refresh_from_db()
    assert pending.status == ApprovalRequest.Status.PENDING


def test_a_policy_outside_the_tokens_policies_is_a_403_and_hidden_from_the_list(
    policy: Policy, support: Any, body: dict[str, Any]
) -> None:
    other_policy = make_policy(slug="deal-discount", group=support)
    _, raw = api_token_create(name="deals-only", policies=[other_policy])
    client = _client(raw)
    response = client.post("/api/v1/requests", json.dumps(body), content_type="application/json")
    assert response.status_code == 403
    assert response.json()["errors"] == [
        {"field": "policy", "message": "not one of this token's policies"}
    ]
    assert not ApprovalRequest.objects.exists()
    slugs = [p["slug"] for p in client.get("/api/v1/policies").json()["results"]]
    assert slugs == ["deal-discount"]
    allowed = client.post(
        "/api/v1/requests",
        json.dumps({**body, "policy": "deal-discount"}),
        content_type="application/json",
    )
    assert allowed.status_code == 201


def test_a_revoked_token_is_a_401(api: Client, token: tuple[ApiToken, str]) -> None:
    assert api.get("/api/v1/requests").status_code == 200
    api_token_revoke(token=token[0])
    response = api.get("/api/v1/requests")
    assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Bearer")


def test_an_expired_token_is_a_401(api: Client, token: tuple[ApiToken, str]) -> None:
    ApiToken.objects.filter(pk=token[0].pk).update(expires_at=timezone.now() + timedelta(hours=1))
    assert api.get("/api/v1/requests").status_code == 200
    ApiToken.objects.filter(pk=token[0].pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert api.get("/api/v1/requests").status_code == 401
    assert api.get("/api/v1/policies").status_code == 401


def test_above_its_rate_a_token_gets_429_with_retry_after(
    api: Client, other: Client, settings: Any
) -> None:
    settings.API_RATE_LIMIT = "3/m"
    # The limit counts per clock minute: start well inside one, so all four calls share it.
    if time.time() % 60 > 50:
        time.sleep(61 - time.time() % 60)
    for _ in range(3):
        assert api.get("/api/v1/requests").status_code == 200
    response = api.get("/api/v1/requests")
    assert response.status_code == 429
    assert response["Content-Type"] == "application/problem+json"
    assert 1 <= int(response["Retry-After"]) <= 60
    assert response.json()["status"] == 429
    # Per token: another caller is not slowed down by this one.
    assert other.get("/api/v1/requests").status_code == 200


def test_an_unknown_token_uses_up_nobodys_rate(api: Client, settings: Any) -> None:
    settings.API_RATE_LIMIT = "2/m"
    for _ in range(5):
        assert _client("cpk_wrong").get("/api/v1/requests").status_code == 401
    assert api.get("/api/v1/requests").status_code == 200


def test_a_token_acting_for_a_user_makes_that_user_the_requester(
    policy: Policy, post: Callable[..., Any], body: dict[str, Any], requester: Any
) -> None:
    _, raw = api_token_create(name="ritas-agent", user=requester)
    response = post({**body, "requested_by": ""}, client=_client(raw))
    approval = ApprovalRequest.objects.get(pk=response.json()["id"])
    assert approval.requester_id == requester.pk and approval.caller == "ritas-agent"
