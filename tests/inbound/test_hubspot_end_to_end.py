"""HubSpot end to end with real parts: PostgreSQL, a Redis broker, a Celery worker subprocess
and a fake HubSpot API on 127.0.0.1. Skipped on SQLite / without a broker."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from approvals.models import ApprovalRequest, InboundSource, OutboxEvent
from approvals.tasks import deliver_webhooks
from tests.conftest import requires_broker
from tests.fixtures.celery_worker import Worker
from tests.fixtures.hubspot import FakeHubSpot
from tests.inbound.conftest import Sender
from tests.inbound.test_hubspot import TOKEN, action_call, call_action

pytestmark = requires_broker

Kind = OutboxEvent.Kind


def until(predicate: Callable[[], bool], *, timeout: float, pump: bool = False) -> None:
    """Wait for `predicate`; with `pump`, play beat: send deliver_webhooks every 0.3 s."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return
        if pump:
            deliver_webhooks.delay()
        time.sleep(0.3)
    pytest.fail(f"not within {timeout} s")


def completed() -> bool:
    return OutboxEvent.objects.filter(
        kind=Kind.HUBSPOT_COMPLETE, status=OutboxEvent.Status.DELIVERED
    ).exists()


def test_a_workflow_action_waits_for_the_reviewer_and_is_completed_on_the_third_try(
    celery_worker: Callable[..., Worker],
    hubspot_source: InboundSource,
    fake_hubspot: FakeHubSpot,
    sender: Sender,
    reviewer: Any,
    client: Client,
) -> None:
    celery_worker(env={"WEBHOOK_RETRY_SCHEDULE": "0.2,0.2,0.2"}, ready_timeout=120)
    response = call_action(sender, hubspot_source, action_call())
    assert response.status_code == 200
    assert response.json()["outputFields"] == {"hs_execution_state": "BLOCK"}
    approval = ApprovalRequest.objects.get(pk=response.json()["id"])

    fake_hubspot.respond(500, 500)
    reviewer_client = Client()
    reviewer_client.force_login(reviewer)
    decided = reviewer_client.post(
        f"/inbox/{approval.pk}/decide", {"option": "approve", "comment": "margin is fine"}
    )
    assert decided.status_code in (200, 302)

    until(completed, timeout=60, pump=True)
    got = fake_hubspot.completions("ap-102-4411")
    assert [r.status for r in got] == [500, 500, 204]
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in got)
    assert got[-1].json == {
        "outputFields": {
            "hs_execution_state": "SUCCESS",
            "decision": "approve",
            "comment": "margin is fine",
            "decided_by": "alice",
        }
    }
    event = OutboxEvent.objects.get(kind=Kind.HUBSPOT_COMPLETE)
    assert event.attempts == 3


def test_an_auto_approved_deal_is_completed_at_once_by_the_worker(
    celery_worker: Callable[..., Worker],
    hubspot_source: InboundSource,
    fake_hubspot: FakeHubSpot,
    sender: Sender,
) -> None:
    celery_worker(ready_timeout=120)
    response = call_action(sender, hubspot_source, action_call("ap-7", amount=20.0))
    assert response.json()["status"] == "approved"
    (got,) = fake_hubspot.wait_for(1, timeout=30)  # the on-commit kick, no beat needed
    assert got.path == "/automation/v4/actions/callbacks/ap-7/complete"
    assert got.json["outputFields"]["decision"] == "approve"


def test_a_cancelled_request_completes_with_cancel_through_the_worker(
    celery_worker: Callable[..., Worker],
    hubspot_source: InboundSource,
    fake_hubspot: FakeHubSpot,
    sender: Sender,
    client: Client,
) -> None:
    from approvals.services.tokens import api_token_create

    celery_worker(ready_timeout=120)
    response = call_action(sender, hubspot_source, action_call("ap-8"))
    # The source's requests belong to the caller inbound:<slug> (docs/api.md "Tokens and callers").
    _, raw = api_token_create(name="ops", caller=f"inbound:{hubspot_source.slug}")
    cancelled = client.post(
        f"/api/v1/requests/{response.json()['id']}/cancel",
        headers={"Authorization": f"Bearer {raw}"},
    )
    assert cancelled.status_code == 200
    (got,) = fake_hubspot.wait_for(1, timeout=30)
    assert got.json["outputFields"]["decision"] == "cancel"
