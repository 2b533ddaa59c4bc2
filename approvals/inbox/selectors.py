"""Reads for the reviewers' inbox: querysets with their joins set.

The inbox is the hottest page, so every list here is built to stay cheap at 2 a.m. with
100,000 open requests: a page is found with keyset pagination through the indexes on
(assignee, status, due_at) and (assigned_group, status, due_at), one index range per "part"
(my assignments; each of my groups' unassigned queue), merged in Python. An `IN (groups)`
filter would make PostgreSQL read and sort every matching row instead of walking one index
in order, so each group is its own short query; the number of queries grows with a
reviewer's groups (a handful), never with the rows.
"""

from __future__ import annotations

import heapq
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import Exists, F, FilteredRelation, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from approvals.models import (
    ApprovalRequest,
    AuditEntry,
    Decision,
    DecisionOption,
    Membership,
    Policy,
    ReviewerGroup,
)

Status = ApprovalRequest.Status

PAGE_SIZE = 25
DUE_SOON = timedelta(hours=4)
RECENT_DECISIONS = 5
COUNT_CAP = 1000

# The inbox views, in the order the sidebar shows them.
VIEWS: dict[str, str] = {
    "todo": "To do",
    "assigned": "Assigned to me",
    "queue": "Group queue",
    "due_soon": "Due soon",
    "overdue": "Overdue",
    "decided": "Decided by me",
}
PENDING_VIEWS = ("todo", "assigned", "queue", "due_soon", "overdue")
_FAR_FUTURE = datetime.max.replace(tzinfo=UTC)


class BadCursor(ValueError):
    pass


@dataclass(frozen=True)
class Cursor:
    """Where a page ends: the sort key of its last row."""

    at: datetime | None
    pk: uuid.UUID

    def encode(self) -> str:
        return f"{self.at.isoformat() if self.at else '-'}~{self.pk}"

    @classmethod
    def decode(cls, raw: str) -> Cursor:
        stamp, sep, pk = raw.partition("~")
        try:
            at = None if stamp == "-" else parse_datetime(stamp)
            if not sep or (stamp != "-" and (at is None or at.tzinfo is None)):
                raise ValueError(raw)
            return cls(at=at, pk=uuid.UUID(pk))
        except ValueError:
            raise BadCursor("This page link is not valid; start from the first page.") from None


@dataclass
class InboxPage:
    items: list[ApprovalRequest]
    next_cursor: str | None


def reviewer_group_ids(user: Any) -> list[int]:
    """The groups a user reviews for (one query; reused by every read below)."""
    if not user.is_authenticated:
        return []
    return list(Membership.objects.filter(user=user).values_list("group_id", flat=True))


def approvals_visible_to(*, user: Any, group_ids: list[int] | None = None) -> QuerySet:
    """Requests a reviewer may see: their groups' current work and what they decided on."""
    if group_ids is None:
        group_ids = reviewer_group_ids(user)
    mine = Decision.objects.filter(approval=OuterRef("pk"), decided_by=user)
    return ApprovalRequest.objects.filter(Q(assigned_group_id__in=group_ids) | Exists(mine))


def _with_joins(queryset: QuerySet) -> QuerySet:
    return queryset.select_related("policy", "assigned_group", "assignee")


def _not_voted(user: Any) -> Exists:
    # Under an "all" or "N approvals" quorum a request stays open after my vote; it is not my
    # work any more (and "next item" must not hand it back to me).
    return Exists(Decision.objects.filter(approval=OuterRef("pk"), decided_by=user))


def _pending_parts(*, user: Any, group_ids: list[int], view: str) -> list[QuerySet]:
    """One index-ordered queryset per part of the view (see the module docstring)."""
    pending = ApprovalRequest.objects.filter(status=Status.PENDING).filter(~_not_voted(user))
    parts = []
    if view in ("todo", "assigned", "due_soon", "overdue"):
        parts.append(pending.filter(assignee=user))
    if view in ("todo", "queue", "due_soon", "overdue"):
        parts += [
            pending.filter(assigned_group_id=group_id, assignee__isnull=True)
            for group_id in group_ids
        ]
    now = timezone.now()
    if view == "due_soon":
        parts = [part.filter(due_at__gte=now, due_at__lt=now + DUE_SOON) for part in parts]
    elif view == "overdue":
        parts = [part.filter(due_at__lt=now) for part in parts]
    return parts


