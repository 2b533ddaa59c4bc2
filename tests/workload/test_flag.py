"""approvals.tasks.flag_fatigue: rubber-stamping reviewers are flagged to managers, once.

Decision speed needs a clock: `clock` replaces django.utils.timezone.now (time cannot be waited
for in a test); everything else is the real services, database and email backend.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from approvals.models import ApprovalRequest, AuditEntry, ReviewerGroup, ReviewerProfile
from approvals.services import approval_decide
from approvals.tasks import flag_fatigue
from approvals.workload.fatigue import flag_fatigued_reviewers

WINDOW = 5


class Clock:
    def __init__(self) -> None:
        self.now = timezone.now()

    def __call__(self) -> datetime:
        return self.now

    def tick(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    fake = Clock()
    monkeypatch.setattr(timezone, "now", fake)
    yield fake


@pytest.fixture(autouse=True)
def small_window(settings: Any) -> None:
    settings.FATIGUE_WINDOW = WINDOW
    settings.FATIGUE_MAX_SECONDS = 5


@pytest.fixture
def decide_many(
    support: ReviewerGroup,
    reviewer: Any,
    submit: Callable[..., ApprovalRequest],
    clock: Clock,
) -> Callable[..., None]:
    """alice receives `n` requests (round robin, alone in the group) and decides each after
    `seconds`."""
    support.strategy = ReviewerGroup.Strategy.ROUND_ROBIN
    support.save()

    def run(n: int, *, seconds: float, option: str = "approve") -> None:
        for _ in range(n):
            approval = submit()
            assert approval.assignee == reviewer
            clock.tick(seconds)
            approval_decide(approval=approval, reviewer=reviewer, option=option, comment="ok")
            clock.tick(60)

    return run


def flag(reviewer: Any) -> ReviewerProfile | None:
    return ReviewerProfile.objects.filter(user=reviewer).first()


def test_it_flags_instant_approvals_and_tells_managers_once(
    decide_many: Callable[..., None],
    reviewer: Any,
    manager: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    decide_many(WINDOW, seconds=2)
    with django_capture_on_commit_callbacks(execute=True):
        assert flag_fatigue.delay().get() == 1
        assert flag_fatigued_reviewers() == 0  # already flagged: nothing twice

    profile = flag(reviewer)
    assert profile is not None and profile.fatigue_flagged_at is not None
    assert "5 of the last 5 decisions were approvals" in profile.fatigue_reason
    assert AuditEntry.objects.filter(action="fatigue_flagged").count() == 1
    sent = [m for m in mail.outbox if "fatigue" in m.subject]
    assert [m.to for m in sent] == [["maria@example.com"]]
    assert "alice" in sent[0].subject and "/admin/approvals/reviewerprofile/" in sent[0].body


def test_it_leaves_careful_reviewers_alone(decide_many: Callable[..., None], reviewer: Any) -> None:
    decide_many(WINDOW, seconds=45)
    assert flag_fatigued_reviewers() == 0
    assert flag(reviewer) is None


def test_too_few_decisions_are_no_evidence(decide_many: Callable[..., None]) -> None:
    decide_many(WINDOW - 1, seconds=1)
    assert flag_fatigued_reviewers() == 0


def test_quick_rejections_are_not_rubber_stamping(decide_many: Callable[..., None]) -> None:
    decide_many(2, seconds=1, option="reject")
    decide_many(3, seconds=1)
    assert flag_fatigued_reviewers() == 0


def test_only_decisions_after_a_clearing_count(
    decide_many: Callable[..., None], reviewer: Any, manager: Any
) -> None:
    from approvals.services.reviewers import reviewer_clear_fatigue

    decide_many(WINDOW, seconds=1)
    assert flag_fatigued_reviewers() == 1
    assert reviewer_clear_fatigue(user=reviewer, actor="maria")
    assert flag_fatigued_reviewers() == 0  # the same old decisions do not flag again
    decide_many(WINDOW, seconds=1)
    assert flag_fatigued_reviewers() == 1
