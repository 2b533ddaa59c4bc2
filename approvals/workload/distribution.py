"""`distribute_work`: keep work moving to people who can take it.

Two passes, each bounded and idempotent (a second run right after finds nothing to do):
1. re-route: pending requests held by someone who is away (the group's away flag, or their own
   out-of-office dates that have begun) go to their delegate when the delegate can take them,
   else through the group's strategy (or back to the group's queue);
2. fill: unassigned pending work of round-robin and least-loaded groups goes to members who now
   have room (a cap freed up, someone came back).
Every change goes through `approval_assign`.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from approvals.exceptions import ApprovalError
from approvals.foureyes import requester_of
from approvals.models import ApprovalRequest, Decision, Membership, ReviewerGroup, ReviewerProfile
from approvals.services.approvals import approval_assign
from approvals.workload.assignment import available_memberships, choose_assignment, out_of_office_q

log = logging.getLogger(__name__)
Status = ApprovalRequest.Status
AUTO_STRATEGIES = (ReviewerGroup.Strategy.ROUND_ROBIN, ReviewerGroup.Strategy.LEAST_LOADED)


def _batch_size() -> int:
    return settings.DISTRIBUTE_BATCH_SIZE


def _voters(approval: ApprovalRequest) -> set[int]:
    return set(
        Decision.objects.filter(approval=approval, decided_by__isnull=False).values_list(
            "decided_by_id", flat=True
        )
    )


def held_by_away_members(now: datetime, limit: int) -> list[ApprovalRequest]:
    """Pending requests whose assignee is away from the request's group or out of office."""
    away_ids = list(
        ReviewerProfile.objects.filter(out_of_office_q(now)).values_list("user_id", flat=True)
    )
    away_pairs = list(Membership.objects.filter(away=True).values_list("group_id", "user_id"))
    if not away_ids and not away_pairs:
        return []
    held = Q(assignee_id__in=away_ids)
    for group_id, user_id in away_pairs:
        held |= Q(assigned_group_id=group_id, assignee_id=user_id)
    return list(
        ApprovalRequest.objects.filter(held, status=Status.PENDING)
        .select_related("assignee__reviewer_profile__delegate", "assigned_group")
        .order_by("due_at", "created_at")[:limit]
    )


def _delegate_for(approval: ApprovalRequest, exclude: set[int]) -> Any:
    """The away assignee's delegate, if they can take this request now (else None)."""
    profile = getattr(approval.assignee, "reviewer_profile", None)
    delegate = profile.delegate if profile is not None else None
    if delegate is None or approval.assigned_group is None:
        return None
    # Eligible: in the request's group, not away, active, under their cap, not a voter.
    members = available_memberships(
        approval.assigned_group,
        exclude_user_ids=exclude,
        allow_fatigued=True,
        requester=requester_of(approval),
    )
    return delegate if any(m.user_id == delegate.pk for m in members) else None


def _still(approval: ApprovalRequest, **as_read: Any) -> bool:
    """Lock the row in the caller's transaction and check it is still as this run read it,
    so two distribute runs at once never move one request twice."""
    return bool(
        ApprovalRequest.objects.select_for_update()
        .filter(pk=approval.pk, status=Status.PENDING, **as_read)
        .values_list("pk", flat=True)
    )


@transaction.atomic
def reroute(approval: ApprovalRequest, now: datetime) -> bool:
    """Move one away member's request on; False if it stays (nobody else can take it)."""
    away_user = approval.assignee
    if away_user is None or not _still(approval, assignee_id=away_user.pk):
        return False
    exclude = _voters(approval) | {away_user.pk}
    delegate = _delegate_for(approval, exclude)
    if delegate is not None:
        group, assignee = approval.assigned_group, delegate
    elif approval.assigned_group is None:
        return False
    else:
        choice = choose_assignment(
            approval.assigned_group, exclude_user_ids=exclude, requester=requester_of(approval)
        )
        # With nobody available it goes back to the group's queue: better waiting where
        # anyone can claim it than on the desk of someone on holiday.
        group, assignee = choice.group, choice.assignee
    approval_assign(
        approval=approval,
        assignee=assignee,
        group=group,
        actor="distribution",
    )
    return True


def waiting_work(limit: int) -> list[ApprovalRequest]:
    """Unassigned pending requests of groups that hand out work, most urgent first."""
    return list(
        ApprovalRequest.objects.filter(
            status=Status.PENDING,
            assignee__isnull=True,
            assigned_group__strategy__in=AUTO_STRATEGIES,
        )
        .select_related("assigned_group")
        .order_by("due_at", "created_at")[:limit]
    )


def fill(approval: ApprovalRequest, full_groups: set[Any]) -> bool:
    """Give one waiting request to a member with room; False if nobody has room."""
    group = approval.assigned_group
    if group is None or group.pk in full_groups:
        return False  # without a transaction: a full group's queue costs nothing per row
    if (group.pk, requester_of(approval)) in full_groups:
        return False  # full for everyone but this requester, who may not take their own
    with transaction.atomic():
        return _fill_locked(approval, group, full_groups)


def _fill_locked(approval: ApprovalRequest, group: ReviewerGroup, full_groups: set[Any]) -> bool:
    if not _still(approval, assignee__isnull=True, assigned_group_id=group.pk):
        return False
    voters = _voters(approval)
    requester = requester_of(approval)
    choice = choose_assignment(group, exclude_user_ids=voters, requester=requester)
    if choice.assignee is None:
        # Nobody left out: the rest of this group's queue would find nobody too. Only the
        # requester left out: the rest of that requester's requests would not either.
        if not voters:
            full_groups.add((group.pk, requester) if requester else group.pk)
        return False
    approval_assign(
        approval=approval, assignee=choice.assignee, group=choice.group, actor="distribution"
    )
    return True


def distribute(*, now: datetime | None = None) -> int:
    """Re-route away members' work, then hand out waiting work; returns how many moved.

    Steps: re-route up to a batch of requests held by away members; then give up to a batch
    of waiting requests to members with room, skipping a group once nobody in it has room.
    A request that fails (decided meanwhile, a bad group) is logged and skipped.
    """
    now = now or timezone.now()
    limit = _batch_size()
    moved = 0
    for approval in held_by_away_members(now, limit):
        try:
            moved += reroute(approval, now)
        except ApprovalError as exc:
            log.info("not re-routing %s: %s", approval.pk, exc.message)
    full_groups: set[Any] = set()
    for approval in waiting_work(limit):
        try:
            moved += fill(approval, full_groups)
        except ApprovalError as exc:
            log.info("not assigning %s: %s", approval.pk, exc.message)
    return moved
