"""Every beat task is idempotent: running it twice leaves the same state."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.utils import timezone

from approvals.models import (
    ApprovalRequest,
    AuditEntry,
    Membership,
    Notification,
    OutboxEvent,
    ReviewerGroup,
    ReviewerProfile,
)
from approvals.tasks import distribute_work, flag_fatigue, send_daily_digests, sweep_slas


def snapshot() -> dict[str, Any]:
    return {
        "requests": list(
            ApprovalRequest.objects.order_by("pk").values_list(
                "pk",
                "status",
                "assigned_group_id",
                "assignee_id",
                "escalation_count",
                "next_sla_check_at",
            )
        ),
        "notifications": sorted(Notification.objects.values_list("key", flat=True)),
        "audit": AuditEntry.objects.count(),
        "outbox": OutboxEvent.objects.count(),
        "profiles": list(
            ReviewerProfile.objects.order_by("pk").values_list("pk", "fatigue_flagged_at")
        ),
    }


def test_running_each_task_twice_leaves_the_same_state(
    support: ReviewerGroup,
    reviewer: Any,
    other_reviewer: Any,
    submit: Callable[..., ApprovalRequest],
    django_capture_on_commit_callbacks: Any,
) -> None:
    support.strategy, support.default_wip_cap = ReviewerGroup.Strategy.ROUND_ROBIN, 2
    support.save()
    now = timezone.now()
    reminding, overdue, held = (submit() for _ in range(3))
    ApprovalRequest.objects.filter(pk=reminding.pk).update(
        created_at=now - timedelta(hours=3),
        due_at=now + timedelta(hours=1),
        next_sla_check_at=now - timedelta(seconds=1),
    )
    ApprovalRequest.objects.filter(pk=overdue.pk).update(
        due_at=now - timedelta(minutes=1), next_sla_check_at=now - timedelta(minutes=1)
    )
    # alice holds two of the three (round robin) and goes away.
    Membership.objects.filter(user=held.assignee).update(away=True)
    ReviewerProfile.objects.create(user=reviewer, daily_digest=True)

    first_runs = []
    for task in (sweep_slas, distribute_work, flag_fatigue, send_daily_digests):
        with django_capture_on_commit_callbacks(execute=True):
            first_runs.append(task.delay().get())
        once = snapshot()
        with django_capture_on_commit_callbacks(execute=True):
            assert task.delay().get() == 0, task.name
        assert snapshot() == once, task.name
    # The first runs did real work: a reminder and an escalation; the away member's two
    # requests moved (one to bob, one back to the queue at bob's cap); no fatigue (no
    # decisions); one digest.
    assert first_runs == [2, 2, 0, 1]
