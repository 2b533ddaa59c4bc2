"""Who gets a request: the group's strategy, members' caps, away flags and the overflow group."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q
from django.utils import timezone

from approvals.models import ApprovalRequest, Membership, ReviewerGroup

MAX_OVERFLOW_HOPS = 5


@dataclass(frozen=True)
class Assignment:
    group: ReviewerGroup
    assignee: Any  # a User, or None for pull groups and when nobody can take it


def available_memberships(group: ReviewerGroup, *, exclude_user_ids: set[int] | None = None) -> list[Membership]:
    """Members who may get new work now, each annotated with `open_count`, in a fair order."""
    now = timezone.now()
    members = (
        Membership.objects.filter(group=group, away=False, user__is_active=True)
        .exclude(user__reviewer_profile__away_from__lte=now, user__reviewer_profile__away_until__isnull=True)
        .exclude(
            user__reviewer_profile__away_from__lte=now,
            user__reviewer_profile__away_until__gt=now,
        )
        .exclude(user__reviewer_profile__fatigue_flagged_at__isnull=False)
        .select_related("user", "group")
        .annotate(
            open_count=Count(
                "user__assigned_requests",
                filter=Q(user__assigned_requests__status=ApprovalRequest.Status.PENDING),
            )
        )
    )
    result = []
    for membership in members:
        if exclude_user_ids and membership.user_id in exclude_user_ids:
            continue
        cap = membership.effective_wip_cap
        if cap and membership.open_count >= cap:
            continue
        result.append(membership)
    return result


def choose_assignment(
    group: ReviewerGroup, *, exclude_user_ids: set[int] | None = None
) -> Assignment:
    """Pick the group (following overflow) and the member who takes a new request.

    Pull groups leave it unassigned for anyone to claim. Round robin takes the member who was
    assigned longest ago; least loaded takes the one with the fewest open requests. When every
    member is away or at the cap, the overflow group takes it; with no overflow it waits
    unassigned in the group's queue.
    """
    current = group
    for _ in range(MAX_OVERFLOW_HOPS):
        if current.strategy == ReviewerGroup.Strategy.PULL:
            return Assignment(group=current, assignee=None)
        members = available_memberships(current, exclude_user_ids=exclude_user_ids)
        if members:
            if current.strategy == ReviewerGroup.Strategy.ROUND_ROBIN:
                chosen = min(
                    members,
                    key=lambda m: (m.last_assigned_at is not None, m.last_assigned_at, m.pk),
                )
            else:
                chosen = min(
                    members,
                    key=lambda m: (m.open_count, m.last_assigned_at is not None, m.last_assigned_at, m.pk),
                )
            return Assignment(group=current, assignee=chosen.user)
        if current.overflow_group_id is None or current.overflow_group is None:
            break
        current = current.overflow_group
    return Assignment(group=current, assignee=None)
