"""Reads for the reviewers' inbox: querysets with their joins set.

The inbox is the hottest page, so every list here is built to stay cheap at 2 a.m. with
100,000 open requests: a page is found with keyset pagination through the indexes on
(assignee, status, due_at) and (assigned_group, status, due_at), one index range per "part"
(my assignments; each of my groups' unassigned queue), merged in Python. An `IN (groups)`
filter would make PostgreSQL read and sort every matching row instead of walking one index
in order, so each group is its own short index range; the ranges go to PostgreSQL as one
UNION ALL (one round trip), and the page's rows are a second query loading only the columns a
row shows. The counters are a third, capped query (`inbox_counts`). docs/performance.md has
the measurements.
"""

from __future__ import annotations

import contextlib
import hashlib
import heapq
import logging
import math
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection
from django.db.models import Exists, F, Field, FilteredRelation, OuterRef, Q, QuerySet
from django.db.models.fields.json import KeyTransform
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from approvals.ids import uuid_param
from approvals.models import (
    ApprovalRequest,
    AuditEntry,
    Decision,
    DecisionOption,
    Membership,
    Outcome,
    Policy,
    ReviewerGroup,
    ReviewerProfile,
)
from approvals.rows import JoinedRead, ModelColumns, converter
from approvals.services.policies import (
    FILTER_CHOICES_VERSION,
    filter_choices_version,
    policy_specs,
)

Status = ApprovalRequest.Status

PAGE_SIZE = 25
log = logging.getLogger(__name__)
DUE_SOON = timedelta(hours=4)
RECENT_DECISIONS = 5
# The counters count up to here and then show "100+": a number a person can act on, read
# through an index range of at most COUNT_CAP rows per part whatever the backlog.
COUNT_CAP = 100
# What a list row shows (approvals/inbox/presenters.py `list_rows`), with the names of its policy,
# group and assignee beside them (`_rows`); the rest of a request (its payload, stage plan, JSON
# columns) is never read for the list.
LIST_COLUMNS = (
    "id",
    "title",
    "status",
    "due_at",
    "external_id",
    "escalated",
    "assignee_id",
    "assigned_group_id",
    "policy_id",
)

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


class BadCursor(ValueError):
    pass


@dataclass(frozen=True)
class Cursor:
    """Where a page ends: the sort key of its last row (a time, a number, or None) and its id."""

    at: datetime | float | None
    pk: uuid.UUID

    def encode(self) -> str:
        if self.at is None:
            stamp = "-"
        elif isinstance(self.at, datetime):
            stamp = self.at.isoformat()
        else:
            stamp = f"n{self.at!r}"
        return f"{stamp}~{self.pk}"

    @classmethod
    def decode(cls, raw: str) -> Cursor:
        stamp, sep, pk = raw.partition("~")
        try:
            at: datetime | float | None
            if stamp == "-":
                at = None
            elif stamp.startswith("n"):
                at = float(stamp[1:])
                if not math.isfinite(at):
                    raise ValueError(raw)
            else:
                at = parse_datetime(stamp)
                if at is None or at.tzinfo is None:
                    raise ValueError(raw)
            if not sep:
                raise ValueError(raw)
            return cls(at=at, pk=uuid.UUID(pk))
        except ValueError:
            raise BadCursor("This page link is not valid; start from the first page.") from None


@dataclass(frozen=True)
class Sort:
    """A list order: by due time (soonest first), by age (oldest first) or by a numeric payload
    field (largest first); missing values last, ties by id. `key` is the form's value."""

    key: str = "due"

    @property
    def field(self) -> str | None:
        return self.key.removeprefix("field:") if self.key.startswith("field:") else None

    @property
    def descending(self) -> bool:
        return self.field is not None

    def expression(self) -> Any:
        if self.field is not None:
            # The JSON value itself (no cast, so a stray string cannot fail the query):
            # PostgreSQL orders jsonb numbers numerically, SQLite's JSON_EXTRACT returns numbers.
            return KeyTransform(self.field, "payload")
        return F("created_at" if self.key == "age" else "due_at")

    def order(self) -> tuple[Any, ...]:
        expression = self.expression()
        ordered = (
            expression.desc(nulls_last=True) if self.descending else expression.asc(nulls_last=True)
        )
        return (ordered, "id")

    def after(self, cursor: Cursor | None) -> Q:
        """Rows after the cursor in this order (nulls last, then by id)."""
        if cursor is None:
            return Q()
        if cursor.at is None:
            return Q(sort_key__isnull=True, id__gt=cursor.pk)
        beyond = "sort_key__lte" if self.descending else "sort_key__gte"
        # `>=` keeps an index range condition; the tie on the value is broken by id.
        return (Q(**{beyond: cursor.at}) & ~Q(sort_key=cursor.at, id__lte=cursor.pk)) | Q(
            sort_key__isnull=True
        )

    def merge_key(self, row: tuple[Any, uuid.UUID]) -> tuple[Any, ...]:
        value, pk = row
        if value is None:
            return (True, 0, pk)
        if isinstance(value, datetime):
            return (False, value, pk)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return (True, 0, pk)  # not a number: with the missing ones, as the database has it
        return (False, -value if self.descending else value, pk)


