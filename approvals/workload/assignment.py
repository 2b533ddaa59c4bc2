"""Who gets a request: the group's strategy, members' caps, away flags and the overflow group.

Used at intake (`approval_submit` / stage advance), at escalation and by `distribute_work`.
Reads only; the services write the assignment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import transaction
from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone

from approvals.models import ApprovalRequest, Membership, ReviewerGroup, ReviewerProfile

MAX_OVERFLOW_HOPS = 5
_LONG_AGO = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Assignment:
    group: ReviewerGroup
    assignee: Any  # a User, or None for pull groups and when nobody can take it


def out_of_office_q(now: datetime, prefix: str = "") -> Q:
    """Profiles (reached through `prefix`) whose away dates cover `now`."""
    return Q(**{f"{prefix}away_from__lte": now}) & (
        Q(**{f"{prefix}away_until__isnull": True}) | Q(**{f"{prefix}away_until__gt": now})
    )


def out_of_office_user_ids(now: datetime | None = None) -> QuerySet[ReviewerProfile, Any]:
    """User ids whose out-of-office dates cover `now` (a subquery; few rows)."""
    now = now or timezone.now()
    return ReviewerProfile.objects.filter(out_of_office_q(now)).values("user_id")


def open_counts(user_ids: list[int]) -> dict[int, int]:
    """Pending requests held by each user, across every group (the WIP a cap limits)."""
    rows = (
        ApprovalRequest.objects.filter(
            assignee_id__in=user_ids, status=ApprovalRequest.Status.PENDING
        )
        .values("assignee_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {row["assignee_id"]: row["n"] for row in rows}


def available_memberships(
    group: ReviewerGroup,
    *,
    exclude_user_ids: set[int] | None = None,
    allow_fatigued: bool = False,
) -> list[Membership]:
    """Members who may get new work now, each annotated with `open_count` (None when neither
    the strategy nor a cap needs it), in a fair order.

    Skips members flagged away in the group, out of office by their own dates, inactive, at or
    over their cap, and (unless `allow_fatigued`) flagged for fatigue.
    """
    now = timezone.now()
    members = (
        Membership.objects.filter(group=group, away=False, user__is_active=True)
        .exclude(user_id__in=out_of_office_user_ids(now))
        .exclude(user_id__in=exclude_user_ids or ())
        .select_related("user", "group")
        .annotate(flagged_at=F("user__reviewer_profile__fatigue_flagged_at"))
        .order_by("pk")
    )
    if not allow_fatigued:
        members = members.filter(flagged_at__isnull=True)
    found = list(members)
    # The count reads every pending row each member holds: at 100,000 open requests it was
    # most of an intake's or an escalation's time (BENCHMARKS.md). Only least loaded and caps
    # look at it, so round robin without caps skips it (open_count stays None).
    counted = group.strategy == ReviewerGroup.Strategy.LEAST_LOADED or any(
        m.effective_wip_cap for m in found
    )
    counts = open_counts([m.user_id for m in found]) if counted else {}
    result: list[Membership] = []
    for membership in found:
        membership.open_count = counts.get(membership.user_id, 0) if counted else None  # type: ignore[attr-defined]
        cap = membership.effective_wip_cap
        if cap and membership.open_count >= cap:  # type: ignore[attr-defined]
            continue
        result.append(membership)
    return result


def _pick(group: ReviewerGroup, members: list[Membership]) -> Membership:
    def never_first(m: Membership) -> tuple[bool, datetime]:
        # Members never assigned come first; then the one assigned longest ago.
        return (m.last_assigned_at is not None, m.last_assigned_at or _LONG_AGO)

    if group.strategy == ReviewerGroup.Strategy.ROUND_ROBIN:
        return min(members, key=lambda m: (*never_first(m), m.pk))
    return min(members, key=lambda m: (m.open_count, *never_first(m), m.pk))  # type: ignore[attr-defined]


def _lock_group(group: ReviewerGroup) -> None:
    # Two assignments to one group at once would both see the same counts and could pass a cap
    # or pick the same member; inside a transaction they queue on the group row instead.
    if transaction.get_connection().in_atomic_block:
        ReviewerGroup.objects.select_for_update().filter(pk=group.pk).first()


def choose_assignment(
    group: ReviewerGroup, *, exclude_user_ids: set[int] | None = None
) -> Assignment:
    """Pick the group (following overflow) and the member who takes a new request.

    Steps: pull groups leave it unassigned for anyone to claim. Otherwise walk the group and
    its overflow chain looking for a member with room who is not flagged for fatigue: round
    robin takes the one assigned longest ago, least loaded the one with the fewest open
    requests. Only when nobody else can, walk the chain again allowing fatigue-flagged members.
    With nobody at all it waits unassigned in the last group's queue.
    """
    chain: list[ReviewerGroup] = []
    pull_tail: ReviewerGroup | None = None
    current: ReviewerGroup | None = group
    while current is not None and current not in chain and len(chain) < MAX_OVERFLOW_HOPS:
        if current.strategy == ReviewerGroup.Strategy.PULL:
            pull_tail = current
            break
        chain.append(current)
        current = current.overflow_group if current.overflow_group_id else None
    if not chain:
        return Assignment(group=group, assignee=None)
    for allow_fatigued in (False, True):
        for candidate in chain:
            _lock_group(candidate)
            members = available_memberships(
                candidate, exclude_user_ids=exclude_user_ids, allow_fatigued=allow_fatigued
            )
            if members:
                return Assignment(group=candidate, assignee=_pick(candidate, members).user)
    # Nobody has room: it waits in the queue of the last group of the chain (a pull group at
    # the end of the chain takes it, as its members claim work themselves).
    return Assignment(group=pull_tail or chain[-1], assignee=None)
