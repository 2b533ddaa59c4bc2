"""Batched notices: new work in a pull group's queue reaches each member at most once per
NOTIFY_BATCH_MINUTES, as one email listing every arrival with its links; per-kind choices
(right away, batched, off) from the Settings page."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from approvals.models import ApprovalRequest, Notification, Policy, ReviewerGroup, ReviewerProfile
from approvals.notifications.email import notify, send_due_batches
from tests.conftest import requires_broker
from tests.factories import GroupFactory, MembershipFactory, UserFactory, make_policy
from tests.fixtures.smtp import SmtpServer


def text_of(message: EmailMessage) -> str:
    return str(message.get_body(("plain",)).get_content())  # type: ignore[union-attr]


def submitted(submit: Callable[..., ApprovalRequest]) -> ApprovalRequest:
    """A new request and its "assigned" notice (the on-commit task, run here by hand)."""
    approval = submit()
    notify(approval_id=str(approval.pk), kind="assigned", stage=approval.stage)
    return approval


def age_waiting_notices(minutes: float) -> None:
    Notification.objects.exclude(batch="").update(
        created_at=timezone.now() - timedelta(minutes=minutes)
    )


def test_new_work_waits_in_a_batch_and_goes_out_as_one_email_per_member(
    submit: Callable[..., ApprovalRequest],
    reviewer: Any,
    other_reviewer: Any,
    smtp_email: SmtpServer,
    settings: Any,
) -> None:
    settings.NOTIFY_BATCH_MINUTES = 15
    approvals = [submitted(submit) for _ in range(3)]
    assert smtp_email.messages == []
    batch = f"group:{approvals[0].assigned_group_id}"
    assert Notification.objects.filter(batch=batch).count() == 6
    assert send_due_batches() == 0  # the window has not passed
    age_waiting_notices(16)
    assert send_due_batches() == 2
    assert send_due_batches() == 0  # once
    messages = smtp_email.wait_for(2)
    assert sorted(m["To"] for m in messages) == ["alice@example.com", "bob@example.com"]
    for message in messages:
        assert message["Subject"] == "3 new requests in Support leads"
        text = text_of(message)
        for approval in approvals:
            assert approval.title in text
            assert f"{settings.SITE_URL}/inbox/{approval.pk}/" in text
        assert len(re.findall(re.escape(settings.SITE_URL) + r"/d/[^\s]+/", text)) == 9


def test_a_request_decided_before_the_batch_goes_out_is_left_out(
    submit: Callable[..., ApprovalRequest],
    reviewer: Any,
    other_reviewer: Any,
    smtp_email: SmtpServer,
    settings: Any,
) -> None:
    from approvals.services import approval_decide

    settings.NOTIFY_BATCH_MINUTES = 15
    first, second = submitted(submit), submitted(submit)
    approval_decide(approval=first, reviewer=reviewer, option="approve")
    age_waiting_notices(16)
    assert send_due_batches() == 2
    for message in smtp_email.wait_for(2):
        assert message["Subject"] == "1 new request in Support leads"
        assert second.title in text_of(message) and first.title not in text_of(message)


def test_each_kind_follows_the_reviewers_choice(
    submit: Callable[..., ApprovalRequest],
    reviewer: Any,
    other_reviewer: Any,
    smtp_email: SmtpServer,
    settings: Any,
) -> None:
    settings.NOTIFY_BATCH_MINUTES = 15
    ReviewerProfile.objects.update_or_create(user=reviewer, defaults={"notify_queue": "immediate"})
    ReviewerProfile.objects.update_or_create(user=other_reviewer, defaults={"notify_queue": "off"})
    approval = submitted(submit)
    (message,) = smtp_email.wait_for(1)
    assert message["To"] == "alice@example.com"
    assert message["Subject"] == f"Decision needed: {approval.title}"
    age_waiting_notices(16)
    assert send_due_batches() == 0
    assert not Notification.objects.filter(recipient=other_reviewer).exists()


def test_the_settings_page_saves_the_choices_and_refuses_bad_ones(
    client: Client, reviewer: Any
) -> None:
    client.force_login(reviewer)
    page = client.get(reverse("settings"))
    assert page.status_code == 200 and b"notify_queue" in page.content
    data = {"notify_queue": "off", "notify_assigned": "batched", "notify_reminders": "immediate"}
    assert client.post(reverse("settings"), data).status_code == 302
    profile = ReviewerProfile.objects.get(user=reviewer)
    assert (profile.notify_queue, profile.notify_assigned) == ("off", "batched")
    bad = client.post(reverse("settings"), {**data, "notify_queue": "hourly"})
    assert bad.status_code == 422 and b"hourly" in bad.content
    assert ReviewerProfile.objects.get(user=reviewer).notify_queue == "off"


@requires_broker
def test_ten_requests_in_a_minute_make_one_email_per_member_and_a_push_one_for_the_assignee(
    transactional_db: Any,
    celery_worker: Any,
    smtp_server: SmtpServer,
    policy: Policy,
    support: ReviewerGroup,
    settings: Any,
) -> None:
    members = [
        UserFactory.create(username=name, email=f"{name}@example.com")
        for name in ("ann", "ben", "cat")
    ]
    for user in members:
        MembershipFactory.create(group=support, user=user)
    pushers: Any = GroupFactory.create(slug="pushers", name="Pushers", strategy="round_robin")
    pat = UserFactory.create(username="pat", email="pat@example.com")
    MembershipFactory.create(group=pushers, user=pat)
    push_policy = make_policy(slug="push-policy", group=pushers, threshold=None)
    settings.NOTIFY_BATCH_MINUTES = 1  # the ten arrive within it; the test waits it out
    worker = celery_worker(env={"EMAIL_URL": smtp_server.url}, ready_timeout=180)
    from approvals.services import approval_submit

    started = time.monotonic()
    titles = []
    for n in range(10):
        approval = approval_submit(
            policy=policy,
            title=f"Refund for order #{7000 + n}",
            payload={"amount": 120.0},
            external_id=f"batch-{n}",
        )
        titles.append(approval.title)
    assert time.monotonic() - started < 60, "the ten requests took longer than one window"
    pushed = approval_submit(
        policy=push_policy, title="Pushed to pat", payload={"amount": 120.0}, external_id="push-1"
    )
    assert pushed.assignee_id == pat.pk
    messages = smtp_server.wait_for(4, timeout=180)
    time.sleep(3)  # anything extra would arrive now
    messages = list(smtp_server.messages)
    log = worker.log()
    by_recipient: dict[str, list[EmailMessage]] = {}
    for message in messages:
        by_recipient.setdefault(str(message["To"]), []).append(message)
    assert sorted(by_recipient) == sorted(
        ["ann@example.com", "ben@example.com", "cat@example.com", "pat@example.com"]
    ), log[-3000:]
    (to_pat,) = by_recipient["pat@example.com"]
    assert to_pat["Subject"] == "Decision needed: Pushed to pat"
    for user in members:
        (batch,) = by_recipient[user.email]
        assert batch["Subject"] == "10 new requests in Support leads"
        text = text_of(batch)
        assert all(title in text for title in titles)
        assert "Pushed to pat" not in text
