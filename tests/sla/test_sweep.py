"""approvals.tasks.sweep_slas: reminders, escalation and expiry, each exactly once.

Time is moved by handing the sweep a `now` (the services stamp their own rows with the real
clock; what is due is decided by the `now` given).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from approvals.models import (
    ApprovalRequest,
    AuditEntry,
    Decision,
    Notification,
    OutboxEvent,
    Policy,
    ReviewerGroup,
)
from approvals.sla import sweep as sweeps
from approvals.tasks import sweep_slas
from tests.factories import GroupFactory, MembershipFactory, UserFactory

Status = ApprovalRequest.Status


def at_fraction(approval: ApprovalRequest, fraction: float) -> datetime:
    """The moment `fraction` of the request's SLA has passed (plus a second)."""
    assert approval.due_at is not None
    return (
        approval.created_at
        + (approval.due_at - approval.created_at) * fraction
        + timedelta(seconds=1)
    )


def due(approval: ApprovalRequest) -> datetime:
    assert approval.due_at is not None
    return approval.due_at


def expires(approval: ApprovalRequest) -> datetime:
    assert approval.expires_at is not None
    return approval.expires_at


def reminders(approval: ApprovalRequest) -> list[str]:
    """The sweep's reminder marks (`reminder:<id>:<stage>:<point>`), not the per-email rows."""
    keys = Notification.objects.filter(key__startswith=f"reminder:{approval.pk}:").values_list(
        "key", flat=True
    )
    return sorted(key for key in keys if key.count(":") == 3)


def audit_actions(approval: ApprovalRequest, action: str) -> int:
    return AuditEntry.objects.filter(approval=approval, action=action).count()


@pytest.fixture
def escalation_group(support: ReviewerGroup) -> ReviewerGroup:
    seniors: Any = GroupFactory.create(slug="seniors", name="Seniors")
    MembershipFactory.create(
        group=seniors, user=UserFactory.create(username="sam", email="sam@example.com")
    )
    support.escalation_group = seniors
    support.save()
    return seniors