def _after(cursor: Cursor | None) -> Q:
    """Rows after the cursor in (due_at nulls last, id) order."""
    if cursor is None:
        return Q()
    if cursor.at is None:
        return Q(due_at__isnull=True, id__gt=cursor.pk)
    # `due_at >= at` keeps an index range condition; the tie on `at` is broken by id.
    return (Q(due_at__gte=cursor.at) & ~Q(due_at=cursor.at, id__lte=cursor.pk)) | Q(
        due_at__isnull=True
    )


def _due_key(row: tuple[datetime | None, uuid.UUID]) -> tuple[bool, datetime, uuid.UUID]:
    at, pk = row
    return (at is None, at or _FAR_FUTURE, pk)


def _filtered(
    queryset: QuerySet, *, policy: Policy | None, group: ReviewerGroup | None, q: str
) -> QuerySet:
    if policy is not None:
        queryset = queryset.filter(policy=policy)
    if group is not None:
        queryset = queryset.filter(assigned_group=group)
    if q:
        queryset = queryset.filter(Q(title__icontains=q) | Q(external_id=q))
    return queryset


def inbox_for_reviewer(
    *,
    reviewer: Any,
    view: str,
    group_ids: list[int] | None = None,
    policy: Policy | None = None,
    group: ReviewerGroup | None = None,
    q: str = "",
    after: Cursor | None = None,
    limit: int = PAGE_SIZE,
) -> InboxPage:
    """One page of a view, ordered by due time (decided: newest decision first).

    Steps: per part, read the (due_at, id) keys of the next `limit + 1` rows through its
    index; merge the parts; load the page's rows with their joins in one query.
    """
    if group_ids is None:
        group_ids = reviewer_group_ids(reviewer)
    if view == "decided":
        return _decided_page(
            reviewer=reviewer, policy=policy, group=group, q=q, after=after, limit=limit
        )
    order = (F("due_at").asc(nulls_last=True), "id")
    keys: list[tuple[datetime | None, uuid.UUID]] = []
    part_groups = [group.pk] if group is not None else group_ids
    for part in _pending_parts(user=reviewer, group_ids=part_groups, view=view):
        part = _filtered(part, policy=policy, group=group, q=q).filter(_after(after))
        keys += part.order_by(*order).values_list("due_at", "id")[: limit + 1]
    keys = heapq.nsmallest(limit + 1, set(keys), key=_due_key)
    page, more = keys[:limit], len(keys) > limit
    by_id = {
        row.pk: row
        for row in _with_joins(ApprovalRequest.objects.filter(pk__in=[pk for _, pk in page]))
    }
    items = [by_id[pk] for _, pk in page if pk in by_id]
    next_cursor = Cursor(at=page[-1][0], pk=page[-1][1]).encode() if more else None
    return InboxPage(items=items, next_cursor=next_cursor)


def _decided_page(
    *,
    reviewer: Any,
    policy: Policy | None,
    group: ReviewerGroup | None,
    q: str,
    after: Cursor | None,
    limit: int,
) -> InboxPage:
    # Driven by my decisions (a reviewer's own history), newest first.
    queryset = (
        ApprovalRequest.objects.annotate(
            mine=FilteredRelation("decisions", condition=Q(decisions__decided_by=reviewer))
        )
        .filter(mine__isnull=False)
        .annotate(my_decided_at=F("mine__decided_at"), my_outcome=F("mine__option_label"))
    )
    queryset = _filtered(queryset, policy=policy, group=group, q=q)
    if after is not None and after.at is not None:
        queryset = queryset.filter(
            Q(my_decided_at__lt=after.at) | Q(my_decided_at=after.at, id__lt=after.pk)
        )
    rows = list(_with_joins(queryset).order_by("-my_decided_at", "-id")[: limit + 1])
    page, more = rows[:limit], len(rows) > limit
    next_cursor = Cursor(at=page[-1].my_decided_at, pk=page[-1].pk).encode() if more else None
    return InboxPage(items=page, next_cursor=next_cursor)


