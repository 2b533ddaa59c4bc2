"""Four-eyes by identity on the Slack decide path (docs/security.md "Four-eyes")."""

from __future__ import annotations

from typing import Any

from approvals.models import Decision
from tests.fixtures.slack import FakeSlack
from tests.slack.conftest import click_payload


def test_the_token_user_cannot_approve_in_slack_whatever_requested_by_says(
    slack: FakeSlack, reviewer: Any, submit_now: Any, interact: Any
) -> None:
    from approvals.slack.delivery import slack_user_id

    approval = submit_now(requester_id=reviewer.pk, requested_by="")
    slack_user_id(reviewer)
    interact(click_payload(approval, "approve"))
    (call,) = slack.ok_calls("chat.postEphemeral")
    assert "someone else has to approve it" in str(call.params["text"])
    approval.refresh_from_db()
    assert approval.status == "pending"
    assert not Decision.objects.filter(approval=approval).exists()
