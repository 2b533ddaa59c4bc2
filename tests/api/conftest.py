"""The caller's side of the cast: an API token and a client that sends it."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from approvals.models import ApiToken, ApprovalRequest
from approvals.services.tokens import api_token_create


@pytest.fixture
def token(db: Any) -> tuple[ApiToken, str]:
    return api_token_create(name="zendesk")


@pytest.fixture
def submit(
    submit: Callable[..., ApprovalRequest], token: tuple[ApiToken, str]
) -> Callable[..., ApprovalRequest]:
    """As the service fixture, but the request belongs to the `token`'s caller: the API shows
    a caller only its own requests (docs/api.md "Tokens and callers")."""

    def _submit(**kwargs: Any) -> ApprovalRequest:
        kwargs.setdefault("caller", token[0].caller)
        return submit(**kwargs)

    return _submit


@pytest.fixture
def raw_token(token: tuple[ApiToken, str]) -> str:
    return token[1]


@pytest.fixture
def api(client: Client, raw_token: str) -> Client:
    """A test client that sends the token on every request."""
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {raw_token}"
    return client


@pytest.fixture
def body() -> dict[str, Any]:
    """A valid POST body for the `policy` fixture (human route: amount 120)."""
    return {
        "policy": "refund-approval",
        "external_id": "ticket-4411",
        "title": "Refund for order #4411",
        "summary": "Customer reports a damaged item.",
        "payload": {"amount": 120.0, "currency": "USD", "customer": "acme"},
        "requested_by": "zendesk",
    }


@pytest.fixture
def post(api: Client) -> Callable[..., Any]:
    """POST a body (a dict, or raw text/bytes sent as is) to /api/v1/requests."""

    def _post(
        data: Any, *, key: str | None = None, client: Client | None = None, **extra: Any
    ) -> Any:
        payload = data if isinstance(data, str | bytes) else json.dumps(data)
        headers = {"Idempotency-Key": key} if key is not None else {}
        return (client or api).post(
            "/api/v1/requests",
            data=payload,
            content_type=extra.pop("content_type", "application/json"),
            headers=headers,
            **extra,
        )

    return _post
