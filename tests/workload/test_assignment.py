"""Assignment at intake (approvals.workload.assignment via approval_submit): strategies, caps, away
members, overflow and fatigue."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from approvals.models import ApprovalRequest, Membership, ReviewerGroup, ReviewerProfile
from approvals.workload.assignment import choose_assignment
from tests.factories import GroupFactory, MembershipFactory, UserFactory

Strategy = ReviewerGroup.Strategy


def name(user: Any) -> str:
    return str(user.username) if user is not None else "-"


@pytest.fixture
def trio(support: ReviewerGroup, reviewer: Any, other_reviewer: Any) -> list[Any]:
    """alice, bob and carol in `support`."""
    carol = UserFactory.create(username="carol", email="carol@example.com")
    MembershipFactory.create(group=support, user=carol)
    return [reviewer, other_reviewer, carol]


def set_strategy(group: ReviewerGroup, strategy: str, cap: int = 0) -> None:
    group.strategy, group.default_wip_cap = strategy, cap
    group.save()


def holders(approvals: list[ApprovalRequest]) -> Counter[str]:
    return Counter(a.assignee.username if a.assignee else "-" for a in approvals)


def test_round_robin_over_three_reviewers_gives_each_a_third(
    support: ReviewerGroup, trio: list[Any], submit: Callable[..., ApprovalRequest]
) -> None:
    set_strategy(support, Strategy.ROUND_ROBIN)
    approvals = [submit() for _ in range(300)]
    assert holders(approvals) == {"alice": 100, "bob": 100, "carol": 100}
    # Strict rotation, not just equal totals.
    assert [name(a.assignee) for a in approvals[:6]] == ["alice", "bob", "carol"] * 2


def test_least_loaded_with_caps_never_exceeds_a_cap(
    support: ReviewerGroup, trio: list[Any], submit: Callable[..., ApprovalRequest]
) -> None:
    set_strategy(support, Strategy.LEAST_LOADED, cap=3)
    Membership.objects.filter(group=support, user=trio[0]).update(wip_cap=1)
    approvals = [submit() for _ in range(10)]
    assert holders(approvals) == {"alice": 1, "bob": 3, "carol": 3, "-": 3}
    assert all(a.assigned_group == support for a in approvals)  # no overflow: they wait


def test_least_loaded_picks_the_member_with_the_fewest_open(
    support: ReviewerGroup, trio: list[Any], submit: Callable[..., ApprovalRequest]
) -> None:
    from approvals.services import approval_decide

    set_strategy(support, Strategy.LEAST_LOADED)
    first = [submit() for _ in range(3)]  # one each
    done = next(a for a in first if a.assignee == trio[1])
    approval_decide(approval=done, reviewer=trio[1], option="approve")
    assert submit().assignee == trio[1]  # bob now holds nothing


def test_away_members_get_nothing(
    support: ReviewerGroup, trio: list[Any], submit: Callable[..., ApprovalRequest]
) -> None:
    set_strategy(support, Strategy.ROUND_ROBIN)
    Membership.objects.filter(group=support, user=trio[0]).update(away=True)
    now = timezone.now()
    ReviewerProfile.objects.create(user=trio[1], away_from=now - timedelta(hours=1))
    # carol's holiday is over: she is back in the rotation.
    ReviewerProfile.objects.create(
        user=trio[2], away_from=now - timedelta(days=5), away_until=now - timedelta(days=1)
    )
    assert holders([submit() for _ in range(4)]) == {"carol": 4}


def test_overflow_takes_the_rest_when_every_member_is_at_the_cap(
    support: ReviewerGroup, trio: list[Any], submit: Callable[..., ApprovalRequest]
) -> None:
    spill: Any = GroupFactory.create(slug="spill", name="Spill", strategy=Strategy.ROUND_ROBIN)
    MembershipFactory.create(group=spill, user=UserFactory.create(username="dave"))
    set_strategy(support, Strategy.ROUND_ROBIN, cap=2)
    support.overflow_group = spill
    support.save()
    approvals = [submit() for _ in range(9)]
    assert holders(approvals) == {"alice": 2, "bob": 2, "carol": 2, "dave": 3}
    assert {
        a.assigned_group.slug for a in approvals if name(a.assignee) == "dave" and a.assigned_group
    } == {"spill"}


def test_a_pull_overflow_group_queues_the_rest(
    support: ReviewerGroup, trio: list[Any], submit: Callable[..., ApprovalRequest]
) -> None:
    queue: Any = GroupFactory.create(slug="queue", name="Queue", strategy=Strategy.PULL)
    set_strategy(support, Strategy.ROUND_ROBIN, cap=1)
    support.overflow_group = queue
    support.save()
    approvals = [submit() for _ in range(4)]
    assert approvals[-1].assigned_group == queue and approvals[-1].assignee is None


def test_fatigue_flagged_reviewers_get_work_only_when_nobody_else_can(
    support: ReviewerGroup, trio: list[Any], submit: Callable[..., ApprovalRequest]
) -> None:
    set_strategy(support, Strategy.ROUND_ROBIN, cap=2)
    ReviewerProfile.objects.create(user=trio[0], fatigue_flagged_at=timezone.now())
    approvals = [submit() for _ in range(6)]
    # bob and carol fill up to their cap first; only then does alice get work.
    assert [name(a.assignee) for a in approvals[:4]].count("alice") == 0
    assert holders(approvals) == {"alice": 2, "bob": 2, "carol": 2}


def test_an_overflow_cycle_does_not_loop(support: ReviewerGroup, trio: list[Any]) -> None:
    set_strategy(support, Strategy.ROUND_ROBIN, cap=1)
    other: Any = GroupFactory.create(
        slug="other", strategy=Strategy.ROUND_ROBIN, overflow_group=support
    )
    support.overflow_group = other
    support.save()
    Membership.objects.filter(group=support).update(away=True)
    choice = choose_assignment(support)
    assert choice.assignee is None and choice.group in {support, other}


def test_round_robin_without_caps_does_not_count_open_work(
    support: ReviewerGroup, trio: list[Any], submit: Callable[..., ApprovalRequest]
) -> None:
    # The per-member count scans every pending row they hold (bench: most of an intake's time
    # at 100,000 open requests); round robin without a cap never needs it.
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    set_strategy(support, Strategy.ROUND_ROBIN)
    with CaptureQueriesContext(connection) as queries:
        approval = submit()
    assert approval.assignee in trio
    assert not [q["sql"] for q in queries if "COUNT(" in q["sql"] and "assignee_id" in q["sql"]]
