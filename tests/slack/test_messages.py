"""What Slack gets when a request enters a queue or is assigned: the Block Kit message."""

from __future__ import annotations

import json
from typing import Any

from approvals.models import ReviewerProfile, SlackMessage
from tests.fixtures.slack import FakeSlack
from tests.slack.conftest import CHANNEL


def _blocks(call: Any) -> list[dict[str, Any]]:
    blocks = call.params["blocks"]
    return json.loads(blocks) if isinstance(blocks, str) else blocks


def test_an_assigned_request_goes_to_the_channel_and_to_the_assignee(
    slack: FakeSlack, round_robin: Any, reviewer: Any, submit_now: Any
) -> None:
    approval = submit_now()

    assert approval.assignee == reviewer
    posts = slack.ok_calls("chat.postMessage")
    assert sorted(c.params["channel"] for c in posts) == [CHANNEL, "UALICE"]
    blocks = _blocks(posts[0])
    assert blocks[0] == {"type": "header", "text": {"type": "plain_text", "text": approval.title}}
    text = json.dumps(blocks)
    assert "Check the amount against the order" in text  # the policy summary
    actions = next(b for b in blocks if b["type"] == "actions")["elements"]
    assert [a["text"]["text"] for a in actions] == [
        "Approve", "Reject", "Request changes", "Open in Checkpoint"]  # fmt: skip
    assert actions[-1]["url"].endswith(f"/inbox/{approval.pk}/")
    assert all(c.params["unfurl_links"] is False for c in posts)
    rows = SlackMessage.objects.filter(approval=approval)
    assert {(r.kind, r.state, r.channel) for r in rows} == {
        ("channel", "sent", CHANNEL), ("direct", "sent", "DALICE")}  # fmt: skip
    assert ReviewerProfile.objects.get(user=reviewer).slack_user_id == "UALICE"
