from __future__ import annotations

import os
from typing import Any

from celery import Celery
from celery.schedules import crontab
from celery.signals import task_postrun, task_prerun
from django.db import close_old_connections

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("config")
# Global limits come from settings: CELERY_TASK_SOFT_TIME_LIMIT (240 s, raises
# SoftTimeLimitExceeded inside the task so a sweep can stop between rows) and
# CELERY_TASK_TIME_LIMIT (300 s, the worker kills the task). Sweeps are bounded in batches well
# inside them; a killed run leaves claimed rows to be retried when their lease runs out.
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def _connections_as_around_a_request(task: Any = None, **kwargs: Any) -> None:
    """Before and after each task, what Django does around a request: close a connection that
    is broken or older than CONN_MAX_AGE, keep the rest (settings.CELERY_DB_REUSE_MAX turns off
    Celery's close-everything). Not for an eager task, which runs inside its caller's
    transaction."""
    if task is not None and getattr(task.request, "is_eager", False):
        return
    close_old_connections()


def _seconds(name: str, default: float) -> float:
    # Tests (a real worker with beat) shorten the intervals through the environment.
    value = os.environ.get(name, "")
    try:
        return float(value) if value else default
    except ValueError:
        raise ValueError(f"{name}={value!r} is not a number of seconds") from None


# The whole beat schedule, in one place. Run EXACTLY ONE beat process
# (`celery -A config beat`, or `-B` on a single worker): every task below is idempotent and safe
# on two workers at once, but a second beat would double the load for nothing.
# django-celery-beat copies these entries into its tables at start-up, where managers can pause
# or retune them in the admin.
app.conf.beat_schedule = {
    # Reminders, escalations and expiries that have come due. Selects only due rows through the
    # partial index req_sla_check_due, so a run costs what is due, not what is pending.
    "sweep-slas": {
        "task": "approvals.tasks.sweep_slas",
        "schedule": _seconds("SWEEP_INTERVAL_SECONDS", 30.0),
    },
    # The audit sealer's safety net: every commit kicks a seal; this catches what a broker
    # outage or a killed sealer left (docs/architecture.md "The audit chain: sealed after commit").
    "seal-audit": {
        "task": "approvals.tasks.seal_audit",
        "schedule": _seconds("SEAL_INTERVAL_SECONDS", 5.0),
    },
    # A signed checkpoint of the sealed head, written outside the database to
    # AUDIT_CHECKPOINT_URL (docs/security.md "The audit trail"); one file per head position.
    "export-audit-checkpoint": {
        "task": "approvals.tasks.export_audit_checkpoint",
        "schedule": _seconds("CHECKPOINT_INTERVAL_SECONDS", 600.0),
    },
    # Round-robin / least-loaded assignment of waiting work, and re-routing away members' work.
    "distribute-work": {
        "task": "approvals.tasks.distribute_work",
        "schedule": _seconds("DISTRIBUTE_INTERVAL_SECONDS", 60.0),
    },
    # The outbox safety net: decisions kick their own delivery on commit; this picks up
    # retries that have come due and anything a broker outage left behind.
    "deliver-webhooks": {
        "task": "approvals.tasks.deliver_webhooks",
        "schedule": _seconds("DELIVER_INTERVAL_SECONDS", 10.0),
    },
    # Slack messages whose retry has come due (after an error or a 429's Retry-After); selects
    # only rows with work through the partial index slack_due. Does nothing without Slack.
    "slack-deliver-due": {
        "task": "approvals.tasks.slack_deliver_due",
        "schedule": _seconds("SLACK_DELIVER_INTERVAL_SECONDS", 15.0),
    },
    # Idempotency keys are honoured for 24 h (docs/api.md "The API"); older records are purged hourly.
    "purge-idempotency-records": {
        "task": "approvals.tasks.purge_idempotency_records",
        "schedule": 3600.0,
    },
    # The notice queue's safety net: every change that queues a notice kicks a run on commit;
    # this sends what a broker outage or a killed worker left (docs/notifications.md).
    "send-notices": {
        "task": "approvals.tasks.send_notices",
        "schedule": _seconds("NOTICE_INTERVAL_SECONDS", 30.0),
    },
    # Batched notice emails whose window has passed (each batch also schedules its own send).
    "send-notification-batches": {
        "task": "approvals.tasks.send_due_notification_batches",
        "schedule": 60.0,
    },
    # Reviewers whose recent decisions look like rubber-stamping are flagged to managers.
    "flag-fatigue": {"task": "approvals.tasks.flag_fatigue", "schedule": 900.0},
    # The opt-in daily digest of pending work, at 07:00 UTC (once a day per reviewer, by key).
    "daily-digest": {
        "task": "approvals.tasks.send_daily_digests",
        "schedule": crontab(hour=7, minute=0),
    },
}
