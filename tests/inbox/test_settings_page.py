"""/settings/: a reviewer sets their own out of office, delegate and digest opt-in."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from approvals.models import ApprovalRequest, AuditEntry, ReviewerGroup, ReviewerProfile

URL = "/settings/"


def local(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")


@pytest.fixture
def as_reviewer(client: Client, reviewer: Any) -> Client:
    client.force_login(reviewer)
    return client


def profile_of(user: Any) -> ReviewerProfile | None:
    return ReviewerProfile.objects.filter(user=user).first()


def test_anonymous_is_sent_to_login(client: Client, db: Any) -> None:
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/settings/")
    assert client.post(URL, {"away_from": "2026-12-01T09:00"}).status_code == 302
    assert not ReviewerProfile.objects.exists()


def test_it_shows_the_form_with_colleagues_as_delegates(
    as_reviewer: Client, other_reviewer: Any, outsider: Any
) -> None:
    page = as_reviewer.get(URL).content.decode()
    assert "<h2>Settings</h2>" in page
    assert 'type="datetime-local"' in page
    assert ">bob</option>" in page
    assert ">olga</option>" not in page and ">alice</option>" not in page


def test_it_saves_out_of_office_with_a_delegate_and_audits_it(
    as_reviewer: Client, reviewer: Any, other_reviewer: Any
) -> None:
    start = timezone.now() + timedelta(days=1)
    response = as_reviewer.post(
        URL,
        {
            "away_from": local(start),
            "away_until": local(start + timedelta(days=7)),
            "delegate": other_reviewer.pk,
            "daily_digest": "on",
        },
        follow=True,
    )
    assert response.status_code == 200
    assert "Your settings are saved." in response.content.decode()
    profile = profile_of(reviewer)
    assert profile is not None
    assert profile.delegate == other_reviewer and profile.daily_digest
    assert profile.away_until and profile.away_from
    assert profile.away_until - profile.away_from == timedelta(days=7)
    entry = AuditEntry.objects.get(action="away_set")
    assert (entry.actor, entry.data["delegate"]) == ("alice", "bob")


def test_going_away_now_reroutes_pending_work_to_the_delegate(
    as_reviewer: Client,
    support: ReviewerGroup,
    reviewer: Any,
    other_reviewer: Any,
    submit: Callable[..., ApprovalRequest],
    django_capture_on_commit_callbacks: Any,
) -> None:
    support.strategy = ReviewerGroup.Strategy.ROUND_ROBIN
    support.save()
    mine = submit()
    assert mine.assignee == reviewer
    with django_capture_on_commit_callbacks(execute=True):
        as_reviewer.post(
            URL,
            {
                "away_from": local(timezone.now() - timedelta(minutes=5)),
                "delegate": other_reviewer.pk,
            },
        )
    mine.refresh_from_db()
    assert mine.assignee == other_reviewer
    page = as_reviewer.get(URL).content.decode()
    assert "You are away now" in page and "go to bob" in page


def test_clearing_the_dates_brings_you_back(as_reviewer: Client, reviewer: Any) -> None:
    ReviewerProfile.objects.create(user=reviewer, away_from=timezone.now())
    as_reviewer.post(URL, {"away_from": "", "away_until": ""})
    profile = profile_of(reviewer)
    assert profile is not None and profile.away_from is None
    assert AuditEntry.objects.filter(action="away_cleared").count() == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"away_from": "2026-12-10T09:00", "away_until": "2026-12-01T09:00"},
            "The day you are back must be after the day you leave.",
        ),
        (
            {"away_from": "2026-12-10T09:00", "away_until": "2026-12-10T09:00"},
            "The day you are back must be after the day you leave.",
        ),
        ({"away_until": "2026-12-10T09:00"}, "Say when you leave, too."),
        ({"away_from": "next tuesday"}, "Enter a valid date/time."),
        (
            {"away_from": "2026-12-10T09:00", "delegate": "SELF"},
            "You can&#x27;t be your own delegate.",
        ),
        ({"away_from": "2026-12-10T09:00", "delegate": "999999"}, "Select a valid choice."),
        ({"away_from": "2026-12-10T09:00", "delegate": "x' OR 1=1"}, "Select a valid choice."),
        ({"delegate": "BOB"}, "A delegate covers for you only while you are away."),
    ],
)
def test_bad_input_is_a_422_with_a_message_and_changes_nothing(
    as_reviewer: Client, reviewer: Any, other_reviewer: Any, data: dict[str, str], message: str
) -> None:
    data = {
        k: {"SELF": str(reviewer.pk), "BOB": str(other_reviewer.pk)}.get(v, v)
        for k, v in data.items()
    }
    response = as_reviewer.post(URL, data)
    assert response.status_code == 422
    page = response.content.decode()
    assert message in page and "Nothing was saved" in page
    assert 'aria-invalid="true"' in page
    assert profile_of(reviewer) is None
    assert not AuditEntry.objects.filter(action__startswith="away").exists()


def test_an_outsider_cannot_pick_a_delegate_outside_their_groups(
    client: Client, outsider: Any, reviewer: Any
) -> None:
    client.force_login(outsider)
    response = client.post(URL, {"away_from": "2026-12-10T09:00", "delegate": reviewer.pk})
    assert response.status_code == 422
    assert "alice is not in any of your reviewer groups." in response.content.decode()
    assert profile_of(outsider) is None


def test_other_methods_are_refused(as_reviewer: Client) -> None:
    assert as_reviewer.put(URL).status_code == 405
    assert as_reviewer.delete(URL).status_code == 405
