"""The SLA sweep on PostgreSQL: scale (index, cost follows what is due) and two sweeps at once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.core import mail
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from approvals.models import ApprovalRequest, AuditEntry, Notification
from approvals.sla import sweep as sweeps
from tests.conftest import requires_postgres

COLUMNS = (
    "policy_version, title, summary, payload, submitted_payload, callback_url, requested_by, "
    "status, route, route_reason, matched_rule, stage_plan, stage, assigned_at, due_at, "
    "due_at_overridden, expires_at, escalated, escalated_at, escalation_count, created_at, "
    "updated_at, decided_at, assignee_id, previous_id, policy_id, assigned_group_id, caller, "
    "requester_email, requester_id"
)


def clone(template: ApprovalRequest, *, count: int, due: int, due_at: Any, later: Any) -> None:
    """`count` copies of a pending request in one statement; the first `due` are due now."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO approvals_approvalrequest (id, external_id, next_sla_check_at, {COLUMNS})
            SELECT gen_random_uuid(), 'bulk-' || n,
                   CASE WHEN n <= %s THEN %s::timestamptz ELSE %s::timestamptz END, {COLUMNS}
            FROM approvals_approvalrequest, generate_series(1, %s) AS n
            WHERE id = %s
            """,  # column names are the constant above; values are parameters
            [due, due_at, later, count, template.pk],
        )
        cursor.execute("ANALYZE approvals_approvalrequest")


@requires_postgres
def test_a_sweep_over_100000_pending_touches_only_the_100_due(
    submit: Callable[..., ApprovalRequest], reviewer: Any
) -> None:
    template = submit()
    now = template.created_at + timedelta(hours=3)  # past the 50 % point of a 4 h SLA
    later = now + timedelta(days=1)
    ApprovalRequest.objects.filter(pk=template.pk).update(next_sla_check_at=later)
    clone(template, count=99_999, due=100, due_at=now, later=later)
    assert ApprovalRequest.objects.filter(status="pending").count() == 100_000

    claim = sweeps.due_rows(now).select_for_update(skip_locked=True).values_list("pk")[:100]
    plan = claim.explain()
    assert "req_sla_check_due" in plan, plan

    with CaptureQueriesContext(connection) as queries:
        assert sweeps.sweep_due(now=now) == 100

    marks = Notification.objects.filter(key__startswith="reminder:", kind="reminder")
    assert marks.count() == 100
    assert ApprovalRequest.objects.filter(next_sla_check_at=later).count() == 99_900
    # A fixed cost per run plus a constant per due row: nothing scales with the 99,900 others.
    assert len(queries) <= 10 + 100 * 17, len(queries)  # 17: as in test_sweep.py
    assert sweeps.sweep_due(now=now) == 0


@requires_postgres
def test_two_sweeps_at_the_same_moment_send_each_reminder_once(
    transactional_db: Any,
    submit: Callable[..., ApprovalRequest],
    reviewer: Any,
    other_reviewer: Any,
    settings: Any,
) -> None:
    settings.SLA_SWEEP_BATCH_SIZE = 5  # several claims per sweep, so the two interleave
    approvals = [submit() for _ in range(30)]
    now = approvals[-1].created_at + timedelta(hours=3)
    mail.outbox.clear()
    barrier = threading.Barrier(2)
    results: list[int] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            results.append(sweeps.sweep_due(now=now))
        except BaseException as exc:  # surfaced in the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert not errors, errors
    assert sum(results) == 30
    assert AuditEntry.objects.filter(action="reminded").count() == 30
    keys = list(
        Notification.objects.filter(kind="reminder", recipient__isnull=True).values_list(
            "key", flat=True
        )
    )
    assert len(keys) == len(set(keys)) == 30
    # Unassigned (pull) work: every reminder emailed once to each of the two members.
    sent = [(m.to[0], m.subject) for m in mail.outbox if m.subject.startswith("Reminder")]
    assert len(sent) == len(set(sent)) == 60
