"""Bearer tokens on /api/v1/: hashed, revocable, last use kept cheaply; anything else is 401."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from approvals.models import ApiToken
from approvals.services.tokens import api_token_hash, api_token_revoke
from tests.api import assert_problem

pytestmark = pytest.mark.django_db

OPERATIONS = [
    ("get", "/api/v1/requests"),
    ("post", "/api/v1/requests"),
    ("get", "/api/v1/requests/00000000-0000-7000-8000-000000000000"),
    ("post", "/api/v1/requests/00000000-0000-7000-8000-000000000000/cancel"),
]


@pytest.mark.parametrize(("method", "url"), OPERATIONS)
@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer ", "Bearer cpk_wrong", "Basic dXNlcjpwYXNz", "Token cpk_x"],
)
def test_every_operation_refuses_a_missing_or_wrong_token_with_401(
    client: Client, token: Any, method: str, url: str, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}

    response = getattr(client, method)(url, headers=headers)

    assert_problem(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_revoked_token_is_401(client: Client, token: tuple[ApiToken, str]) -> None:
    row, raw = token
    api_token_revoke(token=row)

    assert_problem(client.get("/api/v1/requests", headers={"Authorization": f"Bearer {raw}"}), 401)


def test_the_scheme_is_case_insensitive(client: Client, raw_token: str) -> None:
    response = client.get("/api/v1/requests", headers={"Authorization": f"bearer {raw_token}"})

    assert response.status_code == 200


def test_only_the_hash_is_stored(token: tuple[ApiToken, str]) -> None:
    row, raw = token

    assert row.token_hash == api_token_hash(raw) and raw not in row.token_hash
    assert ApiToken.objects.filter(token_hash=raw).count() == 0


def test_last_used_at_is_written_at_most_once_a_minute(
    api: Client, token: tuple[ApiToken, str]
) -> None:
    row, _ = token
    assert row.last_used_at is None

    api.get("/api/v1/requests")
    first = ApiToken.objects.get().last_used_at
    with CaptureQueriesContext(connection) as queries:
        api.get("/api/v1/requests")
    second = ApiToken.objects.get().last_used_at
    ApiToken.objects.update(last_used_at=timezone.now() - timedelta(minutes=2))
    api.get("/api/v1/requests")
    third = ApiToken.objects.get().last_used_at

    assert first is not None and second == first
    assert not [q for q in queries if q["sql"].startswith("UPDATE")]
    assert third is not None and third > timezone.now() - timedelta(seconds=30)
