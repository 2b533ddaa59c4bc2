"""Callbacks are signed per Standard Webhooks; verify before trusting one."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

__all__ = ["WebhookVerificationError", "verify_webhook"]


def verify_webhook(secret: str, headers: Mapping[str, str], body: bytes | str) -> dict[str, Any]:
    """The callback's event (`{"type", "timestamp", "data"}`) if its signature is good.

    `secret` is the policy's `whsec_…` (`manage.py policy_secret SLUG`); `headers` any mapping
    holding `webhook-id`, `webhook-timestamp` and `webhook-signature`; `body` the raw bytes
    exactly as received. Raises WebhookVerificationError on a bad or missing signature, or a
    timestamp more than five minutes away.
    """
    raw = body.encode() if isinstance(body, str) else bytes(body)
    Webhook(secret).verify(raw, {str(k): str(v) for k, v in headers.items()})
    event: dict[str, Any] = json.loads(raw)
    return event