def inbox_counts(*, reviewer: Any, group_ids: list[int]) -> dict[str, int]:
    """The number on each view, counted up to COUNT_CAP, in one query.

    Counting every open row would read the whole backlog on every page view (a table scan
    once most rows match). Like a mail client's "999+", each part is counted through its
    index up to the cap; a view at the cap shows "1000+" (`count_label`).
    """
    parts = {
        view: _pending_parts(user=reviewer, group_ids=group_ids, view=view)
        for view in ("assigned", "queue", "due_soon", "overdue")
    }
    parts["decided"] = [Decision.objects.filter(decided_by=reviewer)]
    selects: list[str] = []
    params: list[Any] = []
    owners: list[str] = []
    for view, querysets in parts.items():
        for queryset in querysets:
            sql, part_params = queryset.order_by().values("pk")[:COUNT_CAP].query.sql_with_params()
            # `sql` is Django's own compiled query; every value stays a bound parameter.
            selects.append(f"(SELECT COUNT(*) FROM ({sql}) AS part)")  # noqa: S608
            params.extend(part_params)
            owners.append(view)
    counts = dict.fromkeys(VIEWS, 0)
    if selects:
        with connection.cursor() as cursor:
            cursor.execute("SELECT " + ", ".join(selects), params)
            for view, number in zip(owners, cursor.fetchone(), strict=True):
                counts[view] += number
    counts["todo"] = counts["assigned"] + counts["queue"]
    return {view: min(number, COUNT_CAP) for view, number in counts.items()}


def count_label(number: int) -> str:
    return f"{COUNT_CAP}+" if number >= COUNT_CAP else str(number)


def filter_choices(*, group_ids: list[int]) -> tuple[list[Policy], list[ReviewerGroup]]:
    """The policies that route to my groups and the groups themselves, for the filters."""
    policies = list(
        Policy.objects.filter(stages__group_id__in=group_ids).distinct().order_by("name")
    )
    groups = list(ReviewerGroup.objects.filter(pk__in=group_ids).order_by("name"))
    return policies, groups


def next_for_reviewer(
    *, reviewer: Any, view: str, group_ids: list[int], exclude: Any = None
) -> ApprovalRequest | None:
    """The item to show after a decision: the top of the same view (To do after history)."""
    view = view if view in PENDING_VIEWS else "todo"
    page = inbox_for_reviewer(reviewer=reviewer, view=view, group_ids=group_ids, limit=2)
    return next((item for item in page.items if item.pk != exclude), None)


# --- the detail page --------------------------------------------------------------------------


def approval_options(approval: ApprovalRequest) -> list[DecisionOption]:
    return list(DecisionOption.objects.filter(policy_id=approval.policy_id).order_by("position"))


def approval_timeline(approval: ApprovalRequest) -> list[AuditEntry]:
    """Every audit entry of the request, oldest first, with its decision joined."""
    return list(
        AuditEntry.objects.filter(approval=approval).select_related("decision").order_by("id")
    )


def recent_policy_decisions(
    approval: ApprovalRequest, *, group_ids: list[int], limit: int = RECENT_DECISIONS
) -> list[Decision]:
    """The last few outcomes of the same policy in my groups, for context."""
    return list(
        Decision.objects.filter(
            is_final=True,
            approval__policy_id=approval.policy_id,
            approval__assigned_group_id__in=group_ids,
        )
        .exclude(approval_id=approval.pk)
        .select_related("approval")
        .order_by("-decided_at", "-id")[:limit]
    )
