"""End to end on the real parts: Celery beat + a worker on Redis + PostgreSQL + SMTP + a
Standard-Webhooks receiver. A request due seconds from now gets its reminder and its
escalation, each once, and the escalation callback arrives, signed."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.utils import timezone

from approvals.models import (
    ApprovalRequest,
    AuditEntry,
    Notification,
    OutboxEvent,
    Policy,
    ReviewerGroup,
)
from tests.conftest import requires_broker
from tests.factories import GroupFactory, MembershipFactory, UserFactory
from tests.fixtures.receiver import Receiver
from tests.fixtures.smtp import SmtpServer

SLA_SECONDS = 8


def wait_until(
    check: Callable[[], bool], timeout: float, what: str, log: Callable[[], str]
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"{what} did not happen within {timeout} s; worker log:\n{log()[-4000:]}")


@requires_broker
def test_beat_reminds_and_escalates_once_and_the_callback_arrives(
    transactional_db: Any,
    celery_worker: Any,
    receiver: Receiver,
    smtp_server: SmtpServer,
    policy: Policy,
    support: ReviewerGroup,
    reviewer: Any,
    other_reviewer: Any,
) -> None:
    seniors: Any = GroupFactory.create(slug="seniors", name="Seniors")
    MembershipFactory.create(
        group=seniors, user=UserFactory.create(username="sam", email="sam@example.com")
    )
    support.escalation_group = seniors
    support.save()
    policy.callback_url = receiver.url
    policy.save()
    receiver.secrets = policy.signing_secrets()

    worker = celery_worker(
        beat=True,
        env={
            "SWEEP_INTERVAL_SECONDS": "1",
            "DISTRIBUTE_INTERVAL_SECONDS": "3600",
            "DELIVER_INTERVAL_SECONDS": "1",
            "EMAIL_URL": smtp_server.url,
        },
    )
    from approvals.services import approval_submit

    approval = approval_submit(
        policy=policy,
        title="Refund for order #9001",
        payload={"amount": 120.0},
        external_id="ticket-9001",
        due_at=timezone.now() + timedelta(seconds=SLA_SECONDS),
    )

    [callback] = receiver.wait_for(1, timeout=SLA_SECONDS + 25)
    assert callback.verified, callback.error
    assert callback.json["type"] == "request.escalated"
    assert callback.json["data"]["id"] == str(approval.pk)
    assert callback.json["data"]["assigned_group"] == "seniors"

    def reminder_marks() -> list[str]:
        keys = Notification.objects.filter(kind="reminder", approval=approval).values_list(
            "key", flat=True
        )
        return sorted(k for k in keys if k.count(":") == 3)

    wait_until(lambda: bool(reminder_marks()), 5, "a reminder", worker.log)
    # Let beat fire a few more sweeps: nothing happens twice.
    time.sleep(3)
    marks = reminder_marks()
    assert marks and len(marks) <= 2
    assert AuditEntry.objects.filter(approval=approval, action="reminded").count() == len(marks)
    assert AuditEntry.objects.filter(approval=approval, action="escalated").count() == 1
    assert (
        OutboxEvent.objects.filter(approval=approval, event_type="request.escalated").count() == 1
    )
    assert len(receiver.requests) == 1

    approval.refresh_from_db()
    assert approval.escalated and approval.escalation_count == 1
    assert approval.status == ApprovalRequest.Status.PENDING

    # Email through the real SMTP server: each reminder at most once to each support member, and
    # the escalation to sam. A reminder whose notice runs after the escalation (the notice queue
    # waits a window) is dropped: the escalation's email tells the group it now waits on.
    subjects = [(m["To"], m["Subject"]) for m in smtp_server.messages]
    reminders = Counter(to for to, subject in subjects if subject.startswith("Reminder"))
    assert set(reminders) == {"alice@example.com", "bob@example.com"}
    assert 1 <= reminders["alice@example.com"] == reminders["bob@example.com"] <= len(marks)
    assert ("sam@example.com", "Escalated to you: Refund for order #9001") in subjects
