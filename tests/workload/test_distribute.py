"""approvals.tasks.distribute_work: hand out waiting work, re-route away members' work."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from approvals.models import ApprovalRequest, AuditEntry, Membership, ReviewerGroup, ReviewerProfile
from approvals.services import approval_decide
from approvals.tasks import distribute_work
from approvals.workload.distribution import distribute
from tests.factories import GroupFactory, MembershipFactory, UserFactory

Strategy = ReviewerGroup.Strategy


def name(user: Any) -> str:
    return str(user.username) if user is not None else "-"


@pytest.fixture
def carol(support: ReviewerGroup) -> Any:
    user = UserFactory.create(username="carol", email="carol@example.com")
    MembershipFactory.create(group=support, user=user)
    return user


@pytest.fixture
def round_robin(support: ReviewerGroup, reviewer: Any, other_reviewer: Any) -> ReviewerGroup:
    support.strategy = Strategy.ROUND_ROBIN
    support.default_wip_cap = 1
    support.save()
    return support


def state() -> list[tuple[str, Any, Any]]:
    rows = ApprovalRequest.objects.order_by("pk").values_list(
        "pk", "assigned_group_id", "assignee_id"
    )
    return [(str(pk), group, user) for pk, group, user in rows]


def test_it_hands_waiting_work_to_members_who_now_have_room(
    round_robin: ReviewerGroup, reviewer: Any, submit: Callable[..., ApprovalRequest]
) -> None:
    first, _, waiting = submit(), submit(), submit()
    assert waiting.assignee is None  # both members at their cap of 1
    assert distribute_work.delay().get() == 0  # still no room: nothing moves

    approval_decide(approval=first, reviewer=first.assignee, option="approve")
    assert distribute() == 1
    waiting.refresh_from_db()
    assert waiting.assignee == first.assignee
    assert AuditEntry.objects.filter(
        approval=waiting, action="assigned", actor="distribution"
    ).exists()
    before = state()
    assert distribute() == 0  # idempotent: a second run finds nothing
    assert state() == before


def test_it_never_touches_pull_groups(
    support: ReviewerGroup, reviewer: Any, submit: Callable[..., ApprovalRequest]
) -> None:
    waiting = submit()
    assert distribute() == 0
    waiting.refresh_from_db()
    assert waiting.assignee is None


def test_it_reroutes_the_work_of_a_member_whose_away_dates_began(
    round_robin: ReviewerGroup,
    reviewer: Any,
    other_reviewer: Any,
    carol: Any,
    submit: Callable[..., ApprovalRequest],
) -> None:
    round_robin.default_wip_cap = 0
    round_robin.save()
    held = [submit() for _ in range(3)]
    alices = [a for a in held if a.assignee == reviewer]
    assert len(alices) == 1
    ReviewerProfile.objects.create(user=reviewer, away_from=timezone.now() - timedelta(minutes=1))

    assert distribute() == 1
    alices[0].refresh_from_db()
    assert alices[0].assignee in {other_reviewer, carol}
    before = state()
    assert distribute() == 0
    assert state() == before


def test_it_reroutes_to_the_delegate_when_eligible(
    round_robin: ReviewerGroup,
    reviewer: Any,
    other_reviewer: Any,
    carol: Any,
    submit: Callable[..., ApprovalRequest],
) -> None:
    round_robin.default_wip_cap = 0
    round_robin.save()
    held = next(a for a in (submit() for _ in range(3)) if a.assignee == reviewer)
    ReviewerProfile.objects.create(
        user=reviewer, away_from=timezone.now() - timedelta(minutes=1), delegate=carol
    )
    assert distribute() == 1
    held.refresh_from_db()
    assert held.assignee == carol


def test_an_ineligible_delegate_is_passed_over(
    round_robin: ReviewerGroup,
    reviewer: Any,
    other_reviewer: Any,
    carol: Any,
    submit: Callable[..., ApprovalRequest],
) -> None:
    held = submit()
    assert held.assignee == reviewer
    Membership.objects.filter(user=carol).update(away=True)  # the delegate is away too
    ReviewerProfile.objects.create(
        user=reviewer, away_from=timezone.now() - timedelta(minutes=1), delegate=carol
    )
    assert distribute() == 1
    held.refresh_from_db()
    assert held.assignee == other_reviewer


def test_a_group_away_flag_sends_the_work_back_to_the_queue_when_nobody_has_room(
    round_robin: ReviewerGroup,
    reviewer: Any,
    other_reviewer: Any,
    submit: Callable[..., ApprovalRequest],
) -> None:
    mine, bobs = submit(), submit()
    assert (mine.assignee, bobs.assignee) == (reviewer, other_reviewer)
    Membership.objects.filter(user=reviewer).update(away=True)
    assert distribute() == 1  # bob is at his cap: it waits in the group's queue
    mine.refresh_from_db()
    assert mine.assignee is None and mine.assigned_group == round_robin
    assert distribute() == 0


def test_an_overflow_group_takes_rerouted_work(
    round_robin: ReviewerGroup,
    reviewer: Any,
    other_reviewer: Any,
    submit: Callable[..., ApprovalRequest],
) -> None:
    spill: Any = GroupFactory.create(slug="spill", strategy=Strategy.ROUND_ROBIN)
    MembershipFactory.create(group=spill, user=UserFactory.create(username="dave"))
    round_robin.overflow_group = spill
    round_robin.save()
    mine, _ = submit(), submit()
    Membership.objects.filter(user=reviewer).update(away=True)
    assert distribute() == 1
    mine.refresh_from_db()
    assert (mine.assigned_group, name(mine.assignee)) == (spill, "dave")


def test_its_queries_stay_flat_however_much_work_waits(
    round_robin: ReviewerGroup,
    reviewer: Any,
    other_reviewer: Any,
    submit: Callable[..., ApprovalRequest],
) -> None:
    """Bounded: waiting work in a group where nobody has room costs one look, not one per row."""
    for _ in range(3):
        submit()  # two at the cap, one waiting
    with CaptureQueriesContext(connection) as one_waiting:
        assert distribute() == 0
    for _ in range(50):
        submit()
    with CaptureQueriesContext(connection) as fifty_waiting:
        assert distribute() == 0
    # Flat in the waiting work; the constant includes the lock-free member pick per group.
    assert len(fifty_waiting) == len(one_waiting) <= 20
