"""POST /api/v1/inbound/<slug>: each verification kind, the mapping, idempotency, limits."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from approvals.models import ApprovalRequest, AuditEntry, InboundEvent, InboundSource
from approvals.services.tokens import api_token_create
from tests.inbound.conftest import (
    KINDS,
    SECRETS,
    Sender,
    deal_body,
    hubspot_v2,
    hubspot_v3,
    standard_webhooks,
)

PROBLEM = "application/problem+json"


def nothing_created() -> bool:
    return not ApprovalRequest.objects.exists() and not InboundEvent.objects.exists()


@pytest.mark.parametrize("kind", KINDS)
def test_a_correct_signature_creates_the_mapped_request(
    kind: str, sender: Sender, source_for: Callable[..., InboundSource]
) -> None:
    source = source_for(kind)
    response = sender.post(source, deal_body())
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["status"] == "pending" and data["external_id"] == "4411"
    approval = ApprovalRequest.objects.get(pk=data["id"])
    assert approval.title == "Discount for Acme renewal"
    assert approval.payload == {"amount": 120.0, "currency": "USD", "customer": "Acme renewal"}
    assert approval.policy == source.policy
    created = AuditEntry.objects.get(approval=approval, action="created")
    assert created.actor == f"inbound:{source.slug}"


@pytest.mark.parametrize("kind", KINDS)
def test_a_wrong_signature_is_a_401_problem_and_creates_nothing(
    kind: str, sender: Sender, source_for: Callable[..., InboundSource]
) -> None:
    source = source_for(kind)
    wrong = (
        "whsec_" + "d3Jvbmcgc2VjcmV0IHdyb25nIHNlY3JldA=="
        if kind == "standard-webhooks"
        else "wrong-secret"
    )
    response = sender.post(source, deal_body(), secret=wrong)
    assert response.status_code == 401
    assert response["Content-Type"] == PROBLEM
    assert response.json()["status"] == 401
    assert nothing_created()


@pytest.mark.parametrize("kind", KINDS)
def test_a_missing_signature_is_a_401_and_creates_nothing(
    kind: str, sender: Sender, source_for: Callable[..., InboundSource]
) -> None:
    response = sender.post(source_for(kind), deal_body(), sign=False)
    assert response.status_code == 401
    assert response["Content-Type"] == PROBLEM
    assert nothing_created()


@pytest.mark.parametrize("kind", KINDS)
def test_a_body_changed_after_signing_is_a_401(
    kind: str, sender: Sender, source_for: Callable[..., InboundSource]
) -> None:
    source = source_for(kind)
    raw = json.dumps(deal_body()).encode()
    from tests.inbound.conftest import signed_headers

    headers = signed_headers(
        kind, SECRETS[kind], "http://testserver/api/v1/inbound/" + source.slug, raw
    )
    tampered = raw.replace(b"120.0", b"12.0")
    response = sender.post(source, tampered, headers=headers, sign=False)
    if kind == "shared-secret":
        # A shared secret signs nothing: the header alone is the credential.
        assert response.status_code == 201
    else:
        assert response.status_code == 401
        assert nothing_created()


def test_a_stale_hubspot_v3_timestamp_is_a_401(
    sender: Sender, source_for: Callable[..., InboundSource]
) -> None:
    source = source_for("hubspot")
    raw = json.dumps(deal_body()).encode()
    six_minutes_ago = int((datetime.now(UTC) - timedelta(minutes=6)).timestamp() * 1000)
    uri = "http://testserver/api/v1/inbound/" + source.slug
    headers = hubspot_v3(SECRETS["hubspot"], uri, raw, stamp=six_minutes_ago)
    response = sender.post(source, raw, headers=headers, sign=False)
    assert response.status_code == 401
    assert "5 minutes" in response.json()["detail"]
    assert nothing_created()


def test_a_stale_standard_webhooks_timestamp_is_a_401(
    sender: Sender, source_for: Callable[..., InboundSource]
) -> None:
    source = source_for("standard-webhooks")
    raw = json.dumps(deal_body()).encode()
    headers = standard_webhooks(
        SECRETS["standard-webhooks"], raw, at=datetime.now(UTC) - timedelta(minutes=6)
    )
    response = sender.post(source, raw, headers=headers, sign=False)
    assert response.status_code == 401
    assert nothing_created()


def test_hubspot_v2_is_accepted_and_a_wrong_v2_is_not(
    sender: Sender, source_for: Callable[..., InboundSource]
) -> None:
    source = source_for("hubspot")
    raw = json.dumps(deal_body()).encode()
    uri = "http://testserver/api/v1/inbound/" + source.slug
    bad = hubspot_v2("not-the-secret", uri, raw)
    assert sender.post(source, raw, headers=bad, sign=False).status_code == 401
    assert nothing_created()
    good = hubspot_v2(SECRETS["hubspot"], uri, raw)
    assert sender.post(source, raw, headers=good, sign=False).status_code == 201


@pytest.mark.parametrize("kind", KINDS)
def test_a_redelivery_returns_the_first_answer_and_creates_nothing(
    kind: str, sender: Sender, source_for: Callable[..., InboundSource]
) -> None:
    source = source_for(kind)
    first = sender.post(source, deal_body())
    assert first.status_code == 201
    again = sender.post(source, deal_body())
    assert again.status_code == 200
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert ApprovalRequest.objects.count() == 1
    assert InboundEvent.objects.count() == 1


@pytest.mark.parametrize("kind", KINDS)
def test_a_missing_mapped_path_is_a_422_naming_it(
    kind: str, sender: Sender, source_for: Callable[..., InboundSource]
) -> None:
    body = deal_body()
    del body["deal"]["name"]
    response = sender.post(source_for(kind), body)
    assert response.status_code == 422
    fields = [error["field"] for error in response.json()["errors"]]
    assert "deal.name" in fields
    assert "deal.name" in response.json()["detail"]
    assert nothing_created()


def test_a_payload_breaking_the_policy_schema_is_the_apis_422(
    sender: Sender, source_for: Callable[..., InboundSource]
) -> None:
    source = source_for("hmac-sha256")
    source.policy.payload_schema = {
        "type": "object",
        "properties": {"amount": {"type": "number", "maximum": 100}},
    }
    source.policy.save()
    response = sender.post(source, deal_body())
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "payload.amount"
    assert nothing_created()


@pytest.mark.parametrize("kind", KINDS)
def test_a_body_over_the_limit_is_the_apis_413(
    kind: str, sender: Sender, source_for: Callable[..., InboundSource], settings: Any
) -> None:
    settings.API_MAX_BODY_BYTES = 1024
    response = sender.post(source_for(kind), deal_body(notes="x" * 2000))
    assert response.status_code == 413
    assert response["Content-Type"] == PROBLEM
    assert nothing_created()


@pytest.mark.parametrize(
    "raw",
    [b'{"deal": {"amount": NaN}}', b'{"a": 1, "a": 2}', b"[1, 2]", b"{not json", b"\xff\xfe"],
    ids=["nan", "duplicate-key", "array", "broken", "not-utf8"],
)
def test_a_signed_but_malformed_body_is_the_apis_400_or_422(
    raw: bytes, sender: Sender, source_for: Callable[..., InboundSource]
) -> None:
    response = sender.post(source_for("hmac-sha256"), raw)
    assert response.status_code in (400, 422)
    assert response["Content-Type"] == PROBLEM
    assert nothing_created()


def test_an_api_bearer_token_is_no_way_in(
    sender: Sender, source_for: Callable[..., InboundSource]
) -> None:
    _, raw_token = api_token_create(name="zapier")
    response = sender.post(
        source_for("hmac-sha256"),
        deal_body(),
        sign=False,
        headers={"Authorization": f"Bearer {raw_token}"},
    )
    assert response.status_code == 401
    assert nothing_created()


def test_an_unknown_or_inactive_source_is_a_404_problem(
    sender: Sender, source_for: Callable[..., InboundSource]
) -> None:
    source = source_for("shared-secret")
    source.is_active = False
    source.save()
    for slug in (source.slug, "nope"):
        response = sender.client.post(
            f"/api/v1/inbound/{slug}", data=b"{}", content_type="application/json"
        )
        assert response.status_code == 404
        assert response["Content-Type"] == PROBLEM
    assert nothing_created()


def test_get_is_a_405_problem(sender: Sender, source_for: Callable[..., InboundSource]) -> None:
    response = sender.client.get(sender.url(source_for("shared-secret").slug))
    assert response.status_code == 405
    assert response["Allow"] == "POST"


def test_an_auto_approved_event_answers_201_with_the_decision(
    sender: Sender, source_for: Callable[..., InboundSource]
) -> None:
    response = sender.post(source_for("hmac-sha256"), deal_body(amount=20.0))
    assert response.status_code == 201
    data = response.json()
    assert data["route"] == "auto" and data["status"] == "approved"
    assert data["decision"]["decided_by"] == "policy"


def test_a_second_event_for_an_open_external_id_is_the_apis_409(
    sender: Sender, source_for: Callable[..., InboundSource]
) -> None:
    source = source_for("hmac-sha256")
    assert sender.post(source, deal_body("evt-1")).status_code == 201
    response = sender.post(source, deal_body("evt-2"))
    assert response.status_code == 409
    assert response.json()["existing_id"]
    assert InboundEvent.objects.count() == 1
