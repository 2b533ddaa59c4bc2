"""The notice queue (docs/notifications.md "How a notice reaches the worker"): a change queues
its notice email in its own transaction; after commit one run per NOTICE_WINDOW_SECONDS takes
the queue in batches, so a change pays one INSERT instead of a broker message; beat is the
safety net; a rolled-back change queues nothing."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection, connections, transaction

from approvals.models import ApprovalRequest, Policy, QueuedNotice, ReviewerGroup
from approvals.notifications.email import _take_queued, send_queued
from approvals.services import approval_decide, approval_submit
from approvals.tasks import send_notices
from config.celery import app
from tests.conftest import requires_broker, requires_postgres
from tests.factories import GroupFactory, MembershipFactory, UserFactory
from tests.fixtures.smtp import SmtpServer

pytestmark = pytest.mark.django_db


def test_a_change_queues_its_notice_and_its_commit_sends_it(
    submit: Callable[..., ApprovalRequest],
    reviewer: Any,
    other_reviewer: Any,
    smtp_email: SmtpServer,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks() as callbacks:
        approval = submit()
    (queued,) = QueuedNotice.objects.all()
    assert (queued.approval_id, queued.kind, queued.stage, queued.tag) == (
        approval.pk,
        "assigned",
        1,
        "",
    )
    assert smtp_email.messages == []  # nothing before the commit
    for callback in callbacks:
        callback()  # the commit: window 0 under pytest, so the run starts at once
    messages = smtp_email.wait_for(2)
    assert sorted(m["To"] for m in messages) == ["alice@example.com", "bob@example.com"]
    assert not QueuedNotice.objects.exists()


def test_a_rolled_back_change_queues_nothing(
    policy: Policy, reviewer: Any, smtp_email: SmtpServer, django_capture_on_commit_callbacks: Any
) -> None:
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        approval_submit(policy=policy, title="Doomed", payload={"amount": 120.0})
        raise RuntimeError("roll back")
    assert callbacks == []
    assert not QueuedNotice.objects.exists()
    assert not ApprovalRequest.objects.exists()


def test_the_commits_of_a_window_share_one_run(
    submit: Callable[..., ApprovalRequest],
    reviewer: Any,
    smtp_email: SmtpServer,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # A window longer than the test: a slow machine cannot see it close before the check.
    settings.NOTICE_WINDOW_SECONDS = 60
    with django_capture_on_commit_callbacks(execute=True):
        first = submit()
    # Celery is eager under pytest: the window's run went at once and sent the first notice.
    assert cache.get("kick:send_notices") == 1
    assert smtp_email.wait_for(1)[0]["Subject"] == f"Decision needed: {first.title}"
    with django_capture_on_commit_callbacks(execute=True):
        second = submit()
    # In production the window's run starts when it closes and takes this one in.
    assert list(QueuedNotice.objects.values_list("approval_id", flat=True)) == [second.pk]
    assert send_notices.delay().get() == 1  # the window's run, or beat's
    assert smtp_email.wait_for(2)[1]["Subject"] == f"Decision needed: {second.title}"
    assert not QueuedNotice.objects.exists()


def test_a_notice_of_a_request_decided_in_the_meantime_sends_nothing(
    submit: Callable[..., ApprovalRequest], reviewer: Any, smtp_email: SmtpServer
) -> None:
    approval = submit()  # queued; the test's transaction never commits, so no run
    approval_decide(approval=approval, reviewer=reviewer, option="approve")
    assert send_queued() == 0
    assert not QueuedNotice.objects.exists()
    assert smtp_email.messages == []


def test_a_notice_queued_before_an_escalation_gives_way_to_the_escalations(
    submit: Callable[..., ApprovalRequest], reviewer: Any, smtp_email: SmtpServer
) -> None:
    from approvals.services import approval_escalate
    from approvals.services.sla import approval_remind

    seniors = GroupFactory.create(slug="seniors", name="Seniors")
    MembershipFactory.create(
        group=seniors, user=UserFactory.create(username="sam", email="sam@example.com")
    )
    approval = submit()
    group = approval.assigned_group
    assert group is not None
    group.escalation_group = seniors
    group.save()
    assert approval_remind(approval=approval, point="0.9")
    approval_escalate(approval=approval)  # before the window's run: the reminder is stale
    assert send_queued() == 1
    (message,) = smtp_email.wait_for(1)
    assert (message["To"], message["Subject"]) == (
        "sam@example.com",
        f"Escalated to you: {approval.title}",
    )


def test_the_queue_is_sent_in_order_a_batch_at_a_time(
    submit: Callable[..., ApprovalRequest], reviewer: Any, smtp_email: SmtpServer
) -> None:
    approvals = [submit() for _ in range(5)]
    assert send_queued(limit=2) == 5  # three batches: 2, 2, 1
    subjects = [m["Subject"] for m in smtp_email.wait_for(5)]
    assert subjects == [f"Decision needed: {a.title}" for a in approvals]
    assert send_queued() == 0


def test_reminders_and_escalations_are_queued_with_their_tag(
    submit: Callable[..., ApprovalRequest], reviewer: Any
) -> None:
    from approvals.services import approval_escalate
    from approvals.services.sla import approval_remind

    approval = submit()
    QueuedNotice.objects.all().delete()
    assert approval_remind(approval=approval, point="0.5")
    approval_escalate(approval=approval)
    queued = list(QueuedNotice.objects.order_by("id").values_list("kind", "tag"))
    assert queued == [("reminder", "0.5"), ("escalated", "")]


@requires_postgres
def test_two_workers_take_disjoint_batches(
    transactional_db: Any, submit: Callable[..., ApprovalRequest], reviewer: Any
) -> None:
    """A run waits for no other: rows another worker holds are skipped (SKIP LOCKED)."""
    with transaction.atomic():
        expected = {submit().pk for _ in range(6)}
    # The commit above kicked a run (eager): put its rows back for the race.
    QueuedNotice.objects.all().delete()
    QueuedNotice.objects.bulk_create(
        QueuedNotice(approval_id=pk, kind="assigned", stage=1) for pk in sorted(expected)
    )
    holding, release = threading.Event(), threading.Event()
    held: list[Any] = []

    def hold_three() -> None:
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute(
                        f"SELECT approval_id FROM {QueuedNotice._meta.db_table}"
                        " ORDER BY id LIMIT 3 FOR UPDATE"
                    )
                    held.extend(row[0] for row in cursor.fetchall())
                holding.set()
                release.wait(10)
        finally:
            connections.close_all()

    other = threading.Thread(target=hold_three)
    other.start()
    assert holding.wait(10)
    started = time.monotonic()
    taken = _take_queued(100)
    assert time.monotonic() - started < 2, "the run waited for the other worker's rows"
    release.set()
    other.join(10)
    assert {row[0] for row in taken} == expected - set(held)
    assert {row[0] for row in _take_queued(100)} == set(held)


@requires_broker
def test_a_worker_sends_every_notice_of_a_burst_in_a_few_runs(
    transactional_db: Any,
    celery_worker: Any,
    smtp_server: SmtpServer,
    support: ReviewerGroup,
    policy: Policy,
    settings: Any,
) -> None:
    """Twenty intakes within a window: twenty emails, far fewer broker messages than intakes."""
    support.strategy = ReviewerGroup.Strategy.ROUND_ROBIN
    support.save()
    for name in ("ann", "ben"):
        MembershipFactory.create(
            group=support, user=UserFactory.create(username=name, email=f"{name}@example.com")
        )
    settings.NOTICE_WINDOW_SECONDS = 1
    worker = celery_worker(env={"EMAIL_URL": smtp_server.url}, ready_timeout=180)
    published: list[str] = []

    def count(sender: Any = None, **kwargs: Any) -> None:
        published.append(str(sender))

    from celery.signals import before_task_publish

    before_task_publish.connect(count, weak=False)
    try:
        approvals = [
            approval_submit(
                policy=policy, title=f"Refund #{n}", payload={"amount": 120.0}, external_id=str(n)
            )
            for n in range(20)
        ]
    finally:
        before_task_publish.disconnect(count)
    messages = smtp_server.wait_for(20, timeout=120)
    assert sorted(m["Subject"] for m in messages) == sorted(
        f"Decision needed: {a.title}" for a in approvals
    ), worker.log()[-3000:]
    notices = [name for name in published if name == "approvals.tasks.send_notices"]
    assert 1 <= len(notices) < 20, published
    assert not QueuedNotice.objects.exists()
    assert app.conf.task_always_eager is False  # the fixture really sent them to the broker
