"""Idempotency-Key on POST /api/v1/requests (docs/api.md "The API", as Stripe defines it)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from approvals.models import ApiToken, ApprovalRequest, AuditEntry, IdempotencyRecord, Policy
from approvals.services.tokens import api_token_create
from approvals.tasks import purge_idempotency_records
from tests.api import assert_problem
from tests.conftest import requires_postgres

Post = Callable[..., Any]


@pytest.mark.django_db
def test_the_same_key_and_body_replays_the_first_response_byte_for_byte(
    post: Post, body: dict[str, Any], policy: Policy
) -> None:
    first = post(body, key="order-4411")
    audit_rows = AuditEntry.objects.count()

    again = post(body, key="order-4411")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.content == first.content
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert ApprovalRequest.objects.count() == 1
    assert AuditEntry.objects.count() == audit_rows


@pytest.mark.django_db
def test_a_replay_returns_the_first_response_even_after_the_request_moved_on(
    api: Client, post: Post, body: dict[str, Any], policy: Policy
) -> None:
    first = post(body, key="k")
    api.post(f"/api/v1/requests/{first.json()['id']}/cancel")

    again = post(body, key="k")

    assert again.content == first.content and again.json()["status"] == "pending"


@pytest.mark.django_db
def test_the_same_json_with_other_key_order_and_spacing_is_the_same_body(
    post: Post, body: dict[str, Any], policy: Policy
) -> None:
    first = post(body, key="k")
    reordered = json.dumps(dict(reversed(list(body.items()))), indent=4)

    again = post(reordered, key="k")

    assert again["Idempotent-Replayed"] == "true" and again.content == first.content


@pytest.mark.django_db
def test_the_same_key_with_another_body_is_422_and_creates_nothing(
    post: Post, body: dict[str, Any], policy: Policy
) -> None:
    post(body, key="k")
    body["title"] = "Another title"

    assert_problem(post(body, key="k"), 422, field="Idempotency-Key")
    assert ApprovalRequest.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "key", ["x" * 256, "", "  ", "tab\tkey"], ids=["256 chars", "empty", "blank", "control"]
)
def test_a_bad_key_is_400(post: Post, body: dict[str, Any], policy: Policy, key: str) -> None:
    assert_problem(post(body, key=key), 400)
    assert not ApprovalRequest.objects.exists()


@pytest.mark.django_db
def test_a_key_of_255_characters_is_fine(post: Post, body: dict[str, Any], policy: Policy) -> None:
    assert post(body, key="k" * 255).status_code == 201


@pytest.mark.django_db
def test_a_refused_request_does_not_use_up_its_key(
    post: Post, body: dict[str, Any], policy: Policy
) -> None:
    body["policy"] = "not-yet-installed"
    assert_problem(post(body, key="k"), 422)
    body["policy"] = "refund-approval"

    assert post(body, key="k").status_code == 201
    assert not IdempotencyRecord.objects.filter(response_status__isnull=True).exists()


@pytest.mark.django_db
def test_a_409_duplicate_is_not_remembered(
    post: Post, body: dict[str, Any], policy: Policy
) -> None:
    first = post(body).json()
    assert_problem(post(body, key="k"), 409)
    ApprovalRequest.objects.filter(pk=first["id"]).update(status="cancelled")

    assert post(body, key="k").status_code == 201


@pytest.mark.django_db
def test_keys_belong_to_one_token(
    post: Post, body: dict[str, Any], policy: Policy, client: Client
) -> None:
    post(body, key="k")
    _, other = api_token_create(name="make")
    other_client = Client(HTTP_AUTHORIZATION=f"Bearer {other}")
    body["external_id"] = "ticket-9999"

    response = post(body, key="k", client=other_client)

    assert response.status_code == 201 and "Idempotent-Replayed" not in response
    assert ApprovalRequest.objects.count() == 2


@pytest.mark.django_db
def test_after_24_hours_a_key_is_new_again(
    post: Post, body: dict[str, Any], policy: Policy
) -> None:
    post(body, key="k")
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=24, seconds=1))
    ApprovalRequest.objects.update(status="cancelled")

    again = post(body, key="k")

    assert again.status_code == 201 and "Idempotent-Replayed" not in again
    assert ApprovalRequest.objects.count() == 2


@pytest.mark.django_db
def test_the_purge_task_deletes_only_records_past_24_hours(
    post: Post, body: dict[str, Any], policy: Policy
) -> None:
    post(body, key="old")
    body["external_id"] = "ticket-2"
    post(body, key="new")
    IdempotencyRecord.objects.filter(key="old").update(
        created_at=timezone.now() - timedelta(hours=25)
    )

    assert purge_idempotency_records.delay().get() == 1
    assert purge_idempotency_records.delay().get() == 0
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]


@pytest.mark.django_db
def test_no_plaintext_token_is_stored_anywhere(
    post: Post, body: dict[str, Any], policy: Policy, raw_token: str
) -> None:
    post(body, key="k")
    post(body, key="k")

    for model in (ApiToken, IdempotencyRecord, ApprovalRequest, AuditEntry):
        for row in model.objects.all():
            for field in model._meta.concrete_fields:
                value = field.value_from_object(row)
                if isinstance(value, bytes | memoryview):
                    value = bytes(value).decode("utf-8", "replace")
                assert raw_token not in str(value), f"{model.__name__}.{field.name}"
                assert raw_token[len("cpk_") :] not in str(value), f"{model.__name__}.{field.name}"


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_posts_with_one_key_create_one_request(
    body: dict[str, Any], policy: Policy, raw_token: str
) -> None:
    """Twenty threads, twenty connections, one key: one request; the rest replay it (or, if
    one were caught mid-flight, get a 409)."""
    start = threading.Barrier(20)
    responses: list[Any] = []
    lock = threading.Lock()

    def send() -> None:
        try:
            client = Client(HTTP_AUTHORIZATION=f"Bearer {raw_token}")
            start.wait(timeout=10)
            response = client.post(
                "/api/v1/requests",
                data=json.dumps(body),
                content_type="application/json",
                headers={"Idempotency-Key": "one-key"},
            )
            with lock:
                responses.append(response)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len(responses) == 20
    assert ApprovalRequest.objects.count() == 1
    created = [r for r in responses if r.status_code == 201]
    assert {r.status_code for r in responses} <= {201, 409}
    assert len([r for r in created if "Idempotent-Replayed" not in r]) == 1
    assert len({r.content for r in created}) == 1
    assert IdempotencyRecord.objects.count() == 1
