"""Slack's side of the cast: the fake Slack knows alice, bob and olga by email; the support
group posts to channel C0SUPPORT; helpers sign and send interactions as Slack does."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client

from approvals.models import ApprovalRequest, ReviewerGroup
from tests.fixtures.slack import FakeSlack

CHANNEL = "C0SUPPORT"
SLACK_IDS = {"alice@example.com": "UALICE", "bob@example.com": "UBOB", "olga@example.com": "UOLGA",
             "rita@example.com": "URITA"}  # fmt: skip


@pytest.fixture
def slack(fake_slack: FakeSlack, support: ReviewerGroup) -> FakeSlack:
    """Slack on, every cast member known to it, and the support group's channel set."""
    fake_slack.users = dict(SLACK_IDS)
    support.slack_channel = CHANNEL
    support.save(update_fields=["slack_channel"])
    return fake_slack


@pytest.fixture
def round_robin(support: ReviewerGroup) -> ReviewerGroup:
    support.strategy = ReviewerGroup.Strategy.ROUND_ROBIN
    support.save(update_fields=["strategy"])
    return support


@pytest.fixture
def submit_now(
    submit: Callable[..., ApprovalRequest], django_capture_on_commit_callbacks: Any
) -> Callable[..., ApprovalRequest]:
    """Submit and run what the intake enqueues after commit (Celery is eager in tests)."""

    def _submit(**kwargs: Any) -> ApprovalRequest:
        with django_capture_on_commit_callbacks(execute=True):
            approval = submit(**kwargs)
        approval.refresh_from_db()
        return approval

    return _submit


def click_payload(
    approval: ApprovalRequest, option: str, user: str = "UALICE", channel: str = CHANNEL
) -> dict[str, Any]:
    return {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower()},
        "team": {"id": "T0001"},
        "trigger_id": "1337.42.abcdef",
        "container": {"type": "message", "channel_id": channel, "message_ts": "1.2"},
        "channel": {"id": channel},
        "response_url": "https://hooks.slack.invalid/actions/1",
        "actions": [
            {
                "type": "button",
                "action_id": f"decide:{option}",
                "block_id": "decide",
                "value": str(approval.pk),
                "action_ts": str(time.time()),
            }
        ],
    }


def submission_payload(
    approval: ApprovalRequest,
    option: str,
    user: str = "UALICE",
    *,
    comment: str | None = "",
    value: str | None = None,
) -> dict[str, Any]:
    values: dict[str, Any] = {
        "comment": {"comment": {"type": "plain_text_input", "value": comment}}
    }
    if value is not None:
        values["value"] = {"value": {"type": "plain_text_input", "value": value}}
    return {
        "type": "view_submission",
        "user": {"id": user},
        "team": {"id": "T0001"},
        "view": {
            "id": "V1",
            "callback_id": "checkpoint_decide",
            "private_metadata": json.dumps({"a": str(approval.pk), "o": option}),
            "state": {"values": values},
        },
    }


def send(
    client: Client,
    payload: Any,
    *,
    timestamp: int | None = None,
    secret: str | None = None,
    raw: bytes | None = None,
) -> Any:
    """POST an interaction the way Slack does: form-encoded `payload`, signed."""
    body = raw if raw is not None else urlencode({"payload": json.dumps(payload)}).encode()
    extra = {"secret": secret} if secret else {}
    headers = FakeSlack.sign(body, timestamp=timestamp, **extra)
    return client.post(
        "/slack/interactions",
        data=body,
        content_type="application/x-www-form-urlencoded",
        headers=headers,
    )


@pytest.fixture
def interact(client: Client, django_capture_on_commit_callbacks: Any) -> Callable[..., Any]:
    """Send a signed interaction and run what it enqueues after commit."""

    def _interact(payload: Any, **kwargs: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return send(client, payload, **kwargs)

    return _interact
