"""The one way a service queues background work: after its transaction commits."""

from __future__ import annotations

import logging
from typing import Any, Literal

from django.db import transaction

log = logging.getLogger(__name__)

TaskName = Literal[
    "deliver_event",
    "distribute_work",
    "notify_approval",
    "seal_audit",
    "send_notices",
    "slack_sync",
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


def kick_after_commit(task_name: TaskName, *, window: int) -> None:
    """Queue the argument-less catch-up task `task_name` at most once per `window` seconds.

    For tasks that act on everything waiting (the audit sealer, the notice queue): the first
    commit of a window claims it in the shared cache (one SET NX) and queues the task to run
    when the window closes, so that one run takes in every commit of the window; the other
    commits of the window queue nothing. Without a cache answer it queues the task anyway. Beat
    runs the same task as the safety net (docs/performance.md "One broker message per write").
    A window of 0 queues a run at every commit, to run at once.
    """

    def send() -> None:
        from django.core.cache import cache

        from approvals import tasks

        if window > 0:
            try:
                first = cache.add(f"kick:{task_name}", 1, timeout=window)
            except Exception:
                log.warning(
                    "cache unavailable, kicking %s without debounce", task_name, exc_info=True
                )
                first = True
            if not first:
                return
        try:
            getattr(tasks, task_name).apply_async(countdown=window)
        except Exception:
            log.warning("could not enqueue %s", task_name, exc_info=True)

    transaction.on_commit(send)