DUE = Sort()


@dataclass
class InboxPage:
    items: list[Any]  # `ListRow`s for a list page's columns, else ApprovalRequests
    next_cursor: str | None


def reviewer_group_ids(user: Any) -> list[int]:
    """The groups a user reviews for (one query; reused by every read below)."""
    if not user.is_authenticated:
        return []
    # Plain SQL like the counters, in group id order (the callers use the ids as a set): no
    # join to the group table for Membership's default ordering.
    sql = f"SELECT group_id FROM {Membership._meta.db_table} WHERE user_id = %s ORDER BY group_id"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [user.pk])
        return [group_id for (group_id,) in cursor.fetchall()]


def approvals_visible_to(*, user: Any, group_ids: list[int] | None = None) -> QuerySet:
    """Requests a reviewer may see: their groups' current work and what they decided on."""
    if group_ids is None:
        group_ids = reviewer_group_ids(user)
    mine = Decision.objects.filter(approval=OuterRef("pk"), decided_by=user)
    return ApprovalRequest.objects.filter(Q(assigned_group_id__in=group_ids) | Exists(mine))


def _with_joins(queryset: QuerySet) -> QuerySet:
    return queryset.select_related("policy", "assigned_group", "assignee")


def _rows(queryset: QuerySet, columns: tuple[str, ...] | None) -> QuerySet:
    """Every column with the policy, group and assignee joined (columns None: a detail pane),
    or only `columns` with the three names as `policy_name`, `group_name` and `assignee_name`
    (a list row: one object per row, not four)."""
    if columns is None:
        return _with_joins(queryset)
    return queryset.only(*columns).annotate(
        policy_name=F("policy__name"),
        group_name=F("assigned_group__name"),
        assignee_name=F(f"assignee__{get_user_model().USERNAME_FIELD}"),
    )


@dataclass(slots=True)
class ListRow:
    """A list row as `list_rows` reads it: LIST_COLUMNS and the three names. A plain object,
    not an ApprovalRequest: building 25 model instances (raw() with its per-column work) cost
    the page more CPU than its query."""

    id: uuid.UUID
    title: str
    status: str
    due_at: datetime | None
    external_id: str
    escalated: bool
    assignee_id: int | None
    assigned_group_id: int | None
    policy_id: int | None
    policy_name: str | None
    group_name: str | None
    assignee_name: str | None

    @property
    def pk(self) -> uuid.UUID:
        return self.id


class _ListRead:
    """The list page's rows in one plain SQL statement, built once per page size; each value
    converted as the ORM would (approvals/rows.py `ModelColumns`)."""

    def __init__(self) -> None:
        self.columns = ModelColumns(ApprovalRequest, "r", LIST_COLUMNS)
        self._sql: dict[int, str] = {}

    def sql(self, count: int) -> str:
        if count not in self._sql:
            user = get_user_model()
            tables = [m._meta.db_table for m in (ApprovalRequest, Policy, ReviewerGroup, user)]
            username_field = user._meta.get_field(user.USERNAME_FIELD)
            assert isinstance(username_field, Field)
            placeholders = ", ".join(["%s"] * count)
            # Table and column names from the models and placeholders only: every id is a
            # parameter.
            self._sql[count] = (
                f"SELECT {self.columns.sql}, p.name, g.name, u.{username_field.column}"  # noqa: S608
                f" FROM {tables[0]} r"
                f" LEFT JOIN {tables[1]} p ON p.id = r.policy_id"
                f" LEFT JOIN {tables[2]} g ON g.id = r.assigned_group_id"
                f" LEFT JOIN {tables[3]} u ON u.id = r.assignee_id"
                f" WHERE r.id IN ({placeholders})"
            )
        return self._sql[count]

    def rows(self, ids: list[uuid.UUID]) -> list[ListRow]:
        names, width = self.columns.attnames, len(self.columns.attnames)
        with connection.cursor() as cursor:
            cursor.execute(self.sql(len(ids)), [uuid_param(i) for i in ids])
            fetched = cursor.fetchall()
        return [
            ListRow(
                **dict(zip(names, self.columns.converted(row[:width]), strict=True)),
                policy_name=row[width],
                group_name=row[width + 1],
                assignee_name=row[width + 2],
            )
            for row in fetched
        ]


