"""The audit sealer is kicked once per window, not once per commit (docs/performance.md "One
broker message per write"): under load, every write would otherwise pay a broker message."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.db import transaction

from approvals.models import AuditEntry
from approvals.services.audit import audit_append

pytestmark = pytest.mark.django_db


def _record(capture: Any, action: str) -> None:
    with capture(execute=True), transaction.atomic():
        audit_append(action=action, actor="test")


def _unsealed() -> int:
    return AuditEntry.objects.filter(seq__isnull=True).count()


def test_the_first_commit_of_a_window_queues_one_sealer_run(
    settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.AUDIT_SEAL_INLINE = False
    # A window longer than the test, so a slow machine cannot see it close before the check.
    settings.AUDIT_SEAL_WINDOW_SECONDS = 60
    _record(django_capture_on_commit_callbacks, "first")
    # Celery is eager under pytest: the queued run sealed the entry at once.
    assert _unsealed() == 0
    assert cache.get("kick:seal_audit") == 1


def test_later_commits_of_the_window_queue_nothing_and_wait_for_its_run(
    settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.AUDIT_SEAL_INLINE = False
    settings.AUDIT_SEAL_WINDOW_SECONDS = 60
    _record(django_capture_on_commit_callbacks, "first")
    _record(django_capture_on_commit_callbacks, "second")
    # In production the window's run starts when the window closes and takes this one in; the
    # eager run already happened, so the entry waits (beat's run is the safety net).
    assert _unsealed() == 1
    cache.delete("kick:seal_audit")  # the window closes
    _record(django_capture_on_commit_callbacks, "third")
    assert _unsealed() == 0


def test_a_rolled_back_write_queues_nothing(
    settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.AUDIT_SEAL_INLINE = False
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        audit_append(action="doomed", actor="test")
        raise RuntimeError("roll back")
    assert cache.get("kick:seal_audit") is None
    assert not AuditEntry.objects.filter(action="doomed").exists()
