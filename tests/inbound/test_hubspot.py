"""HubSpot custom workflow actions: the call blocks the workflow, the outcome completes it
through the outbox (delivered here in-process to a fake HubSpot on 127.0.0.1; the worker
version is test_hubspot_end_to_end.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.test import Client

from approvals.callbacks.delivery import deliver_due
from approvals.models import ApprovalRequest, InboundEvent, InboundSource, OutboxEvent
from approvals.services import approval_expire
from approvals.services.tokens import api_token_create
from tests.fixtures.hubspot import FakeHubSpot
from tests.inbound.conftest import SECRETS, TOKEN, Sender, hubspot_v2


def action_call(callback_id: str = "ap-102-4411", amount: float = 120.0) -> dict[str, Any]:
    """What HubSpot POSTs for a custom workflow action on a deal."""
    return {
        "callbackId": callback_id,
        "origin": {"portalId": 1234, "actionDefinitionId": 99, "actionDefinitionVersion": 1},
        "context": {"source": "WORKFLOWS", "workflowId": 555},
        "object": {"objectId": 4411, "objectType": "DEAL"},
        "inputFields": {"dealname": "Acme renewal", "amount": amount, "currency": "USD"},
    }


def call_action(sender: Sender, source: InboundSource, body: dict[str, Any]) -> Any:
    raw = json.dumps(body).encode()
    uri = "http://testserver/api/v1/inbound/" + source.slug
    return sender.post(source, raw, headers=hubspot_v2(SECRETS["hubspot"], uri, raw), sign=False)


def completion(fake: FakeHubSpot, callback_id: str = "ap-102-4411") -> dict[str, Any]:
    deliver_due()
    (got,) = fake.completions(callback_id)
    assert got.headers["authorization"] == f"Bearer {TOKEN}"
    return got.json["outputFields"]


def test_a_v2_signed_action_call_blocks_the_workflow(
    sender: Sender, hubspot_source: InboundSource
) -> None:
    response = call_action(sender, hubspot_source, action_call())
    assert response.status_code == 200
    data = response.json()
    approval = ApprovalRequest.objects.get()
    assert data == {
        "outputFields": {"hs_execution_state": "BLOCK"},
        "id": str(approval.pk),
        "status": "pending",
    }
    assert approval.title == "Discount for Acme renewal" and approval.external_id == "4411"
    assert InboundEvent.objects.get().callback_id == "ap-102-4411"
    # HubSpot retries a call it thinks failed: the same callbackId changes nothing.
    again = call_action(sender, hubspot_source, action_call())
    assert again.status_code == 200 and again.json() == data
    assert ApprovalRequest.objects.count() == 1


def test_an_approval_in_the_inbox_completes_the_action_with_the_reviewer(
    sender: Sender,
    hubspot_source: InboundSource,
    fake_hubspot: FakeHubSpot,
    reviewer: Any,
    client: Client,
) -> None:
    call_action(sender, hubspot_source, action_call())
    approval = ApprovalRequest.objects.get()
    client.force_login(reviewer)
    response = client.post(
        f"/inbox/{approval.pk}/decide", {"option": "approve", "comment": "within margin"}
    )
    assert response.status_code in (200, 302)
    assert completion(fake_hubspot) == {
        "hs_execution_state": "SUCCESS",
        "decision": "approve",
        "comment": "within margin",
        "decided_by": "alice",
    }
    event = OutboxEvent.objects.get(kind=OutboxEvent.Kind.HUBSPOT_COMPLETE)
    assert event.status == OutboxEvent.Status.DELIVERED


def test_an_auto_approved_deal_completes_at_once(
    sender: Sender, hubspot_source: InboundSource, fake_hubspot: FakeHubSpot
) -> None:
    response = call_action(sender, hubspot_source, action_call(amount=20.0))
    assert response.json()["outputFields"] == {"hs_execution_state": "BLOCK"}
    assert response.json()["status"] == "approved"
    fields = completion(fake_hubspot)
    assert fields["decision"] == "approve" and fields["decided_by"] == "policy"
    assert OutboxEvent.objects.filter(kind=OutboxEvent.Kind.HUBSPOT_COMPLETE).count() == 1


def test_a_cancel_completes_with_cancel(
    sender: Sender, hubspot_source: InboundSource, fake_hubspot: FakeHubSpot, client: Client
) -> None:
    call_action(sender, hubspot_source, action_call())
    approval = ApprovalRequest.objects.get()
    # The source's requests belong to the caller inbound:<slug> (docs/api.md "Tokens and callers").
    _, raw = api_token_create(name="ops", caller=f"inbound:{hubspot_source.slug}")
    response = client.post(
        f"/api/v1/requests/{approval.pk}/cancel", headers={"Authorization": f"Bearer {raw}"}
    )
    assert response.status_code == 200
    assert completion(fake_hubspot)["decision"] == "cancel"


def test_an_expiry_completes_with_expire(
    sender: Sender, hubspot_source: InboundSource, fake_hubspot: FakeHubSpot
) -> None:
    call_action(sender, hubspot_source, action_call())
    approval_expire(approval=ApprovalRequest.objects.get())
    assert completion(fake_hubspot)["decision"] == "expire"


def test_a_request_not_from_a_workflow_action_completes_nothing(
    sender: Sender,
    source_for: Callable[..., InboundSource],
    fake_hubspot: FakeHubSpot,
    reviewer: Any,
) -> None:
    from tests.inbound.conftest import deal_body

    response = sender.post(source_for("hubspot"), deal_body(amount=20.0))
    assert response.status_code == 201
    assert not OutboxEvent.objects.filter(kind=OutboxEvent.Kind.HUBSPOT_COMPLETE).exists()


def test_the_completion_obeys_the_network_guard(
    sender: Sender, hubspot_source: InboundSource, fake_hubspot: FakeHubSpot, settings: Any
) -> None:
    call_action(sender, hubspot_source, action_call(amount=20.0))
    settings.CALLBACK_ALLOW_PRIVATE_NETWORKS = False
    deliver_due()
    event = OutboxEvent.objects.get(kind=OutboxEvent.Kind.HUBSPOT_COMPLETE)
    assert event.status == OutboxEvent.Status.PENDING and "refused" in event.last_error
    assert fake_hubspot.requests == []


def test_a_source_without_a_token_fails_the_attempt_and_can_be_redelivered(
    sender: Sender, hubspot_source: InboundSource, fake_hubspot: FakeHubSpot
) -> None:
    from approvals.inbound.secrets import source_set_credentials
    from approvals.services.delivery import event_redeliver

    source_set_credentials(hubspot_source, api_token="")
    hubspot_source.save()
    call_action(sender, hubspot_source, action_call(amount=20.0))
    deliver_due()
    event = OutboxEvent.objects.get(kind=OutboxEvent.Kind.HUBSPOT_COMPLETE)
    assert "private-app token" in event.last_error and fake_hubspot.requests == []
    source_set_credentials(hubspot_source, api_token=TOKEN)
    hubspot_source.save()
    event_redeliver(event=event, actor="maria")
    assert completion(fake_hubspot)["decision"] == "approve"