_LIST_READ = _ListRead()


def _rows_by_id(ids: list[uuid.UUID], columns: tuple[str, ...] | None) -> list[Any]:
    """The rows of a page of keys: a list page's (`LIST_COLUMNS`) as `ListRow`s from one plain
    SQL statement (`_ListRead`), any other as `_rows` gives them."""
    if columns != LIST_COLUMNS or not ids:
        return list(_rows(ApprovalRequest.objects.filter(pk__in=ids), columns))
    return _LIST_READ.rows(ids)


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


def _filtered(
    queryset: QuerySet, *, policy: Policy | None, group: ReviewerGroup | None, q: str
) -> QuerySet:
    if policy is not None:
        queryset = queryset.filter(policy=policy)
    if group is not None:
        queryset = queryset.filter(assigned_group=group)
    if q:
        # search_text is lower-cased: a plain LIKE '%…%', which the trigram index serves on
        # PostgreSQL (migration 0016); SQLite's LIKE scans the parts' rows.
        queryset = queryset.filter(search_text__contains=q.lower())
    return queryset


def inbox_for_reviewer(
    *,
    reviewer: Any,
    view: str,
    group_ids: list[int] | None = None,
    policy: Policy | None = None,
    group: ReviewerGroup | None = None,
    q: str = "",
    sort: Sort = DUE,
    after: Cursor | None = None,
    limit: int = PAGE_SIZE,
    columns: tuple[str, ...] | None = LIST_COLUMNS,
) -> InboxPage:
    """One page of a view, ordered by `sort` (decided: newest decision first).

    Steps: per part, read the (sort key, id) keys of the next `limit + 1` rows through its
    index (all parts in one query); merge the parts; load the page's rows with their joins in
    one query, only `columns` of them (None: every column, for a detail pane).
    """
    if group_ids is None:
        group_ids = reviewer_group_ids(reviewer)
    if view == "decided":
        return _decided_page(
            reviewer=reviewer,
            policy=policy,
            group=group,
            q=q,
            after=after,
            limit=limit,
            columns=columns,
        )
    keys = _page_keys(
        reviewer=reviewer,
        view=view,
        group_ids=group_ids,
        policy=policy,
        group=group,
        q=q,
        sort=sort,
        after=after,
        limit=limit,
    )
    page, more = keys[:limit], len(keys) > limit
    by_id = {row.pk: row for row in _rows_by_id([pk for _, pk in page], columns)}
    items = [by_id[pk] for _, pk in page if pk in by_id]
    next_cursor = Cursor(at=page[-1][0], pk=page[-1][1]).encode() if more else None
    return InboxPage(items=items, next_cursor=next_cursor)


def _page_keys(
    *,
    reviewer: Any,
    view: str,
    group_ids: list[int],
    policy: Policy | None,
    group: ReviewerGroup | None,
    q: str,
    sort: Sort,
    after: Cursor | None,
    limit: int,
) -> list[tuple[Any, uuid.UUID]]:
    """The (sort key, id) keys of the next `limit + 1` pending rows, merged from every part."""
    part_groups = [group.pk] if group is not None else group_ids
    if sort.field is None:
        times = _time_keys(
            reviewer=reviewer,
            view=view,
            group_ids=part_groups,
            policy=policy,
            group=group,
            q=q,
            sort=sort,
            after=after,
            limit=limit,
        )
        return heapq.nsmallest(limit + 1, set(times), key=sort.merge_key)
    ranges = [
        _filtered(part, policy=policy, group=group, q=q)
        .annotate(sort_key=sort.expression())
        .filter(sort.after(after))
        .order_by(*sort.order())
        .values_list("sort_key", "id")[: limit + 1]
        for part in _pending_parts(user=reviewer, group_ids=part_groups, view=view)
    ]
    keys: list[tuple[Any, uuid.UUID]] = []
    if len(ranges) > 1 and connection.features.supports_slicing_ordering_in_compound:
        # One round trip: each part stays its own ordered, limited index range in UNION ALL.
        keys += ranges[0].union(*ranges[1:], all=True)
    else:  # SQLite cannot limit the parts of a UNION: one query per part
        for part in ranges:
            keys += part
    return heapq.nsmallest(limit + 1, set(keys), key=sort.merge_key)


