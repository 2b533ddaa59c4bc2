"""Intake's per-process copy of the active policy (approvals/services/policies.py
`active_policy`): every change another process makes is seen on the next request, although
no signal reaches this process. `.update()` stands for that other process: it fires none."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from approvals.models import Policy
from approvals.services.policies import active_policy
from tests.factories import PolicyFactory

pytestmark = pytest.mark.django_db


def test_a_known_policy_costs_one_small_query() -> None:
    policy = PolicyFactory.create()
    assert active_policy(policy.slug) == policy
    with CaptureQueriesContext(connection) as captured:
        again = active_policy(policy.slug)
    assert again == policy
    assert len(captured) == 1
    assert captured[0]["sql"].startswith("SELECT id, version, is_active, updated_at")


def test_unknown_and_inactive_policies_are_none() -> None:
    policy = PolicyFactory.create(is_active=False)
    assert active_policy(policy.slug) is None
    assert active_policy("no-such-policy") is None


def test_deactivated_elsewhere_is_seen_at_once() -> None:
    policy = PolicyFactory.create()
    assert active_policy(policy.slug) is not None
    Policy.objects.filter(pk=policy.pk).update(is_active=False)
    assert active_policy(policy.slug) is None


def test_a_new_version_elsewhere_is_reloaded() -> None:
    policy = PolicyFactory.create()
    assert active_policy(policy.slug).version == policy.version  # type: ignore[union-attr]
    Policy.objects.filter(pk=policy.pk).update(version=F("version") + 1)
    reloaded = active_policy(policy.slug)
    assert reloaded is not None and reloaded.version == policy.version + 1


def test_any_save_elsewhere_is_reloaded() -> None:
    policy = PolicyFactory.create(sla_minutes=240)
    assert active_policy(policy.slug).sla_minutes == 240  # type: ignore[union-attr]
    # A save moves updated_at (auto_now); here by hand, as another process's save would.
    Policy.objects.filter(pk=policy.pk).update(
        sla_minutes=30, updated_at=timezone.now() + timedelta(seconds=1)
    )
    assert active_policy(policy.slug).sla_minutes == 30  # type: ignore[union-attr]


def test_a_save_here_empties_the_copy() -> None:
    policy = PolicyFactory.create(sla_minutes=240)
    assert active_policy(policy.slug).sla_minutes == 240  # type: ignore[union-attr]
    policy.sla_minutes = 45
    policy.save()
    assert active_policy(policy.slug).sla_minutes == 45  # type: ignore[union-attr]
