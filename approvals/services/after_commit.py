"""The one way a service queues background work: after its transaction commits."""

from __future__ import annotations

import logging
from typing import Any, Literal

from django.db import transaction

log = logging.getLogger(__name__)

TaskName = Literal[
    "deliver_event", "distribute_work", "notify_approval", "seal_audit", "slack_sync"
]


def enqueue_after_commit(task_name: TaskName, *args: Any) -> None:
    """Queue the Celery task `approvals.tasks.<task_name>(*args)` once the caller commits.

    A transaction that rolls back queues nothing. A broker that is down is logged, never
    raised: the change and its audit entry are committed already, and the periodic runs
    (deliver_webhooks, distribute_work) pick up what a lost kick leaves behind; a lost
    notification email stays lost (docs/architecture.md).
    """

    def send() -> None:
        # approvals.tasks imports the modules that call the services: imported when the
        # transaction commits, which breaks that cycle.
        from approvals import tasks

        try:
            getattr(tasks, task_name).delay(*args)
        except Exception:
            log.warning("could not enqueue %s%r", task_name, args, exc_info=True)

    transaction.on_commit(send)
