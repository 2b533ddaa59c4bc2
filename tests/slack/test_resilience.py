"""Slack failing (500s, 429s, a wrong token) never blocks an intake or a decision; messages
are sent once Slack answers, and nothing is sent twice."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from approvals.models import ApprovalRequest, Decision, SlackMessage
from approvals.services import approval_decide
from approvals.slack.delivery import deliver, deliver_due, sync
from tests.fixtures.slack import FakeSlack
from tests.slack.conftest import CHANNEL, click_payload


def _later(seconds: float) -> Any:
    return timezone.now() + timedelta(seconds=seconds)


def test_an_intake_succeeds_while_slack_errors_and_each_message_is_sent_once_later(
    slack: FakeSlack, round_robin: Any, reviewer: Any, submit_now: Any
) -> None:
    slack.fail(500, 500, method="chat.postMessage")
    approval = submit_now()

    assert approval.status == "pending" and approval.assignee == reviewer
    assert slack.ok_calls("chat.postMessage") == []
    rows = list(SlackMessage.objects.filter(approval=approval))
    assert len(rows) == 2
    for row in rows:
        assert (row.state, row.attempts) == ("pending", 1)
        assert "HTTP 500" in row.last_error
        assert row.next_attempt_at is not None and row.next_attempt_at > timezone.now()

    assert deliver_due() == 0  # not due yet
    assert deliver_due(now=_later(10)) == 2
    assert deliver_due(now=_later(3600)) == 0
    posts = slack.ok_calls("chat.postMessage")
    assert sorted(c.params["channel"] for c in posts) == [CHANNEL, "UALICE"]
    assert all(r.last_error == "" and r.state == "sent" for r in SlackMessage.objects.all())


def test_a_429_waits_for_its_retry_after(slack: FakeSlack, reviewer: Any, submit_now: Any) -> None:
    slack.fail((429, 120), method="chat.postMessage")
    submit_now()
    row = SlackMessage.objects.get()
    assert "ratelimited" in row.last_error and "429" in row.last_error
    assert row.next_attempt_at is not None
    assert row.next_attempt_at >= timezone.now() + timedelta(seconds=110)

    assert deliver_due(now=_later(60)) == 0
    assert slack.ok_calls("chat.postMessage") == []
    assert deliver_due(now=_later(125)) == 1
    assert len(slack.ok_calls("chat.postMessage")) == 1


def test_a_decision_succeeds_while_slack_is_down_and_the_update_follows(
    slack: FakeSlack, round_robin: Any, reviewer: Any, submit_now: Any, interact: Any
) -> None:
    approval = submit_now()
    slack.fail(500, 500)  # the two updates the decision makes
    response = interact(click_payload(approval, "approve"))
    assert response.status_code == 200
    assert Decision.objects.get(approval=approval).channel == "slack"
    assert slack.ok_calls("chat.update") == []

    assert deliver_due(now=_later(10)) == 2
    updates = slack.ok_calls("chat.update")
    assert sorted(c.params["channel"] for c in updates) == [CHANNEL, "DALICE"]
    assert deliver_due(now=_later(3600)) == 0
    assert len(slack.ok_calls("chat.update")) == 2


def test_a_request_decided_before_slack_answered_is_never_posted(
    slack: FakeSlack, reviewer: Any, submit_now: Any, django_capture_on_commit_callbacks: Any
) -> None:
    slack.fail(500, method="chat.postMessage")
    approval = submit_now()
    with django_capture_on_commit_callbacks(execute=True):
        approval_decide(approval=approval, reviewer=reviewer, option="approve")
    deliver_due(now=_later(10))
    assert slack.ok_calls("chat.postMessage") == []
    assert SlackMessage.objects.get().state == "skipped"


def test_a_second_sync_or_a_second_worker_sends_nothing_twice(
    slack: FakeSlack, round_robin: Any, reviewer: Any, submit_now: Any
) -> None:
    approval = submit_now()
    before = len(slack.calls)
    assert sync(approval_id=str(approval.pk), event="assigned") == 0
    assert len(slack.calls) == before

    row = SlackMessage.objects.filter(approval=approval).first()
    assert row is not None
    SlackMessage.objects.filter(pk=row.pk).update(
        next_attempt_at=timezone.now(), leased_until=_later(60), shown="stale"
    )
    assert deliver(message_id=row.pk) == 0  # another worker holds it
    assert len(slack.calls) == before


def test_a_wrong_token_is_recorded_as_failed_and_not_retried(
    slack: FakeSlack, settings: Any, round_robin: Any, reviewer: Any, submit_now: Any
) -> None:
    settings.SLACK_BOT_TOKEN = "xoxb-revoked"
    approval = submit_now()
    assert approval.status == "pending"
    rows = list(SlackMessage.objects.all())
    assert rows and all(r.state == "failed" and "invalid_auth" in r.last_error for r in rows)
    assert all(r.next_attempt_at is None for r in rows)
    assert deliver_due(now=_later(7200)) == 0
    # Nothing was remembered about alice from a failed lookup.
    assert not reviewer.reviewer_profile.slack_looked_up_at


def test_retries_stop_after_the_schedule(
    slack: FakeSlack, settings: Any, reviewer: Any, submit_now: Any
) -> None:
    settings.SLACK_RETRY_SCHEDULE = [1.0, 1.0]
    slack.fail(500, 500, 500, method="chat.postMessage")
    submit_now()
    deliver_due(now=_later(5))
    deliver_due(now=_later(10))
    row = SlackMessage.objects.get()
    assert (row.state, row.attempts, row.next_attempt_at) == ("failed", 3, None)
    assert isinstance(row.approval, ApprovalRequest)


def test_an_auto_decided_intake_does_not_involve_slack(
    slack: FakeSlack, reviewer: Any, submit_now: Any
) -> None:
    approval = submit_now(payload={"amount": 10.0, "currency": "USD", "customer": "acme"})
    assert approval.route == "auto"
    assert slack.calls == []
