"""The inbound sources admin: managers only, write-only credentials, validated mapping, and the
"test with a sample body" preview that creates nothing."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from approvals.inbound.secrets import source_secret
from approvals.models import ApprovalRequest, InboundEvent, InboundSource, Policy
from tests.inbound.conftest import SECRETS, deal_body

CHANGELIST = "/admin/approvals/inboundsource/"
ADD = CHANGELIST + "add/"


def change_url(source: InboundSource) -> str:
    return f"{CHANGELIST}{source.pk}/change/"


def sample_url(source: InboundSource) -> str:
    return f"{CHANGELIST}{source.pk}/sample/"


@pytest.fixture
def source(source_for: Callable[..., InboundSource]) -> InboundSource:
    return source_for("hmac-sha256")


def form_data(policy: Policy, **overrides: Any) -> dict[str, Any]:
    return {
        "slug": "zendesk-refunds",
        "policy": policy.pk,
        "verification": "hmac-sha256",
        "is_active": "on",
        "new_secret": "zendesk-signing-secret",
        "new_api_token": "",
        "title_template": "Refund for ticket {ticket.id}",
        "external_id_path": "ticket.id",
        "event_id_path": "",
        "payload_fields": json.dumps({"amount": "ticket.amount"}),
        **overrides,
    }


def test_a_manager_adds_a_source_and_never_sees_its_secret_again(
    manager_client: Client, policy: Policy
) -> None:
    response = manager_client.post(ADD, form_data(policy))
    assert response.status_code == 302, response.content.decode()[:2000]
    source = InboundSource.objects.get(slug="zendesk-refunds")
    assert source_secret(source) == "zendesk-signing-secret"
    page = manager_client.get(change_url(source)).content.decode()
    assert "zendesk-signing-secret" not in page
    assert "secret set" in page
    assert "/api/v1/inbound/zendesk-refunds" in page
    # Saving again with the secret left blank keeps it.
    response = manager_client.post(change_url(source), form_data(policy, new_secret=""))
    assert response.status_code == 302
    source.refresh_from_db()
    assert source_secret(source) == "zendesk-signing-secret"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("title_template", "{ticket.__class__.__init__!r}", "not a placeholder"),
        ("title_template", "Refund {ticket.amount:.2f}", "not a placeholder"),
        ("title_template", "Refund {ticket.id", "Unbalanced brace"),
        ("external_id_path", "ticket[0]", "not a dotted path"),
        ("payload_fields", json.dumps({"amount": "ticket amount"}), "not a dotted path"),
        ("payload_fields", json.dumps({"bad name": "ticket.amount"}), "payload field name"),
    ],
)
def test_a_bad_mapping_is_refused_on_save(
    manager_client: Client, policy: Policy, field: str, value: str, message: str
) -> None:
    response = manager_client.post(ADD, form_data(policy, **{field: value}))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not InboundSource.objects.exists()


def test_a_standard_webhooks_source_needs_a_whsec_secret(
    manager_client: Client, policy: Policy
) -> None:
    data = form_data(policy, verification="standard-webhooks")
    response = manager_client.post(ADD, data)
    assert "whsec_" in response.content.decode()
    assert not InboundSource.objects.exists()
    data["new_secret"] = SECRETS["standard-webhooks"]
    assert manager_client.post(ADD, data).status_code == 302


def test_the_sample_box_renders_the_request_without_creating_it(
    manager_client: Client, source: InboundSource
) -> None:
    page = manager_client.get(change_url(source)).content.decode()
    assert sample_url(source) in page
    response = manager_client.post(sample_url(source), {"sample": json.dumps(deal_body())})
    assert response.status_code == 200
    html = response.content.decode()
    assert "The request it would create" in html
    assert "Discount for Acme renewal" in html
    assert "&quot;external_id&quot;: &quot;4411&quot;" in html
    assert "a reviewer decides" in html
    assert not ApprovalRequest.objects.exists() and not InboundEvent.objects.exists()


def test_the_sample_box_names_a_missing_path(manager_client: Client, source: InboundSource) -> None:
    body = deal_body()
    del body["deal"]["id"]
    html = manager_client.post(sample_url(source), {"sample": json.dumps(body)}).content.decode()
    assert "It would be refused" in html and "deal.id" in html
    html = manager_client.post(sample_url(source), {"sample": "{nope"}).content.decode()
    assert "Not JSON" in html
    assert not ApprovalRequest.objects.exists()


@pytest.mark.parametrize("who", ["bare_staff", "reviewer", "outsider"])
def test_non_managers_cannot_see_sources_or_secrets(
    who: str, request: pytest.FixtureRequest, client: Client, source: InboundSource
) -> None:
    client.force_login(request.getfixturevalue(who))
    for url in (CHANGELIST, change_url(source), sample_url(source), ADD):
        response = client.get(url)
        # Staff without the permission: 403; not staff at all: the admin's login page.
        assert response.status_code in (302, 403), url
        assert SECRETS["hmac-sha256"] not in response.content.decode()
    response = client.post(sample_url(source), {"sample": json.dumps(deal_body())})
    assert response.status_code in (302, 403)
    assert b"Acme renewal" not in response.content


def test_anonymous_is_sent_to_the_login(client: Client, source: InboundSource) -> None:
    for url in (CHANGELIST, change_url(source), sample_url(source)):
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"]


def test_the_index_does_not_list_sources_for_staff_without_the_permission(
    client: Client, bare_staff: Any, source: InboundSource
) -> None:
    client.force_login(bare_staff)
    assert b"Inbound sources" not in client.get("/admin/").content
