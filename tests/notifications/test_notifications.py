"""Reviewer emails through a real SMTP server: content, recipients, at most once."""

from __future__ import annotations

import re
from email.message import EmailMessage
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from approvals.models import ApprovalRequest, Membership, Notification, ReviewerProfile
from approvals.notifications.email import notify, send_digests
from approvals.services import approval_decide
from approvals.tasks import notify_approval, send_daily_digests
from tests.fixtures.smtp import SmtpServer


def parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    return text, html


def send(approval: ApprovalRequest, kind: str = "assigned") -> int:
    return notify(approval_id=str(approval.pk), kind=kind, stage=approval.stage)


def test_a_pull_group_request_emails_every_present_member(
    pending: ApprovalRequest, smtp_email: SmtpServer
) -> None:
    assert send(pending) == 2
    messages = smtp_email.wait_for(2)
    assert sorted(m["To"] for m in messages) == ["alice@example.com", "bob@example.com"]


def test_the_email_has_the_request_the_policy_and_a_button_per_option(
    pending: ApprovalRequest, reviewer: Any, smtp_email: SmtpServer, settings: Any
) -> None:
    Membership.objects.exclude(user=reviewer).delete()
    send(pending)
    (message,) = smtp_email.wait_for(1)
    assert message["Subject"] == f"Decision needed: {pending.title}"
    text, html = parts(message)
    for body in (text, html):
        assert pending.title in body
        assert "Amount" in body and "120" in body and "acme" in body
        assert "Check the amount against the order" in body  # the policy summary
        assert pending.due_at is not None
        assert pending.due_at.strftime("%Y-%m-%d %H:%M") in body
        assert f"{settings.SITE_URL}/inbox/{pending.pk}/" in body
        assert "Open in inbox" in body
        for label in ("Approve", "Reject", "Request changes"):
            assert label in body
    links = re.findall(re.escape(settings.SITE_URL) + r"/d/[^\s\"<]+/", text)
    assert len(links) == 3 and len(set(links)) == 3
    assert set(re.findall(r'href="([^"]+/d/[^"]+)"', html)) == set(links)


def test_only_the_visible_fields_are_shown(
    pending: ApprovalRequest, smtp_email: SmtpServer
) -> None:
    pending.policy.visible_fields = ["amount"]
    pending.policy.save()
    send(pending)
    text, html = parts(smtp_email.wait_for(2)[0])
    assert "Amount: USD 120" in text and "acme" not in text and "acme" not in html


def test_the_email_writes_values_as_the_inbox_does(
    pending: ApprovalRequest, reviewer: Any, smtp_email: SmtpServer, client: Client
) -> None:
    Membership.objects.exclude(user=reviewer).delete()
    pending.payload = {**pending.payload, "refund": True}
    pending.save()
    send(pending)
    text, html = parts(smtp_email.wait_for(1)[0])
    assert "Refund: true" in text and "Refund: True" not in text
    assert "true" in html and ">True<" not in html
    client.force_login(reviewer)
    assert ">true<" in client.get(f"/inbox/{pending.pk}/").content.decode()


def test_the_approve_link_in_the_email_opens_the_confirm_page(
    pending: ApprovalRequest, reviewer: Any, smtp_email: SmtpServer, client: Client, settings: Any
) -> None:
    Membership.objects.exclude(user=reviewer).delete()
    send(pending)
    text, _ = parts(smtp_email.wait_for(1)[0])
    approve = re.search(r"Approve: (\S+)", text).group(1)  # type: ignore[union-attr]
    path = approve.removeprefix(settings.SITE_URL)
    assert "Confirm: Approve" in client.get(path).content.decode()
    assert client.post(path, {"approval": str(pending.pk)}).status_code == 200
    pending.refresh_from_db()
    assert pending.status == ApprovalRequest.Status.APPROVED


def test_running_the_task_twice_sends_each_email_once(
    pending: ApprovalRequest, smtp_email: SmtpServer
) -> None:
    assert notify_approval.delay(str(pending.pk), "assigned", pending.stage).get() == 2
    assert notify_approval.delay(str(pending.pk), "assigned", pending.stage).get() == 0
    assert len(smtp_email.messages) == 2
    assert Notification.objects.filter(sent_at__isnull=False).count() == 2


def test_an_assigned_request_emails_only_the_assignee(
    pending: ApprovalRequest, other_reviewer: Any, smtp_email: SmtpServer
) -> None:
    ApprovalRequest.objects.filter(pk=pending.pk).update(assignee=other_reviewer)
    assert send(pending) == 1
    assert smtp_email.wait_for(1)[0]["To"] == "bob@example.com"


