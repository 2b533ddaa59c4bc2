"""End to end with real parts: API intake → Celery worker on Redis → the fake Slack gets the
channel and direct messages → a signed Approve click decides (channel "slack") → the worker
updates both messages and the signed callback reaches the caller. PostgreSQL + Redis only."""

from __future__ import annotations

import json
import time
from typing import Any

from django.test import Client

from approvals.models import ApprovalRequest, Decision
from approvals.services.tokens import api_token_create
from tests.conftest import requires_broker
from tests.fixtures.receiver import Receiver
from tests.fixtures.slack import FakeSlack
from tests.slack.conftest import CHANNEL, click_payload, send

pytestmark = requires_broker


def test_an_intake_reaches_alice_in_slack_her_click_decides_and_everything_follows(
    celery_worker: Any,
    slack: FakeSlack,
    receiver: Receiver,
    round_robin: Any,
    policy: Any,
    reviewer: Any,
    settings: Any,
    client: Client,
) -> None:
    settings.CALLBACK_ALLOW_PRIVATE_NETWORKS = True
    celery_worker(env=slack.env, ready_timeout=120)  # a busy machine starts workers slowly
    _, raw = api_token_create(name="e2e")
    receiver.secrets = policy.signing_secrets()

    response = client.post(
        "/api/v1/requests",
        data=json.dumps({
            "policy": "refund-approval", "external_id": "ticket-4411",
            "title": "Refund for order #4411",
            "payload": {"amount": 120.0, "currency": "USD", "customer": "acme"},
            "callback_url": receiver.url,
        }),
        content_type="application/json",
        headers={"Authorization": f"Bearer {raw}"},
    )  # fmt: skip
    assert response.status_code == 201, response.content
    approval = ApprovalRequest.objects.get(pk=response.json()["id"])
    assert approval.assignee == reviewer

    posts = slack.wait_for("chat.postMessage", 2, timeout=30)
    assert sorted(c.params["channel"] for c in posts) == [CHANNEL, "UALICE"]

    started = time.monotonic()
    click = send(client, click_payload(approval, "approve"))
    elapsed = time.monotonic() - started
    assert click.status_code == 200
    assert elapsed < 3, f"Slack waits 3 s; the click took {elapsed:.2f} s"

    decision = Decision.objects.get(approval=approval)
    assert (decision.channel, decision.decided_by_name) == ("slack", "alice")

    updates = slack.wait_for("chat.update", 2, timeout=30)
    assert sorted(c.params["channel"] for c in updates) == [CHANNEL, "DALICE"]
    for call in updates:
        blocks = json.dumps(call.params["blocks"])
        assert "Approved" in blocks and "alice" in blocks and '"actions"' not in blocks

    (got,) = receiver.wait_for(1, timeout=30)
    assert got.verified, got.error
    assert got.json["type"] == "request.decided"
    assert (got.json["data"]["channel"], got.json["data"]["decided_by"]) == ("slack", "alice")
    # Nothing was sent twice.
    time.sleep(1)
    assert len(slack.ok_calls("chat.postMessage")) == 2
    assert len(slack.ok_calls("chat.update")) == 2