def _time_keys(
    *,
    reviewer: Any,
    view: str,
    group_ids: list[int],
    policy: Policy | None,
    group: ReviewerGroup | None,
    q: str,
    sort: Sort,
    after: Cursor | None,
    limit: int,
) -> list[tuple[Any, uuid.UUID]]:
    """`_page_keys` for the due and age orders, in plain SQL built without the ORM on every
    page view (like the counters): the same parts, filters, cursor condition and order as the
    querysets of `_pending_parts` and `Sort`. One UNION ALL of the parts on PostgreSQL; SQLite
    runs the parts one by one, as the ORM path does."""
    request, decision = ApprovalRequest._meta.db_table, Decision._meta.db_table
    field = ApprovalRequest._meta.get_field("created_at" if sort.key == "age" else "due_at")
    assert isinstance(field, Field)
    column = f"r.{field.column}"
    now = timezone.now()
    at = connection.ops.adapt_datetimefield_value
    common = (
        f" AND r.status = %s AND NOT EXISTS (SELECT 1 FROM {decision} d"  # noqa: S608
        " WHERE d.approval_id = r.id AND d.decided_by_id = %s)"
    )
    common_params: list[Any] = [Status.PENDING.value, reviewer.pk]
    if view == "due_soon":
        common += " AND r.due_at >= %s AND r.due_at < %s"
        common_params += [at(now), at(now + DUE_SOON)]
    elif view == "overdue":
        common += " AND r.due_at < %s"
        common_params.append(at(now))
    # The list's filters (`_filtered`); search_text is lower-cased, the pattern escaped.
    if policy is not None:
        common += " AND r.policy_id = %s"
        common_params.append(policy.pk)
    if group is not None:
        common += " AND r.assigned_group_id = %s"
        common_params.append(group.pk)
    if q:
        common += " AND r.search_text LIKE %s" + (
            "" if connection.vendor == "postgresql" else " ESCAPE '\\'"
        )
        common_params.append(like_pattern(q))
    # After the cursor (`Sort.after`): `>=` keeps an index range condition, the tie on the
    # value is broken by id; missing values last.
    if after is not None:
        pk = uuid_param(after.pk)
        if after.at is None:
            common += f" AND {column} IS NULL AND r.id > %s"
            common_params.append(pk)
        else:
            # A time: the form takes a number only for a field's sort (forms.py).
            assert isinstance(after.at, datetime)
            common += (
                f" AND (({column} >= %s AND NOT ({column} = %s AND r.id <= %s))"
                f" OR {column} IS NULL)"
            )
            common_params += [at(after.at), at(after.at), pk]
    parts: list[tuple[str, list[Any]]] = []
    if view in ("todo", "assigned", "due_soon", "overdue"):
        parts.append(("r.assignee_id = %s", [reviewer.pk]))
    if view in ("todo", "queue", "due_soon", "overdue"):
        parts += [
            ("r.assigned_group_id = %s AND r.assignee_id IS NULL", [group_id])
            for group_id in group_ids
        ]
    # Table and column names from the models and placeholders only: every value is a parameter.
    queries = [
        (
            f"SELECT * FROM (SELECT {column}, r.id FROM {request} r"  # noqa: S608
            f" WHERE {where}{common} ORDER BY {column} ASC NULLS LAST, r.id ASC"
            f" LIMIT {int(limit) + 1}) AS part{index}",
            [*where_params, *common_params],
        )
        for index, (where, where_params) in enumerate(parts)
    ]
    if len(queries) > 1 and connection.features.supports_slicing_ordering_in_compound:
        # One round trip: each part stays its own ordered, limited index range in UNION ALL.
        queries = [
            (
                " UNION ALL ".join(sql for sql, _ in queries),
                [value for _, params in queries for value in params],
            )
        ]
    # The database's values as the ORM would convert them (SQLite: text to times and ids).
    value_of, id_of = converter(ApprovalRequest, field.name), converter(ApprovalRequest, "id")
    keys: list[tuple[Any, uuid.UUID]] = []
    with connection.cursor() as cursor:
        for sql, params in queries:
            cursor.execute(sql, params)
            keys += [(value_of(value), id_of(pk)) for value, pk in cursor.fetchall()]
    return keys


