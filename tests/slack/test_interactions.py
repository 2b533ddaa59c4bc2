"""/slack/interactions: signed clicks and modal submissions, decided through `approval_decide`."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from django.test import Client

from approvals.models import ApprovalRequest, AuditEntry, Decision, DecisionOption, Outcome
from approvals.services import approval_decide
from tests.fixtures.slack import FakeSlack
from tests.slack.conftest import click_payload, send, submission_payload


def _unchanged(approval: ApprovalRequest) -> None:
    approval.refresh_from_db()
    assert approval.status == "pending"
    assert not Decision.objects.filter(approval=approval).exists()


def _ephemeral(slack: FakeSlack) -> str:
    (call,) = slack.ok_calls("chat.postEphemeral")
    return str(call.params["text"])


# --- the approve click, end to end in one process -------------------------------------------------


def test_approve_decides_with_channel_slack_and_updates_every_message(
    slack: FakeSlack, round_robin: Any, reviewer: Any, submit_now: Any, interact: Any
) -> None:
    approval = submit_now()
    response = interact(click_payload(approval, "approve"))
    assert response.status_code == 200

    decision = Decision.objects.get(approval=approval)
    assert (decision.channel, decision.decided_by, decision.outcome) == (
        "slack",
        reviewer,
        "approve",
    )
    approval.refresh_from_db()
    assert approval.status == "approved"
    updates = slack.ok_calls("chat.update")
    assert sorted(c.params["channel"] for c in updates) == ["C0SUPPORT", "DALICE"]
    for call in updates:
        blocks = json.dumps(call.params["blocks"])
        assert "Approved" in blocks and "alice" in blocks
        assert '"actions"' not in blocks and "decide:" not in blocks


# --- who may click ------------------------------------------------------------------------------


def test_a_slack_user_who_is_no_reviewer_of_the_request_is_refused(
    slack: FakeSlack, outsider: Any, pending: ApprovalRequest, interact: Any
) -> None:
    slack.users["olga@example.com"] = "UOLGA"
    from approvals.slack.delivery import slack_user_id

    slack_user_id(outsider)  # olga is known to Slack and to Checkpoint, but not in support
    response = interact(click_payload(pending, "approve", user="UOLGA"))
    assert response.status_code == 200
    assert "not a reviewer of this request" in _ephemeral(slack)
    assert pending.title not in _ephemeral(slack)
    _unchanged(pending)


def test_a_slack_user_checkpoint_does_not_know_is_refused(
    slack: FakeSlack, pending: ApprovalRequest, interact: Any
) -> None:
    response = interact(click_payload(pending, "approve", user="USTRANGER"))
    assert response.status_code == 200
    assert "not a reviewer" in _ephemeral(slack)
    _unchanged(pending)


def test_the_requester_cannot_approve_their_own_request(
    slack: FakeSlack, reviewer: Any, submit_now: Any, interact: Any
) -> None:
    approval = submit_now(requested_by="alice@example.com")
    from approvals.slack.delivery import slack_user_id

    slack_user_id(reviewer)
    interact(click_payload(approval, "approve"))
    assert "someone else has to approve it" in _ephemeral(slack)
    _unchanged(approval)


def test_a_click_on_a_request_decided_in_the_inbox_says_who_and_when(
    slack: FakeSlack,
    reviewer: Any,
    other_reviewer: Any,
    submit_now: Any,
    interact: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    approval = submit_now()
    with django_capture_on_commit_callbacks(execute=True):
        approval_decide(approval=approval, reviewer=other_reviewer, option="approve")
    audit_before = AuditEntry.objects.count()

    from approvals.slack.delivery import slack_user_id

    slack_user_id(reviewer)
    response = interact(click_payload(approval, "reject"))
    assert response.status_code == 200
    assert _ephemeral(slack).startswith("Already decided by bob at 20")
    assert Decision.objects.filter(approval=approval).count() == 1
    assert AuditEntry.objects.count() == audit_before
    assert not slack.ok_calls("views.open")


def test_a_vote_that_does_not_finish_the_request_is_confirmed_to_the_voter(
    slack: FakeSlack, reviewer: Any, other_reviewer: Any, policy: Any, submit: Any, interact: Any
) -> None:
    stage = policy.stages.get()
    stage.quorum = "all"
    stage.save()
    approval = submit()
    approval.stage_plan[0]["quorum"] = "all"
    ApprovalRequest.objects.filter(pk=approval.pk).update(stage_plan=approval.stage_plan)
    from approvals.slack.delivery import slack_user_id

    slack_user_id(reviewer)
    interact(click_payload(approval, "approve"))
    assert "is recorded; the request waits for more" in _ephemeral(slack)
    approval.refresh_from_db()
    assert approval.status == "pending"
    assert Decision.objects.get(approval=approval).channel == "slack"


# --- modals: reject, comments, values -----------------------------------------------------------


@pytest.fixture
def known_alice(slack: FakeSlack, reviewer: Any) -> Any:
    from approvals.slack.delivery import slack_user_id

    slack_user_id(reviewer)
    return reviewer


def test_reject_opens_a_modal_and_changes_nothing_yet(
    slack: FakeSlack, known_alice: Any, pending: ApprovalRequest, interact: Any
) -> None:
    response = interact(click_payload(pending, "reject"))
    assert response.status_code == 200
    (call,) = slack.ok_calls("views.open")
    assert call.params["trigger_id"] == "1337.42.abcdef"
    view = call.params["view"]
    view = json.loads(view) if isinstance(view, str) else view
    assert view["type"] == "modal" and view["callback_id"] == "checkpoint_decide"
    assert [b.get("block_id") for b in view["blocks"] if b["type"] == "input"] == ["comment"]
    assert json.loads(view["private_metadata"])["o"] == "reject"
    _unchanged(pending)


def test_the_modal_submission_decides_with_the_reason(
    slack: FakeSlack, known_alice: Any, pending: ApprovalRequest, interact: Any
) -> None:
    response = interact(submission_payload(pending, "reject", comment="Duplicate refund."))
    assert response.status_code == 200 and response.content == b""
    decision = Decision.objects.get(approval=pending)
    assert (decision.outcome, decision.comment, decision.channel) == (
        "reject", "Duplicate refund.", "slack")  # fmt: skip


def test_an_empty_required_comment_gets_slacks_inline_error(
    slack: FakeSlack, known_alice: Any, pending: ApprovalRequest, interact: Any
) -> None:
    interact(click_payload(pending, "request_changes"))
    assert len(slack.ok_calls("views.open")) == 1
    response = interact(submission_payload(pending, "request_changes", comment="   "))
    assert response.status_code == 200
    body = response.json()
    assert body["response_action"] == "errors"
    assert set(body["errors"]) == {"comment"}
    _unchanged(pending)


def test_an_option_needing_a_value_asks_for_it_and_refuses_it_empty(
    slack: FakeSlack, known_alice: Any, policy: Any, pending: ApprovalRequest, interact: Any
) -> None:
    DecisionOption.objects.create(
        policy=policy, key="custom", label="Custom", outcome=Outcome.APPROVE, needs_value=True,
        position=9)  # fmt: skip
    interact(click_payload(pending, "custom"))
    view = slack.ok_calls("views.open")[0].params["view"]
    view = json.loads(view) if isinstance(view, str) else view
    assert [b["block_id"] for b in view["blocks"] if b["type"] == "input"] == ["value", "comment"]

    response = interact(submission_payload(pending, "custom", value=""))
    assert response.json() == {"response_action": "errors", "errors": {"value": "Enter a value."}}
    _unchanged(pending)

    response = interact(submission_payload(pending, "custom", value="ERP wins"))
    assert response.status_code == 200
    assert Decision.objects.get(approval=pending).value == "ERP wins"


def test_a_submission_for_a_request_decided_meanwhile_is_refused_inline(
    slack: FakeSlack, known_alice: Any, other_reviewer: Any, pending: ApprovalRequest,
    interact: Any) -> None:  # fmt: skip
    approval_decide(approval=pending, reviewer=other_reviewer, option="approve")
    response = interact(submission_payload(pending, "reject", comment="no"))
    assert response.json()["errors"]["comment"].startswith("Already decided by bob at")
    assert Decision.objects.filter(approval=pending).count() == 1


# --- signatures, bad input, outsiders ---------------------------------------------------------------


def test_a_bad_signature_is_a_401_and_changes_nothing(
    slack: FakeSlack, known_alice: Any, pending: ApprovalRequest, client: Client
) -> None:
    response = send(client, click_payload(pending, "approve"), secret="not-the-secret")
    assert response.status_code == 401
    _unchanged(pending)
    assert not slack.calls or all(c.method == "users.lookupByEmail" for c in slack.calls)


def test_a_timestamp_older_than_five_minutes_is_a_401(
    slack: FakeSlack, known_alice: Any, pending: ApprovalRequest, client: Client
) -> None:
    old = int(time.time()) - 6 * 60
    response = send(client, click_payload(pending, "approve"), timestamp=old)
    assert response.status_code == 401
    _unchanged(pending)


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": "v0=00"},
     {"X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": ""}],
)  # fmt: skip
def test_an_anonymous_or_malformed_signature_is_a_401(
    slack: FakeSlack, pending: ApprovalRequest, client: Client, headers: dict[str, str]
) -> None:
    response = client.post(
        "/slack/interactions", data={"payload": json.dumps(click_payload(pending, "approve"))},
        headers=headers)  # fmt: skip
    assert response.status_code == 401
    _unchanged(pending)


@pytest.mark.parametrize(
    "raw",
    [b"", b"payload=not-json", b"payload=%5B1%2C2%5D", b"payload=%7B%7D",
     b'payload={"type":"block_actions"}', b"payload=" + b"%00" * 10],
)  # fmt: skip
def test_a_signed_body_that_is_no_interaction_is_a_400(
    slack: FakeSlack, pending: ApprovalRequest, client: Client, raw: bytes
) -> None:
    response = send(client, None, raw=raw)
    assert response.status_code == 400
    _unchanged(pending)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda p: p["actions"][0].update(value="not-a-uuid"),
        lambda p: p["actions"][0].update(value="0190d7a4-0000-7000-8000-000000000000"),
        lambda p: p["actions"][0].update(action_id="decide:no-such-option"),
        lambda p: p.update(actions="nope"),
    ],
)
def test_odd_clicks_change_nothing_and_never_fail(
    slack: FakeSlack, known_alice: Any, pending: ApprovalRequest, interact: Any, mangle: Any
) -> None:
    payload = click_payload(pending, "approve")
    mangle(payload)
    response = interact(payload)
    assert response.status_code == 200
    _unchanged(pending)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda p: p["view"].update(private_metadata="{not json"),
        lambda p: p["view"].update(private_metadata=json.dumps(["a"])),
        lambda p: p["view"].update(state="x"),
        lambda p: p["view"].update(callback_id="someone-elses"),
        lambda p: p.update(view=None),
    ],
)
def test_odd_submissions_change_nothing_and_never_fail(
    slack: FakeSlack, known_alice: Any, pending: ApprovalRequest, interact: Any, mangle: Any
) -> None:
    payload = submission_payload(pending, "request_changes", comment="")
    mangle(payload)
    response = interact(payload)
    assert response.status_code in (200, 400)
    _unchanged(pending)


def test_a_body_that_is_not_utf8_cannot_be_verified(
    slack: FakeSlack, pending: ApprovalRequest, client: Client
) -> None:
    assert send(client, None, raw=b"\xff\xfe").status_code == 401


def test_the_link_button_and_other_interactions_are_acknowledged_only(
    slack: FakeSlack, known_alice: Any, pending: ApprovalRequest, interact: Any
) -> None:
    payload = click_payload(pending, "approve")
    payload["actions"][0]["action_id"] = "open"
    assert interact(payload).status_code == 200
    assert interact({"type": "view_closed", "user": {"id": "UALICE"}}).status_code == 200
    _unchanged(pending)


def test_only_post_is_allowed(slack: FakeSlack, client: Client) -> None:
    assert client.get("/slack/interactions").status_code == 405


def test_without_slack_configured_the_url_is_a_404(
    settings: Any, pending: ApprovalRequest, client: Client
) -> None:
    settings.SLACK_BOT_TOKEN = ""
    settings.SLACK_SIGNING_SECRET = ""
    response = send(client, click_payload(pending, "approve"))
    assert response.status_code == 404
    _unchanged(pending)