def test_it_reminds_at_each_point_once(
    pending: ApprovalRequest, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep_slas.delay().get() == 0  # nothing due yet
        assert sweeps.sweep_due(now=at_fraction(pending, 0.5)) == 1
        assert sweeps.sweep_due(now=at_fraction(pending, 0.5)) == 0
        assert sweeps.sweep_due(now=at_fraction(pending, 0.6)) == 0
        assert sweeps.sweep_due(now=at_fraction(pending, 0.9)) == 1
        assert sweeps.sweep_due(now=at_fraction(pending, 0.95)) == 0

    assert reminders(pending) == [
        f"reminder:{pending.pk}:1:0.5",
        f"reminder:{pending.pk}:1:0.9",
    ]
    assert audit_actions(pending, "reminded") == 2
    # Unassigned (pull) work: each reminder goes to the group's two members, once each.
    subjects = sorted((m.subject, m.to[0]) for m in mail.outbox if m.subject.startswith("Reminder"))
    assert len(subjects) == 4
    assert {to for _, to in subjects} == {"alice@example.com", "bob@example.com"}


def test_it_reminds_the_assignee_only(
    pending: ApprovalRequest, reviewer: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from approvals.services import approval_claim

    approval_claim(approval=pending, reviewer=reviewer)
    with django_capture_on_commit_callbacks(execute=True):
        assert sweeps.sweep_due(now=at_fraction(pending, 0.5)) == 1
    sent = [m for m in mail.outbox if m.subject.startswith("Reminder")]
    assert [m.to for m in sent] == [["alice@example.com"]]


def test_a_late_sweep_sends_only_the_latest_reminder(pending: ApprovalRequest) -> None:
    assert sweeps.sweep_due(now=at_fraction(pending, 0.95)) == 1
    assert reminders(pending) == [f"reminder:{pending.pk}:1:0.9"]


def test_it_escalates_once_at_the_due_time(
    escalation_group: ReviewerGroup, submit: Callable[..., ApprovalRequest], reviewer: Any
) -> None:
    approval = submit()
    assert approval.due_at is not None
    after_due = due(approval) + timedelta(seconds=1)

    assert sweeps.sweep_due(now=after_due) == 1
    assert sweeps.sweep_due(now=after_due) == 0
    assert sweeps.sweep_due(now=after_due + timedelta(hours=5)) == 0

    approval.refresh_from_db()
    assert approval.escalated and approval.escalation_count == 1
    assert approval.assigned_group == escalation_group
    assert approval.next_sla_check_at is None
    assert (
        OutboxEvent.objects.filter(approval=approval, event_type="request.escalated").count() == 1
    )
    assert audit_actions(approval, "escalated") == 1
    assert reminders(approval) == []  # past due: escalated instead of a stale reminder


@pytest.mark.parametrize(
    ("action", "status", "outcome"),
    [
        (Policy.ExpiryAction.EXPIRE, Status.EXPIRED, "reject"),
        (Policy.ExpiryAction.REJECT, Status.REJECTED, "reject"),
        (Policy.ExpiryAction.APPROVE, Status.APPROVED, "approve"),
    ],
)
def test_it_runs_the_policy_expiry_action_as_a_timeout_decision(
    policy: Policy,
    submit: Callable[..., ApprovalRequest],
    reviewer: Any,
    action: str,
    status: str,
    outcome: str,
) -> None:
    policy.expire_after_minutes, policy.expiry_action = 60, action
    policy.save()
    approval = submit()
    assert approval.expires_at is not None
    assert sweeps.sweep_due(now=due(approval) + timedelta(seconds=1)) == 1  # escalated
    assert sweeps.sweep_due(now=expires(approval) + timedelta(seconds=1)) == 1
    assert sweeps.sweep_due(now=expires(approval) + timedelta(hours=1)) == 0

    approval.refresh_from_db()
    assert approval.status == status
    decision = Decision.objects.get(approval=approval)
    assert (decision.channel, decision.outcome, decision.is_final) == ("timeout", outcome, True)
    final_type = "request.expired" if status == Status.EXPIRED else "request.decided"
    assert OutboxEvent.objects.filter(approval=approval, event_type=final_type).count() == 1


def test_an_escalate_expiry_escalates_once_more(
    policy: Policy, submit: Callable[..., ApprovalRequest], reviewer: Any
) -> None:
    policy.expire_after_minutes, policy.expiry_action = 60, Policy.ExpiryAction.ESCALATE
    policy.save()
    approval = submit()
    sweeps.sweep_due(now=due(approval) + timedelta(seconds=1))
    assert sweeps.sweep_due(now=expires(approval) + timedelta(seconds=1)) == 1
    assert sweeps.sweep_due(now=expires(approval) + timedelta(days=3)) == 0

    approval.refresh_from_db()
    assert approval.status == Status.PENDING
    assert approval.escalation_count == 2
    assert approval.next_sla_check_at is None
    assert (
        OutboxEvent.objects.filter(approval=approval, event_type="request.escalated").count() == 2
    )


def test_a_decided_request_is_never_swept(pending: ApprovalRequest, reviewer: Any) -> None:
    from approvals.services import approval_decide

    approval_decide(approval=pending, reviewer=reviewer, option="approve")
    assert sweeps.sweep_due(now=due(pending) + timedelta(days=1)) == 0
    assert reminders(pending) == []


def test_a_bad_row_is_pushed_forward_and_the_sweep_continues(
    submit: Callable[..., ApprovalRequest],
    reviewer: Any,
    monkeypatch: pytest.MonkeyPatch,
    settings: Any,
) -> None:
    good, bad = submit(), submit()
    real_check = sweeps.approval_sla_check

    def failing_check(*, approval: ApprovalRequest, now: datetime) -> str:
        if approval.pk == bad.pk:
            raise RuntimeError("a corrupt row")
        return real_check(approval=approval, now=now)

    monkeypatch.setattr(sweeps, "approval_sla_check", failing_check)
    now = at_fraction(good, 0.5)
    assert sweeps.sweep_due(now=now) == 1

    bad.refresh_from_db()
    assert reminders(good) and not reminders(bad)
    assert bad.next_sla_check_at == now + timedelta(seconds=settings.SLA_SWEEP_RETRY_SECONDS)
    # Once the row is healthy again, its retry comes due and it gets its reminder.
    monkeypatch.setattr(sweeps, "approval_sla_check", real_check)
    assert sweeps.sweep_due(now=bad.next_sla_check_at) == 1
    assert reminders(bad) == [f"reminder:{bad.pk}:1:0.5"]


def test_it_works_in_bounded_batches(
    submit: Callable[..., ApprovalRequest], reviewer: Any, settings: Any
) -> None:
    settings.SLA_SWEEP_BATCH_SIZE = 2
    settings.SLA_SWEEP_MAX_BATCHES = 2
    approvals = [submit() for _ in range(5)]
    now = at_fraction(approvals[-1], 0.5)
    assert sweeps.sweep_due(now=now) == 4  # two batches of two; the fifth waits
    assert sweeps.sweep_due(now=now) == 1
    assert sweeps.sweep_due(now=now) == 0


def _queries_for_sweep(now: datetime) -> int:
    with CaptureQueriesContext(connection) as queries:
        sweeps.sweep_due(now=now)
    return len(queries)


def test_its_queries_follow_the_rows_due_not_the_table(
    submit: Callable[..., ApprovalRequest], reviewer: Any
) -> None:
    """O(due): a fixed cost per run plus the same cost per due row, whatever else is pending."""
    first = submit()
    # Past every request's 50 % point (they are all made within seconds), before any 90 %.
    now = first.created_at + timedelta(hours=3)
    one_due = _queries_for_sweep(now)

    # 100 more pending requests that are not due: the cost of a sweep does not move.
    later = [submit() for _ in range(100)]
    ApprovalRequest.objects.filter(pk__in=[a.pk for a in later]).update(
        next_sla_check_at=now + timedelta(hours=1)
    )
    ApprovalRequest.objects.filter(pk=first.pk).update(next_sla_check_at=now)
    Notification.objects.filter(approval=first).delete()
    assert _queries_for_sweep(now) == one_due

    # 2 and 50 due rows: the per-row cost is the same constant.
    ApprovalRequest.objects.filter(pk__in=[a.pk for a in later[:2]]).update(next_sla_check_at=now)
    two_due = _queries_for_sweep(now)
    per_row = two_due - one_due
    ApprovalRequest.objects.filter(pk__in=[a.pk for a in later[2:52]]).update(next_sla_check_at=now)
    fifty_due = _queries_for_sweep(now)
    assert fifty_due == one_due + 49 * per_row
    # lock, mark, audit entry (sealed inline in tests), the queued notice, next check, savepoints
    assert per_row <= 17