def inbox_page_stamp(
    *,
    reviewer: Any,
    view: str,
    group_ids: list[int],
    policy: Policy | None = None,
    group: ReviewerGroup | None = None,
    q: str = "",
    sort: Sort = DUE,
    after: Cursor | None = None,
    limit: int = PAGE_SIZE,
) -> str:
    """A short fingerprint of a page's rows, read without loading them (the live refresh).

    The list renders `page_stamp()` of its own rows; the refresh compares the two and redraws
    the list only when they differ. Same keys (one index range per part) as the page itself.
    """
    if view == "decided":
        page = _decided_page(
            reviewer=reviewer,
            policy=policy,
            group=group,
            q=q,
            after=after,
            limit=limit,
            columns=LIST_COLUMNS,
        )
        return page_stamp(item.pk for item in page.items)
    keys = _page_keys(
        reviewer=reviewer,
        view=view,
        group_ids=group_ids,
        policy=policy,
        group=group,
        q=q,
        sort=sort,
        after=after,
        limit=limit,
    )
    return page_stamp(pk for _, pk in keys[:limit])


def page_stamp(ids: Iterable[Any]) -> str:
    return hashlib.blake2s(",".join(map(str, ids)).encode(), digest_size=6).hexdigest()


@dataclass(frozen=True)
class Away:
    """Why a reviewer gets no new work right now (the inbox's "You are marked away" banner)."""

    until: datetime | None
    out_of_office: bool


def reviewer_away(user: Any) -> Away | None:
    """The reviewer's away state, or None while they take work. One query: the profile's
    out-of-office dates and whether any of their memberships is marked away."""
    return reviewer_state(user)[1]


def _state_sql() -> str:
    user_model = get_user_model()
    profile, membership = ReviewerProfile._meta.db_table, Membership._meta.db_table
    user_id = user_model._meta.pk.column  # type: ignore[union-attr]
    # Plain SQL like the counters: table names from the models, every value a parameter. One
    # row per membership (one with no group for a user in none), in group id order.
    return (
        f"SELECT m.group_id, m.away, p.away_from, p.away_until"  # noqa: S608
        f" FROM {user_model._meta.db_table} u"
        f" LEFT JOIN {profile} p ON p.user_id = u.{user_id}"
        f" LEFT JOIN {membership} m ON m.user_id = u.{user_id}"
        f" WHERE u.{user_id} = %s ORDER BY m.group_id"
    )


_STATE_SQL = _state_sql()


def reviewer_state(user: Any) -> tuple[list[int], Away | None]:
    """`reviewer_group_ids` and `reviewer_away` in one query, for the pages that need both
    (the inbox and its live refresh)."""
    if not user.is_authenticated:
        return [], None
    with connection.cursor() as cursor:
        cursor.execute(_STATE_SQL, [user.pk])
        rows = cursor.fetchall()
    if not rows:
        return [], None
    group_ids = [row[0] for row in rows if row[0] is not None]
    convert = converter(ReviewerProfile, "away_from")
    start, until = convert(rows[0][2]), convert(rows[0][3])
    now = timezone.now()
    if start is not None and start <= now and (until is None or now < until):
        return group_ids, Away(until=until, out_of_office=True)
    if any(row[1] for row in rows if row[0] is not None):
        return group_ids, Away(until=None, out_of_office=False)
    return group_ids, None


