"""A Celery worker keeps its database connection between tasks, as a web process does between
requests (config/celery.py, docs/performance.md "Workers"): Celery's Django fix-up would close
it around every task, and a new PostgreSQL backend per notice cost more than the notice."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from approvals.tasks import purge_idempotency_records
from tests.conftest import requires_broker

# The worker's connections carry this name (libpq reads PGAPPNAME), so the connections other
# tests of the run left open are not counted.
WORKER_APP = "checkpoint-test-worker"


def _other_backends() -> list[int]:
    """Backend pids of the test worker on the test database."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity"
            " WHERE datname = current_database() AND application_name = %s ORDER BY pid",
            [WORKER_APP],
        )
        return [row[0] for row in cursor.fetchall()]


def _run_tasks(worker: Any, count: int, done_before: int) -> None:
    """Send `count` tasks and wait until the worker's log shows them succeeded."""
    for _ in range(count):
        purge_idempotency_records.delay()
    deadline = time.monotonic() + 30
    while worker.log().count(" succeeded in ") < done_before + count:
        if time.monotonic() > deadline:
            raise AssertionError(f"{count} tasks did not finish in 30 s:\n{worker.log()[-3000:]}")
        time.sleep(0.1)


@pytest.fixture
def warm_worker(transactional_db: Any, celery_worker: Callable[..., Any]) -> Any:
    """A worker keeping connections for a minute (production's CONN_MAX_AGE), one task done."""
    worker = celery_worker(concurrency=1, env={"CONN_MAX_AGE": "60", "PGAPPNAME": WORKER_APP})
    _run_tasks(worker, 1, 0)
    return worker


@requires_broker
def test_a_worker_reuses_one_connection_for_many_tasks(warm_worker: Any) -> None:
    worker = warm_worker
    first = _other_backends()
    assert len(first) == 1, first  # Celery's fix-up alone would have closed it: []

    _run_tasks(worker, 20, 1)
    assert _other_backends() == first  # the same backend served all 21 tasks


@requires_broker
def test_a_broken_connection_is_replaced_before_the_next_task(warm_worker: Any) -> None:
    worker = warm_worker
    (backend,) = _other_backends()
    with connection.cursor() as cursor:  # a database restart or a failover, for this one worker
        cursor.execute("SELECT pg_terminate_backend(%s)", [backend])

    _run_tasks(worker, 1, 1)  # succeeds: the health check reconnects
    assert "Traceback" not in worker.log()
    assert len(_other_backends()) == 1
    assert _other_backends() != [backend]


@requires_broker
def test_conn_max_age_0_still_closes_after_every_task(
    transactional_db: Any, celery_worker: Callable[..., Any]
) -> None:
    worker = celery_worker(concurrency=1, env={"CONN_MAX_AGE": "0", "PGAPPNAME": WORKER_APP})
    _run_tasks(worker, 3, 0)
    assert _other_backends() == []
