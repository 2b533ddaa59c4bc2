"""Inbound sources: a source per verification kind, and a sender that signs like each CRM."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import Client
from standardwebhooks import Webhook

from approvals.inbound.sources import inbound_source_save
from approvals.models import InboundSource, Policy
from tests.admin.conftest import bare_staff, manager_client  # noqa: F401  (shared fixtures)

SECRETS = {
    "hubspot": "hubspot-client-secret",
    "standard-webhooks": "whsec_" + base64.b64encode(b"k" * 32).decode(),
    "hmac-sha256": "zendesk-signing-secret",
    "shared-secret": "dynamics-shared-secret",
}
KINDS = list(SECRETS)


def deal_body(event_id: str = "evt-1", **deal: Any) -> dict[str, Any]:
    return {
        "event": {"id": event_id},
        "deal": {"name": "Acme renewal", "id": 4411, "amount": 120.0, "currency": "USD", **deal},
    }


def make_source(policy: Policy, verification: str, **kwargs: Any) -> InboundSource:
    values: dict[str, Any] = {
        "slug": f"src-{verification}",
        "policy": policy,
        "verification": verification,
        "secret": SECRETS[verification],
        "title_template": "Discount for {deal.name}",
        "external_id_path": "deal.id",
        "event_id_path": "event.id",
        "payload_fields": {
            "amount": "deal.amount",
            "currency": "deal.currency",
            "customer": "deal.name",
        },
        **kwargs,
    }
    return inbound_source_save(**values)[0]


def hubspot_v3(secret: str, uri: str, raw: bytes, *, stamp: int | None = None) -> dict[str, str]:
    stamp = int(time.time() * 1000) if stamp is None else stamp
    message = b"POST" + uri.encode() + raw + str(stamp).encode()
    signature = base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest())
    return {
        "X-HubSpot-Signature-v3": signature.decode(),
        "X-HubSpot-Request-Timestamp": str(stamp),
    }


def hubspot_v2(secret: str, uri: str, raw: bytes) -> dict[str, str]:
    digest = hashlib.sha256(secret.encode() + b"POST" + uri.encode() + raw).hexdigest()
    return {"X-HubSpot-Signature": digest, "X-HubSpot-Signature-Version": "v2"}


def standard_webhooks(
    secret: str, raw: bytes, *, msg_id: str = "msg_1", at: datetime | None = None
) -> dict[str, str]:
    at = at or datetime.now(UTC)
    signature = Webhook(secret).sign(msg_id=msg_id, timestamp=at, data=raw.decode())
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
    }


def signed_headers(verification: str, secret: str, uri: str, raw: bytes) -> dict[str, str]:
    """What each kind of sender adds to a correctly signed request."""
    if verification == "hubspot":
        return hubspot_v3(secret, uri, raw)
    if verification == "standard-webhooks":
        return standard_webhooks(secret, raw)
    if verification == "hmac-sha256":
        return {
            "X-Signature": "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
        }
    return {"X-Checkpoint-Secret": secret}


@dataclass
class Sender:
    client: Client

    def url(self, slug: str) -> str:
        return f"/api/v1/inbound/{slug}"

    def post(
        self,
        source: InboundSource,
        body: Any,
        *,
        headers: dict[str, str] | None = None,
        sign: bool = True,
        secret: str | None = None,
    ) -> Any:
        """POST `body` (a dict, or bytes sent as is), signed for the source unless told not to."""
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        uri = "http://testserver" + self.url(source.slug)
        signed = (
            signed_headers(source.verification, secret or SECRETS[source.verification], uri, raw)
            if sign
            else {}
        )
        return self.client.post(
            self.url(source.slug),
            data=raw,
            content_type="application/json",
            headers={**signed, **(headers or {})},
        )


@pytest.fixture
def sender(client: Client) -> Sender:
    return Sender(client)


@pytest.fixture
def source_for(policy: Policy, reviewer: Any) -> Callable[..., InboundSource]:
    return lambda verification, **kwargs: make_source(policy, verification, **kwargs)


TOKEN = "pat-na1-11111111-2222-3333-4444-555555555555"


@pytest.fixture
def hubspot_source(
    source_for: Callable[..., InboundSource], fake_hubspot: Any, settings: Any
) -> InboundSource:
    settings.HUBSPOT_API_URL = fake_hubspot.api_url
    settings.CALLBACK_ALLOW_PRIVATE_NETWORKS = True
    return source_for(
        "hubspot",
        slug="hubspot-deals",
        api_token=TOKEN,
        title_template="Discount for {inputFields.dealname}",
        external_id_path="object.objectId",
        event_id_path="",
        payload_fields={
            "amount": "inputFields.amount",
            "currency": "inputFields.currency",
            "customer": "inputFields.dealname",
        },
    )
