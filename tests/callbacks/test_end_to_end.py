"""End to end with real parts: API → Celery worker → SMTP → Chromium on the deep link → signed
callback verified by a receiver. PostgreSQL + Redis + Chromium; skipped otherwise."""

from __future__ import annotations

import re
from typing import Any

import httpx

from approvals.models import ApprovalRequest, Decision, OutboxEvent
from approvals.services.tokens import api_token_create
from tests.conftest import requires_broker
from tests.fixtures.receiver import Receiver
from tests.fixtures.smtp import SmtpServer

pytestmark = requires_broker


def test_an_api_request_is_emailed_approved_in_chromium_and_called_back(
    live_server: Any,
    celery_worker: Any,
    smtp_server: SmtpServer,
    receiver: Receiver,
    page: Any,
    screenshot: Any,
    policy: Any,
    reviewer: Any,
    settings: Any,
) -> None:
    settings.CALLBACK_ALLOW_PRIVATE_NETWORKS = True
    settings.SITE_URL = live_server.url
    celery_worker(env={"EMAIL_URL": smtp_server.url, "SITE_URL": live_server.url})
    _, raw = api_token_create(name="e2e")
    receiver.secrets = policy.signing_secrets()

    response = httpx.post(
        f"{live_server.url}/api/v1/requests",
        headers={"Authorization": f"Bearer {raw}"},
        json={
            "policy": "refund-approval",
            "external_id": "ticket-4411",
            "title": "Refund for order #4411",
            "payload": {"amount": 120.0, "currency": "USD", "customer": "acme"},
            "callback_url": receiver.url,
        },
        timeout=10,
    )
    assert response.status_code == 201, response.text
    approval_id = response.json()["id"]

    (message,) = smtp_server.wait_for(1, timeout=15)
    assert message["To"] == "alice@example.com"
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    approve = re.search(r"Approve: (\S+)", text).group(1)  # type: ignore[union-attr]
    assert approve.startswith(f"{live_server.url}/d/")

    page.goto(approve)
    page.get_by_role("heading", name="Refund for order #4411").wait_for()
    screenshot(page, "deeplink-confirm")
    assert ApprovalRequest.objects.get(pk=approval_id).status == "pending"  # GET changed nothing
    page.get_by_role("button", name="Confirm: Approve").click()
    page.get_by_role("heading", name="Decision recorded").wait_for()
    screenshot(page, "deeplink-done")

    (got,) = receiver.wait_for(1, timeout=10)
    assert got.verified, got.error
    assert got.json["type"] == "request.decided"
    assert got.json["data"]["id"] == approval_id
    assert got.json["data"]["channel"] == "email" and got.json["data"]["decided_by"] == "alice"
    assert Decision.objects.get(approval_id=approval_id).channel == "email"
    event = OutboxEvent.objects.get(approval_id=approval_id)
    assert got.webhook_id == event.webhook_id

    # The same link again: dead (each link decides once), with a clear page.
    page.goto(approve)
    page.get_by_text("This link was already used").wait_for()
    screenshot(page, "deeplink-dead")
