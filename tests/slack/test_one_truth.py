"""One truth: a decision anywhere updates every Slack message of the request; reminders and
escalations reply in the thread; a field the policy hides never reaches Slack."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from approvals.inbox.deeplinks import make_token
from approvals.models import ApprovalRequest, SlackMessage
from approvals.services import approval_expire
from approvals.services.sla import approval_sla_check
from approvals.services.tokens import api_token_create
from tests.fixtures.slack import FakeSlack
from tests.slack.conftest import CHANNEL, click_payload, submission_payload


@pytest.fixture
def posted(slack: FakeSlack, round_robin: Any, reviewer: Any, submit_now: Any) -> ApprovalRequest:
    """A request assigned to alice, posted to the support channel and to alice."""
    approval = submit_now()
    assert len(slack.ok_calls("chat.postMessage")) == 2
    return approval


def _updated_to(slack: FakeSlack, word: str) -> list[str]:
    found = []
    for call in slack.ok_calls("chat.update"):
        blocks = json.dumps(call.params["blocks"])
        assert '"actions"' not in blocks, "a decided message keeps no buttons"
        if word in blocks:
            found.append(call.params["channel"])
    return sorted(found)


def test_a_decision_in_the_inbox_updates_every_message(
    slack: FakeSlack, posted: ApprovalRequest, reviewer: Any, client: Client,
    django_capture_on_commit_callbacks: Any) -> None:  # fmt: skip
    client.force_login(reviewer)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/inbox/{posted.pk}/decide", {"option": "approve"})
    assert response.status_code == 302
    assert _updated_to(slack, "by alice") == [CHANNEL, "DALICE"]
    assert all(m.shown == "approved" for m in SlackMessage.objects.filter(approval=posted))


def test_a_decision_by_email_link_updates_every_message(
    slack: FakeSlack, posted: ApprovalRequest, reviewer: Any, client: Client,
    django_capture_on_commit_callbacks: Any) -> None:  # fmt: skip
    token = make_token(reviewer=reviewer, approval=posted, option_key="reject")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/d/{token}/", {"approval": str(posted.pk), "comment": "no"})
    assert response.status_code == 200
    assert _updated_to(slack, "Rejected") == [CHANNEL, "DALICE"]
    assert "(Email)" in json.dumps(slack.ok_calls("chat.update")[0].params["blocks"])


def test_a_timeout_updates_every_message(
    slack: FakeSlack, posted: ApprovalRequest, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        approval_expire(approval=posted)
    assert _updated_to(slack, "Expired") == [CHANNEL, "DALICE"]


def test_a_cancel_through_the_api_updates_every_message(
    slack: FakeSlack, posted: ApprovalRequest, client: Client,
    django_capture_on_commit_callbacks: Any) -> None:  # fmt: skip
    # A caller cancels only its own requests (another caller's is a 404): this one is zendesk's.
    ApprovalRequest.objects.filter(pk=posted.pk).update(caller="zendesk")
    _, raw = api_token_create(name="zendesk")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/api/v1/requests/{posted.pk}/cancel", headers={"Authorization": f"Bearer {raw}"}
        )
    assert response.status_code == 200, response.content
    assert _updated_to(slack, "Cancelled") == [CHANNEL, "DALICE"]


def test_a_reminder_and_an_escalation_reply_in_each_thread(
    slack: FakeSlack, posted: ApprovalRequest, django_capture_on_commit_callbacks: Any
) -> None:
    due = posted.due_at
    assert due is not None
    with django_capture_on_commit_callbacks(execute=True):
        approval_sla_check(approval=posted, now=due - timedelta(minutes=30))
    replies = [c for c in slack.ok_calls("chat.postMessage") if c.params.get("thread_ts")]
    assert len(replies) == 2 and all("Reminder" in c.params["text"] for c in replies)
    parents = {
        (m.channel, m.ts) for m in SlackMessage.objects.filter(kind__in=["channel", "direct"])
    }
    assert {(c.params["channel"], c.params["thread_ts"]) for c in replies} == parents

    with django_capture_on_commit_callbacks(execute=True):
        approval_sla_check(approval=posted, now=due + timedelta(minutes=1))
    replies = [c for c in slack.ok_calls("chat.postMessage") if c.params.get("thread_ts")]
    assert sum("Escalated" in c.params["text"] for c in replies) == 2

    # The same reminder point again sends nothing more.
    with django_capture_on_commit_callbacks(execute=True):
        approval_sla_check(approval=posted, now=due - timedelta(minutes=30))
    assert len([c for c in slack.ok_calls("chat.postMessage") if c.params.get("thread_ts")]) == 4


def test_a_hidden_field_never_reaches_slack(
    slack: FakeSlack, round_robin: Any, reviewer: Any, policy: Any, submit_now: Any,
    interact: Any) -> None:  # fmt: skip
    policy.visible_fields = ["amount", "currency"]
    policy.save()
    secret = "acct-7731-SECRET-do-not-share"
    approval = submit_now(payload={"amount": 120.0, "currency": "USD", "customer": secret})

    interact(click_payload(approval, "reject"))  # the modal
    interact(submission_payload(approval, "reject", comment="Duplicate"))  # the decision
    interact(click_payload(approval, "approve"))  # a stale click

    methods = {c.method for c in slack.calls}
    assert {"chat.postMessage", "views.open", "chat.update", "chat.postEphemeral"} <= methods
    for call in slack.calls:
        assert secret not in call.text(), call.method
        assert "customer" not in call.text().lower(), call.method
    assert "USD 120" in slack.ok_calls("chat.postMessage")[0].text()


def test_a_request_moving_to_its_next_stage_closes_the_first_stages_messages(
    slack: FakeSlack, reviewer: Any, finance: Any, policy: Any, submit_now: Any,
    interact: Any) -> None:  # fmt: skip
    from tests.factories import StageFactory

    finance.slack_channel = "C0FINANCE"
    finance.save()
    StageFactory.create(policy=policy, group=finance, position=99)
    approval = submit_now()
    assert [c.params["channel"] for c in slack.ok_calls("chat.postMessage")] == [CHANNEL]

    interact(click_payload(approval, "approve"))
    approval.refresh_from_db()
    assert (approval.status, approval.stage) == ("pending", 2)
    (update,) = slack.ok_calls("chat.update")
    assert "moved on to stage 2" in json.dumps(update.params["blocks"])
    assert slack.ok_calls("chat.postMessage")[-1].params["channel"] == "C0FINANCE"


def test_without_slack_configured_nothing_reaches_slack(
    fake_slack: FakeSlack, settings: Any, support: Any, round_robin: Any, reviewer: Any,
    submit_now: Any) -> None:  # fmt: skip
    fake_slack.users = {"alice@example.com": "UALICE"}
    support.slack_channel = CHANNEL
    support.save()
    settings.SLACK_BOT_TOKEN = ""
    approval = submit_now()
    approval_expire(approval=approval)
    assert fake_slack.calls == []
    assert not SlackMessage.objects.exists()


def test_a_reviewer_who_turned_slack_off_gets_no_direct_message(
    slack: FakeSlack, round_robin: Any, reviewer: Any, submit_now: Any
) -> None:
    from approvals.models import ReviewerProfile

    ReviewerProfile.objects.create(user=reviewer, slack_enabled=False)
    submit_now()
    assert [c.params["channel"] for c in slack.ok_calls("chat.postMessage")] == [CHANNEL]


def test_the_slack_id_is_looked_up_once_and_again_after_an_email_change(
    slack: FakeSlack, round_robin: Any, reviewer: Any, submit_now: Any
) -> None:
    submit_now()
    submit_now()
    assert len(slack.ok_calls("users.lookupByEmail")) == 1
    reviewer.email = "alice.new@example.com"
    reviewer.save()
    slack.users["alice.new@example.com"] = "UALICE2"
    submit_now()
    assert len(slack.ok_calls("users.lookupByEmail")) == 2
    assert slack.ok_calls("chat.postMessage")[-1].params["channel"] in ("UALICE2", CHANNEL)
    assert "UALICE2" in [c.params["channel"] for c in slack.ok_calls("chat.postMessage")]


def test_a_reviewer_slack_does_not_know_gets_no_direct_message(
    slack: FakeSlack, round_robin: Any, reviewer: Any, submit_now: Any
) -> None:
    slack.users.pop("alice@example.com")
    submit_now()
    submit_now()
    assert [c.params["channel"] for c in slack.ok_calls("chat.postMessage")] == [CHANNEL, CHANNEL]
    assert len([c for c in slack.calls if c.method == "users.lookupByEmail"]) == 1
    _ = timezone.now()
