"""A manager clears a fatigue flag in the admin (ReviewerProfile changelist action)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from approvals.models import AuditEntry, ReviewerProfile

URL = "/admin/approvals/reviewerprofile/"


@pytest.fixture
def flagged(reviewer: Any) -> ReviewerProfile:
    return ReviewerProfile.objects.create(
        user=reviewer, fatigue_flagged_at=timezone.now(), fatigue_reason="5 of the last 5…"
    )


@pytest.fixture
def manager_client(client: Client, manager: Any) -> Client:
    manager.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_reviewerprofile", "change_reviewerprofile"])
    )
    client.force_login(manager)
    return client


def clear(client: Client, profile: ReviewerProfile) -> Any:
    return client.post(
        URL, {"action": "clear_fatigue_flag", "_selected_action": [profile.pk]}, follow=True
    )


def test_it_clears_the_flag_with_an_audit_entry(
    manager_client: Client, flagged: ReviewerProfile
) -> None:
    response = clear(manager_client, flagged)
    assert response.status_code == 200
    assert "Cleared 1 fatigue flag(s)." in response.content.decode()
    flagged.refresh_from_db()
    assert flagged.fatigue_flagged_at is None and flagged.fatigue_cleared_at is not None
    entry = AuditEntry.objects.get(action="fatigue_cleared")
    assert (entry.actor, entry.data["reviewer"]) == ("maria", "alice")


def test_it_lists_flagged_reviewers_with_the_reason(
    manager_client: Client, flagged: ReviewerProfile
) -> None:
    page = manager_client.get(URL, {"fatigue_flagged_at__isempty": "0"}).content.decode()
    assert "5 of the last 5…" in page and "Clear the fatigue flag" in page


def test_anonymous_and_reviewers_cannot_clear_it(
    client: Client, reviewer: Any, flagged: ReviewerProfile
) -> None:
    assert clear(client, flagged).redirect_chain[0][0].startswith("/admin/login/")
    client.force_login(reviewer)  # not staff
    clear(client, flagged)
    flagged.refresh_from_db()
    assert flagged.fatigue_flagged_at is not None
    assert not AuditEntry.objects.filter(action="fatigue_cleared").exists()