def _decided_page(
    *,
    reviewer: Any,
    policy: Policy | None,
    group: ReviewerGroup | None,
    q: str,
    after: Cursor | None,
    limit: int,
    columns: tuple[str, ...] | None,
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
    ordered = _rows(queryset, columns).order_by("-my_decided_at", "-id")
    rows: list[Any] = list(ordered[: limit + 1])
    page, more = rows[:limit], len(rows) > limit
    next_cursor = Cursor(at=page[-1].my_decided_at, pk=page[-1].pk).encode() if more else None
    return InboxPage(items=page, next_cursor=next_cursor)


# One capped index range per counter part. The parts are fixed (all of a reviewer's groups in
# one IN list), so the query is plain text built without the ORM on every page view, and the
# database reads at most COUNT_CAP index entries per part. The ORDER BY is the index's own
# order: it keeps the planner on the index (req_assignee_due, req_queue_due) where a sequential
# scan "until 100 match" would look cheaper and read every assigned row first.
_MINE = "r.assignee_id = %(me)s"
_QUEUE = "r.assigned_group_id IN ({groups}) AND r.assignee_id IS NULL"
_DUE_SOON = "r.due_at >= %(now)s AND r.due_at < %(soon)s"
_OVERDUE = "r.due_at < %(now)s"
_COUNT_PARTS: tuple[tuple[str, str], ...] = (
    ("assigned", _MINE),
    ("queue", _QUEUE),
    ("due_soon", f"{_MINE} AND {_DUE_SOON}"),
    ("due_soon", f"{_QUEUE} AND {_DUE_SOON}"),
    ("overdue", f"{_MINE} AND {_OVERDUE}"),
    ("overdue", f"{_QUEUE} AND {_OVERDUE}"),
)


def _count_sql(group_count: int, *, policy: bool, group: bool, search: bool) -> str:
    request, decision = ApprovalRequest._meta.db_table, Decision._meta.db_table
    groups = ", ".join(f"%(g{index})s" for index in range(group_count)) or "NULL"
    not_voted = (
        f"NOT EXISTS (SELECT 1 FROM {decision} d WHERE d.approval_id = r.id"  # noqa: S608
        " AND d.decided_by_id = %(me)s)"
    )
    # The filters of the list, so the counters count what the list shows. search_text is
    # lower-cased; the pattern's own % and _ are escaped (backslash, PostgreSQL's default
    # escape; SQLite needs it named).
    like = "LIKE %(q)s" + ("" if connection.vendor == "postgresql" else " ESCAPE '\\'")
    filters = "".join(
        [
            " AND r.policy_id = %(policy)s" if policy else "",
            " AND r.assigned_group_id = %(group)s" if group else "",
            f" AND r.search_text {like}" if search else "",
        ]
    )
    # Table names from the models and placeholders only: every value stays a bound parameter.
    pending = [
        f"(SELECT COUNT(*) FROM (SELECT 1 FROM {request} r WHERE r.status = %(pending)s"  # noqa: S608
        f" AND {where.format(groups=groups)}{filters} AND {not_voted}"
        " ORDER BY r.due_at LIMIT %(cap)s) AS part)"
        for _, where in _COUNT_PARTS
    ]
    decided = (
        f"(SELECT COUNT(*) FROM (SELECT 1 FROM {decision} d"  # noqa: S608
        + (f" JOIN {request} r ON r.id = d.approval_id" if filters else "")
        + f" WHERE d.decided_by_id = %(me)s{filters} LIMIT %(cap)s) AS part)"
    )
    return "SELECT " + ", ".join([*pending, decided])


def like_pattern(q: str) -> str:
    """`q` as a LIKE pattern for "contains", lower-cased like search_text, wildcards escaped."""
    escaped = q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def inbox_counts(
    *,
    reviewer: Any,
    group_ids: list[int],
    policy: Policy | None = None,
    group: ReviewerGroup | None = None,
    q: str = "",
) -> dict[str, int]:
    """The number on each view, counted up to COUNT_CAP, in one query, under the list's
    filters (policy, group, search).

    Counting every open row would read the whole backlog on every page view (a table scan
    once most rows match). Like a mail client's "99+", each part is counted through its
    index up to the cap; a view at the cap shows "100+" (`count_label`).
    """
    now = timezone.now()
    params: dict[str, Any] = {
        "me": reviewer.pk,
        "pending": Status.PENDING.value,
        "now": now,
        "soon": now + DUE_SOON,
        "cap": COUNT_CAP,
        "policy": policy.pk if policy is not None else None,
        "group": group.pk if group is not None else None,
        "q": like_pattern(q),
        **{f"g{index}": group_id for index, group_id in enumerate(group_ids)},
    }
    sql = _count_sql(
        len(group_ids), policy=policy is not None, group=group is not None, search=bool(q)
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        numbers = cursor.fetchone()
    counts = dict.fromkeys(VIEWS, 0)
    for (view, _), number in zip(_COUNT_PARTS, numbers, strict=False):
        counts[view] += number
    counts["decided"] = numbers[-1]
    counts["todo"] = counts["assigned"] + counts["queue"]
    return {view: min(number, COUNT_CAP) for view, number in counts.items()}


def count_label(number: int) -> str:
    return f"{COUNT_CAP}+" if number >= COUNT_CAP else str(number)


# How long a reviewer's filter menus stay in the shared cache: a change that sends no signal
# (a bulk update) shows within this time; every other change at once.
FILTER_CHOICES_SECONDS = 300


def filter_choices(*, group_ids: list[int]) -> tuple[list[Policy], list[ReviewerGroup]]:
    """The policies that route to my groups and the groups themselves, for the filters.

    Read from the shared cache when stored under the current version (one round trip for
    both keys); a change to a policy, a stage or a group replaces the version
    (approvals/services/policies.py `forget_filter_choices`), so the menus are read again.
    """
    key = "inbox:filter-choices:" + ",".join(map(str, sorted(group_ids)))
    try:
        found = cache.get_many([FILTER_CHOICES_VERSION, key])
        version, entry = found.get(FILTER_CHOICES_VERSION), found.get(key)
        if version is not None and entry is not None and entry[0] == version:
            return entry[1], entry[2]
        if version is None:
            cache.add(FILTER_CHOICES_VERSION, filter_choices_version(), None)
            version = cache.get(FILTER_CHOICES_VERSION)
    except Exception:  # a cache outage costs the page two queries, never the page
        log.warning("cache unavailable: reading the inbox filter menus", exc_info=True)
        version = None
    # Only what the menus and the filters read: no secret of a policy goes to the cache.
    policies = list(
        Policy.objects.filter(stages__group_id__in=group_ids)
        .only("id", "slug", "name", "payload_schema", "visible_fields")
        .distinct()
        .order_by("name")
    )
    groups = list(
        ReviewerGroup.objects.filter(pk__in=group_ids).only("id", "slug", "name").order_by("name")
    )
    if version is not None:
        with contextlib.suppress(Exception):  # as above
            cache.set(key, (version, policies, groups), FILTER_CHOICES_SECONDS)
    return policies, groups


# The item to show after a decision: the first row of the view in the list's own order (due
# time, missing last, then id). Its id is found like the counters' parts above, in plain SQL
# built without the ORM: one index range per part (my assignments; each group's unassigned
# queue), each limited to its first row, in one UNION ALL; the outer ORDER BY picks the first
# head. The row is loaded with its joins in the same query (`WHERE id = (that subquery)`);
# docs/performance.md "A decision through the inbox".
_NEXT_PARTS: dict[str, tuple[bool, bool, str]] = {
    # view: (my assignments, my groups' queues, due filter)
    "todo": (True, True, ""),
    "assigned": (True, False, ""),
    "queue": (False, True, ""),
    "due_soon": (True, True, " AND r.due_at >= %s AND r.due_at < %s"),
    "overdue": (True, True, " AND r.due_at < %s"),
}


# What the detail pane reads of the next item (approvals/inbox/views.py `_detail_context`,
# templates/approvals/detail.html): the whole request, and of its joined rows only these.
PANE_COLUMNS = (
    *(field.name for field in ApprovalRequest._meta.concrete_fields),
    "policy__name",
    "policy__summary",
    "policy__version",
    "policy__created_at",
    "policy__payload_schema",
    "policy__visible_fields",
    "policy__editable_fields",
    "assigned_group__name",
    "assignee__username",
)


# PANE_COLUMNS in plain SQL built once (approvals/rows.py): the next item after every decision.
_PANE_READ = JoinedRead(ApprovalRequest, PANE_COLUMNS)


def _next_id_sql(
    *, reviewer: Any, view: str, group_ids: list[int], exclude: Any
) -> tuple[str, list[Any]]:
    """The subquery for the id of the view's first row, and its parameters (positional)."""
    request, decision = ApprovalRequest._meta.db_table, Decision._meta.db_table
    mine, queues, due = _NEXT_PARTS[view]
    now = timezone.now()
    due_params = {"due_soon": [now, now + DUE_SOON], "overdue": [now]}.get(view, [])
    common = " AND r.status = %s"
    common_params: list[Any] = [Status.PENDING.value]
    if exclude is not None:
        common += " AND r.id <> %s"
        common_params.append(uuid_param(exclude))
    common += (
        f" AND NOT EXISTS (SELECT 1 FROM {decision} d WHERE d.approval_id = r.id"  # noqa: S608
        " AND d.decided_by_id = %s)" + due
    )
    common_params += [
        reviewer.pk,
        *(connection.ops.adapt_datetimefield_value(at) for at in due_params),
    ]
    parts: list[tuple[str, list[Any]]] = []
    if mine:
        parts.append(("r.assignee_id = %s", [reviewer.pk]))
    if queues:
        parts += [
            ("r.assigned_group_id = %s AND r.assignee_id IS NULL", [group_id])
            for group_id in group_ids
        ]
    # Table names from the models and placeholders only: every value stays a bound parameter.
    union = " UNION ALL ".join(
        f"SELECT * FROM (SELECT r.due_at, r.id FROM {request} r WHERE {where}{common}"  # noqa: S608
        f" ORDER BY r.due_at ASC NULLS LAST, r.id ASC LIMIT 1) AS part{index}"
        for index, (where, _) in enumerate(parts)
    )
    sql = (
        f"SELECT heads.id FROM ({union}) AS heads"  # noqa: S608
        " ORDER BY heads.due_at ASC NULLS LAST, heads.id ASC LIMIT 1"
    )
    return sql, [value for _, where_params in parts for value in (*where_params, *common_params)]


def next_for_reviewer(
    *, reviewer: Any, view: str, group_ids: list[int], exclude: Any = None
) -> ApprovalRequest | None:
    """The item to show after a decision: the top of the same view (To do after history),
    `exclude` left out, with its joins: one query, whatever the backlog."""
    view = view if view in PENDING_VIEWS else "todo"
    mine, queues, _ = _NEXT_PARTS[view]
    if not mine and not (queues and group_ids):
        return None
    sql, params = _next_id_sql(reviewer=reviewer, view=view, group_ids=group_ids, exclude=exclude)
    # `sql` holds table names and placeholders only (`_next_id_sql`).
    return _PANE_READ.one(f"r.id = ({sql})", params)


# --- the detail page --------------------------------------------------------------------------


def approval_options(approval: ApprovalRequest) -> list[DecisionOption]:
    """The policy's options in order, from the per-version specs cache (no query once warm)."""
    options = policy_specs(approval.policy).options.values()
    return sorted(options, key=lambda option: (option.position, option.pk))


# What the timeline and "Recent decisions" show of their rows (approvals/inbox/presenters.py,
# templates/approvals/detail.html): the rest (payloads, hashes) is never read for the pane.
# Both are read for every pane (and after every decision) by a statement built once
# (approvals/rows.py `JoinedRead`), like the list's rows (`_ListRead`).
TIMELINE_DECISION_COLUMNS = ("stage", "outcome", "option_label", "comment", "channel")
_TIMELINE = JoinedRead(
    AuditEntry,
    [
        "id",
        "at",
        "action",
        "actor",
        "data",
        "decision",
        *(f"decision__{name}" for name in (*TIMELINE_DECISION_COLUMNS, "decided_by_id")),
    ],
    alias="e",
)
_RECENT = JoinedRead(
    Decision,
    [
        "id",
        "approval",
        "outcome",
        "option_label",
        "comment",
        "channel",
        "decided_by_name",
        "decided_at",
        "approval__title",
        "approval__status",
    ],
    alias="d",
)


def approval_timeline(approval: ApprovalRequest) -> list[AuditEntry]:
    """Every audit entry of the request, oldest first, with its decision joined: only the
    columns the timeline shows (approvals/inbox/presenters.py `timeline`)."""
    return _TIMELINE.all("e.approval_id = %s", [uuid_param(approval.pk)], suffix=" ORDER BY e.id")


def changes_asked(approval: ApprovalRequest) -> Decision | None:
    """For a resubmission: the decision that asked for the changes (its reviewer and comment),
    shown above the diff. No query for a first submission."""
    if approval.previous_id is None:
        return None
    return (
        Decision.objects.filter(approval_id=approval.previous_id, outcome=Outcome.REQUEST_CHANGES)
        .order_by("-decided_at", "-id")
        .first()
    )


def recent_policy_decisions(
    approval: ApprovalRequest, *, group_ids: list[int], limit: int = RECENT_DECISIONS
) -> list[Decision]:
    """The last few outcomes of the same policy in my groups, for context: each with its
    request's title and status (`decision.approval`), in one fixed SQL statement."""
    if not group_ids:
        return []
    placeholders = ", ".join(["%s"] * len(group_ids))
    # j0 is the request (`_RECENT` joins it); placeholders only: every value is a parameter.
    where = (
        f"d.is_final = %s AND j0.policy_id = %s AND j0.assigned_group_id IN ({placeholders})"
        " AND NOT (d.approval_id = %s)"
    )
    params = [True, approval.policy_id, *group_ids, uuid_param(approval.pk), limit]
    return _RECENT.all(where, params, suffix=" ORDER BY d.decided_at DESC, d.id DESC LIMIT %s")