def test_away_inactive_out_of_office_and_voted_members_get_nothing(
    submit: Any, reviewer: Any, other_reviewer: Any, smtp_email: SmtpServer, support: Any
) -> None:
    from tests.factories import MembershipFactory, UserFactory

    away = UserFactory.create(username="carl")
    MembershipFactory.create(group=support, user=away, away=True)
    gone = UserFactory.create(username="dina", is_active=False)
    MembershipFactory.create(group=support, user=gone)
    on_leave = UserFactory.create(username="emil")
    MembershipFactory.create(group=support, user=on_leave)
    ReviewerProfile.objects.create(user=on_leave, away_from=timezone.now())
    approval = submit()
    approval.stage_plan[0]["quorum"] = "all"
    ApprovalRequest.objects.filter(pk=approval.pk).update(stage_plan=approval.stage_plan)
    approval_decide(approval=approval, reviewer=other_reviewer, option="approve")
    assert send(approval) == 1
    assert smtp_email.wait_for(1)[0]["To"] == "alice@example.com"


def test_a_stale_notice_sends_nothing(
    pending: ApprovalRequest, reviewer: Any, smtp_email: SmtpServer
) -> None:
    assert notify(approval_id=str(pending.pk), kind="assigned", stage=pending.stage + 1) == 0
    approval_decide(approval=pending, reviewer=reviewer, option="approve")
    assert send(pending) == 0
    assert notify(approval_id="0190d5f0-0000-7000-8000-000000000000", kind="assigned", stage=1) == 0
    assert smtp_email.messages == []


def test_a_failed_send_is_recorded_and_retried(
    pending: ApprovalRequest, smtp_email: SmtpServer
) -> None:
    smtp_email.refuse.add("bob@example.com")
    assert send(pending) == 1
    failed = Notification.objects.get(recipient__username="bob")
    assert failed.sent_at is None and "550" in failed.error
    smtp_email.refuse.clear()
    assert send(pending) == 1  # only bob's is retried
    assert send(pending) == 0
    assert sorted(m["To"] for m in smtp_email.wait_for(2)) == [
        "alice@example.com",
        "bob@example.com",
    ]


def test_links_that_fail_to_mint_leave_no_claim_behind(
    pending: ApprovalRequest, reviewer: Any, smtp_email: SmtpServer, monkeypatch: Any
) -> None:
    """The claim and the deep links commit together: a notice whose links failed sent nothing
    and claimed nothing, so the next run sends it."""
    from approvals.notifications import email

    ApprovalRequest.objects.filter(pk=pending.pk).update(assignee=reviewer)

    def broken(**kwargs: Any) -> dict[str, str]:
        raise RuntimeError("links")

    monkeypatch.setattr(email, "issue_tokens", broken)
    with pytest.raises(RuntimeError):
        send(pending)
    assert not Notification.objects.exists()
    monkeypatch.undo()
    assert send(pending) == 1
    assert smtp_email.wait_for(1)[0]["To"] == "alice@example.com"


@pytest.mark.parametrize("kind", ["reminder", "escalated"])
def test_reminders_and_escalations_reuse_the_email(
    pending: ApprovalRequest, smtp_email: SmtpServer, kind: str
) -> None:
    assert notify(approval_id=str(pending.pk), kind=kind, stage=1, tag="0.5") == 2
    assert notify(approval_id=str(pending.pk), kind=kind, stage=1, tag="0.5") == 0
    assert notify(approval_id=str(pending.pk), kind=kind, stage=1, tag="0.9") == 2
    messages = smtp_email.wait_for(4)
    assert all(pending.title in m["Subject"] for m in messages)
    assert ("Reminder" if kind == "reminder" else "Escalated") in messages[0]["Subject"]


def test_the_daily_digest_lists_pending_work_once_a_day(
    submit: Any, reviewer: Any, other_reviewer: Any, smtp_email: SmtpServer
) -> None:
    first, second = submit(), submit()
    ReviewerProfile.objects.create(user=reviewer, daily_digest=True)
    assert send_daily_digests.delay().get() == 1
    assert send_digests() == 0
    (message,) = smtp_email.wait_for(1)
    assert message["To"] == "alice@example.com"
    text, html = parts(message)
    assert first.title in text and second.title in text and first.title in html
    assert "2 requests waiting" in text


def test_no_digest_without_pending_work(reviewer: Any, smtp_email: SmtpServer) -> None:
    ReviewerProfile.objects.create(user=reviewer, daily_digest=True)
    assert send_digests() == 0
    assert smtp_email.messages == []
