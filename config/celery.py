from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# The whole beat schedule, in one place (STYLE.md 15). Run exactly one beat process: every task
# below is idempotent, but a second beat would double the load for nothing. django-celery-beat
# copies these entries into its tables, where managers can pause or retune them in the admin.
app.conf.beat_schedule = {
    # Reminders, escalations and expiries that have come due. Selects only due rows (indexed),
    # so a run costs what is due, not what is pending.
    "sweep-slas": {"task": "approvals.tasks.sweep_slas", "schedule": 30.0},
    # Round-robin / least-loaded assignment of waiting work, and re-routing away members' work.
    "distribute-work": {"task": "approvals.tasks.distribute_work", "schedule": 60.0},
    # The outbox safety net: decisions kick their own delivery on commit; this picks up
    # retries that have come due and anything a broker outage left behind.
    "deliver-webhooks": {"task": "approvals.tasks.deliver_webhooks", "schedule": 10.0},
    # Idempotency keys are honoured for 24 h (CONTRACT §2); older records are purged hourly.
    "purge-idempotency-records": {
        "task": "approvals.tasks.purge_idempotency_records",
        "schedule": 3600.0,
    },
    # Reviewers whose recent decisions look like rubber-stamping are flagged to managers.
    "flag-fatigue": {"task": "approvals.tasks.flag_fatigue", "schedule": 900.0},
    # The opt-in daily digest of pending work, at 07:00 UTC.
    "daily-digest": {
        "task": "approvals.tasks.send_daily_digests",
        "schedule": 86400.0,
    },
}
