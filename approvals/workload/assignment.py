"""Who gets a request: the group's strategy, members' caps, away flags and the overflow group.

Used at intake (`approval_submit` / stage advance), at escalation and by `distribute_work`.
`choose_assignment` stamps the chosen member's `last_assigned_at` in the same statement that
picks them (no group lock); the services write the request's assignment.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db import DatabaseError, connection, transaction
from django.db.models import Count, F, Q, QuerySet
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone

from approvals.foureyes import Requester, requester_sql, requester_users
from approvals.models import ApprovalRequest, Membership, ReviewerGroup, ReviewerProfile

log = logging.getLogger(__name__)

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
    requester: Requester | None = None,
) -> list[Membership]:
    """Members who may get new work now, each annotated with `open_count` (None when neither
    the strategy nor a cap needs it), in a fair order.

    Skips members flagged away in the group, out of office by their own dates, inactive, at or
    over their cap, the request's requester (four-eyes), and (unless `allow_fatigued`) flagged
    for fatigue.
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
    if requester:
        members = members.exclude(user_id__in=requester_users(requester))
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
    """The member `claim_member` would take, from an `available_memberships` list (pure)."""

    def never_first(m: Membership) -> tuple[bool, datetime]:
        # Members never assigned come first; then the one assigned longest ago.
        return (m.last_assigned_at is not None, m.last_assigned_at or _LONG_AGO)

    if group.strategy == ReviewerGroup.Strategy.ROUND_ROBIN:
        return min(members, key=lambda m: (*never_first(m), m.pk))
    return min(members, key=lambda m: (m.open_count, *never_first(m), m.pk))  # type: ignore[attr-defined]


# Who may get new work, over the membership `c`: the filters of `available_memberships`. The
# user and profile tests are (NOT) EXISTS rather than joins: at 100,000 open requests under full
# intake load, the joins' plan scanned the users once per member and the statement cost 1.3 ms,
# a third of the database's time per intake; as semi-joins it costs 0.36 ms
# (docs/performance.md "The pick").
_ELIGIBLE = """c.group_id = %(group)s AND NOT c.away
      AND EXISTS (SELECT 1 FROM auth_user u WHERE u.id = c.user_id AND u.is_active {requester})
      AND NOT EXISTS (
          SELECT 1 FROM approvals_reviewerprofile p WHERE p.user_id = c.user_id AND (
              {fatigue} (p.away_from IS NOT NULL AND p.away_from <= %(at)s
                         AND (p.away_until IS NULL OR p.away_until > %(at)s))))
      {only} {exclude} {cap}"""
# One statement picks the member and stamps them (docs/architecture.md "Assignment without a
# group lock"). The filters are those of `available_memberships`; the order that of `_pick`.
# On PostgreSQL the candidate row is locked with SKIP LOCKED, so concurrent intakes to one group
# take different members instead of queueing on one lock; SQLite has one writer at a time.
# A member whose pick committed between this statement's snapshot and its lock would pass
# PostgreSQL's re-check of the WHERE clause (the ORDER BY is not re-checked) and be picked twice
# in a row; the unlocked self-join `s` keeps the snapshot's stamp, so such a row fails
# `{unchanged}` on re-check and the next member in order is taken instead.
_CLAIM_SQL = """
UPDATE approvals_membership SET last_assigned_at = {stamp}
WHERE id = (
    SELECT c.id FROM approvals_membership c
    {snapshot}
    WHERE {eligible} {unchanged}
    ORDER BY {load} (c.last_assigned_at IS NOT NULL), c.last_assigned_at, c.id
    LIMIT 1 {lock}
)
RETURNING user_id, (SELECT username FROM auth_user WHERE auth_user.id = user_id)
""".replace("{eligible}", _ELIGIBLE)
# Round robin on PostgreSQL takes turns from a sequence of the group's own (nextval takes no
# lock and never hands one number out twice): turn n goes to the eligible member at position
# (n - 1) mod k, by membership id. Concurrent intakes get consecutive turns and so different
# members, in rotation, without waiting on each other; a member locked by an intake in flight
# is not skipped (skipping is what made a stamp-ordered rotation drift). The stamp is written
# only when the row is free: a concurrent pick of the same member stamps it anyway.
_TURN_SQL = """
WITH turn AS MATERIALIZED (SELECT nextval(%(sequence)s::regclass) AS n),
eligible AS (
    SELECT c.id, c.user_id, row_number() OVER (ORDER BY c.id) - 1 AS i, count(*) OVER () AS k
    FROM approvals_membership c
    WHERE {eligible}
),
chosen AS (
    SELECT e.id, e.user_id FROM eligible e CROSS JOIN turn t WHERE e.i = (t.n - 1) %% e.k
),
stamped AS (
    UPDATE approvals_membership m SET last_assigned_at = clock_timestamp()
    WHERE m.id = (SELECT l.id FROM approvals_membership l WHERE l.id = (SELECT id FROM chosen)
                  FOR UPDATE OF l SKIP LOCKED)
    RETURNING m.id
)
SELECT chosen.user_id, (SELECT u.username FROM auth_user u WHERE u.id = chosen.user_id)
FROM chosen
""".replace("{eligible}", _ELIGIBLE)
# "Below the cap": no pending request at position cap (bounded: reads at most `cap` rows).
_CAP_PG = """AND (COALESCE(c.wip_cap, %(default_cap)s) = 0 OR NOT EXISTS (
    SELECT 1 FROM approvals_approvalrequest r
    WHERE r.assignee_id = c.user_id AND r.status = 'pending'
    LIMIT 1 OFFSET COALESCE(c.wip_cap, %(default_cap)s) - 1))"""
# SQLite cannot use an outer column in OFFSET: number each capped member's pending rows instead.
_CAP_SQLITE = """AND (COALESCE(c.wip_cap, %(default_cap)s) = 0 OR c.user_id NOT IN (
    SELECT held.assignee_id FROM (
        SELECT r.assignee_id,
               ROW_NUMBER() OVER (PARTITION BY r.assignee_id ORDER BY r.id) AS n
        FROM approvals_approvalrequest r
        WHERE r.status = 'pending' AND r.assignee_id IN (
            SELECT g.user_id FROM approvals_membership g WHERE g.group_id = %(group)s)
    ) held WHERE held.n >= COALESCE(c.wip_cap, %(default_cap)s)))"""
_LOAD = """(SELECT COUNT(*) FROM approvals_approvalrequest r
            WHERE r.assignee_id = c.user_id AND r.status = 'pending'),"""


# Tries of `claim_member` while every eligible member is locked by intakes in flight: each try
# after the first waits for one of them to commit, so the loop is bounded by the group's size
# times the in-flight intakes rather than by time.
CLAIM_ATTEMPTS = 20


def claim_member(
    group: ReviewerGroup,
    *,
    at: datetime,
    exclude_user_ids: set[int] | None = None,
    allow_fatigued: bool = False,
    only_user_id: int | None = None,
    requester: Requester | None = None,
) -> Any:
    """Pick the member of `group` who gets a new request and stamp their `last_assigned_at`, in
    one statement; returns the user (only id and username loaded) or None if nobody has room.

    `only_user_id` asks for that one member (a resubmission going back to the reviewer who
    asked for changes): still away, out-of-office and inactive aware, but not capped, since
    it is their own follow-up rather than new work.

    Skips members flagged away in the group, out of office by their own dates, inactive, at or
    over their cap (the member's, else the group's), excluded (earlier voters), the requester
    by identity (docs/security.md "Four-eyes", in the same statement) and, unless `allow_fatigued`, flagged for fatigue. Round robin takes the member assigned
    longest ago (never assigned first); least loaded the one with the fewest pending requests.
    """
    postgres = connection.vendor == "postgresql"
    excluded = sorted(exclude_user_ids or ())
    params: dict[str, Any] = {
        "at": connection.ops.adapt_datetimefield_value(at),
        "group": group.pk,
        "default_cap": group.default_wip_cap,
    }
    params.update({f"x{i}": user_id for i, user_id in enumerate(excluded)})
    if only_user_id is not None:
        params["only"] = only_user_id
    eligible = {
        "fatigue": "" if allow_fatigued else "p.fatigue_flagged_at IS NOT NULL OR",
        "only": "AND c.user_id = %(only)s" if only_user_id is not None else "",
        "exclude": (
            "AND c.user_id NOT IN ({})".format(", ".join(f"%(x{i})s" for i in range(len(excluded))))
            if excluded
            else ""
        ),
        "requester": requester_sql(requester or Requester(), user="u", params=params),
        "cap": "" if only_user_id is not None else (_CAP_PG if postgres else _CAP_SQLITE),
    }
    if postgres and only_user_id is None and group.strategy == ReviewerGroup.Strategy.ROUND_ROBIN:
        params["sequence"] = turn_sequence_name(group.pk)
        with connection.cursor() as cursor:
            cursor.execute(_TURN_SQL.format(**eligible), params)
            row = cursor.fetchone()
        return _user(row[0], row[1]) if row is not None else None
    sql = _CLAIM_SQL.format(
        **eligible,
        load=_LOAD if group.strategy == ReviewerGroup.Strategy.LEAST_LOADED else "",
        lock="FOR UPDATE OF c SKIP LOCKED" if postgres else "",
        snapshot="JOIN approvals_membership s ON s.id = c.id" if postgres else "",
        unchanged=(
            "AND c.last_assigned_at IS NOT DISTINCT FROM s.last_assigned_at" if postgres else ""
        ),
        # The database's clock at the pick, so stamps follow the order of picks even when an
        # intake that started earlier commits later (round robin orders by the stamp).
        stamp="clock_timestamp()" if postgres else "%(at)s",
    )
    for _attempt in range(CLAIM_ATTEMPTS):
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        if row is not None:
            return _user(row[0], row[1])
        if only_user_id is not None:
            return None
        if not postgres or not _wait_for_a_busy_member(
            group, at=at, exclude=excluded, requester=requester
        ):
            return None
    return None


# The turn sequences live in a schema of their own, where the application role may create
# them (docs/security.md "Two database roles"): a group made at run time gets its sequence then.
TURN_SCHEMA = "approvals_turns"


def turn_sequence_name(group_id: int) -> str:
    """The group's round-robin turn sequence (PostgreSQL): made with the group."""
    return f"{TURN_SCHEMA}.group_{int(group_id)}"


@receiver(post_save, sender=ReviewerGroup)
def _create_turn_sequence(instance: ReviewerGroup, created: bool, **kwargs: Any) -> None:
    if created and connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE SEQUENCE IF NOT EXISTS {turn_sequence_name(instance.pk)}")


@receiver(post_delete, sender=ReviewerGroup)
def _drop_turn_sequence(instance: ReviewerGroup, **kwargs: Any) -> None:
    if connection.vendor != "postgresql":
        return
    try:  # best effort: a sequence the migrating role made is not the application role's to drop
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"DROP SEQUENCE IF EXISTS {turn_sequence_name(instance.pk)}")
    except DatabaseError:
        log.info("kept the turn sequence of deleted group %s", instance.pk)


def _wait_for_a_busy_member(
    group: ReviewerGroup, *, at: datetime, exclude: list[int], requester: Requester | None = None
) -> bool:
    """Nobody unlocked had room: if some eligible member is locked by an intake in flight, wait
    for that intake to finish so the next try sees its result. The wait's lock is taken in a
    savepoint and released at once (PostgreSQL releases row locks on a savepoint rollback):
    held until commit, it would hide that member from every other intake meanwhile and round
    robin would drift. Returns False when no member could take work (then overflow follows)."""
    savepoint = transaction.savepoint()
    members = (
        Membership.objects.select_for_update(of=("self",))
        .filter(group=group, away=False, user__is_active=True)
        .exclude(user_id__in=out_of_office_user_ids(at))
        .exclude(user_id__in=exclude)
        .exclude(user_id__in=requester_users(requester) if requester else [])
        .order_by(F("last_assigned_at").asc(nulls_first=True), "pk")
        .values_list("pk", flat=True)[:1]
    )
    found = bool(list(members))
    transaction.savepoint_rollback(savepoint)
    return found


def _user(user_id: int, username: str) -> Any:
    # A user row with only the two columns the services need; any other field loads on access.
    user_model = get_user_model()
    return user_model.from_db(
        connection.alias, ["id", user_model.USERNAME_FIELD], [user_id, username]
    )


def overflow_chain(group: ReviewerGroup) -> tuple[list[ReviewerGroup], ReviewerGroup | None]:
    """The groups that hand out work, in overflow order from `group`, and a pull group that ends
    the chain (if any). Loads one group per hop."""
    chain: list[ReviewerGroup] = []
    pull_tail: ReviewerGroup | None = None
    current: ReviewerGroup | None = group
    while current is not None and current not in chain and len(chain) < MAX_OVERFLOW_HOPS:
        if current.strategy == ReviewerGroup.Strategy.PULL:
            pull_tail = current
            break
        chain.append(current)
        current = current.overflow_group if current.overflow_group_id else None
    return chain, pull_tail


def choose_assignment(
    group: ReviewerGroup,
    *,
    exclude_user_ids: set[int] | None = None,
    at: datetime | None = None,
    prefer_user_id: int | None = None,
    requester: Requester | None = None,
) -> Assignment:
    """Pick the group (following overflow) and the member who takes a new request, and stamp
    that member as assigned at `at`.

    Steps: a preferred member (the reviewer who asked for the changes a resubmission answers)
    gets it when they are still in the group and available, whatever the strategy. Pull groups leave it unassigned for anyone to claim. Otherwise ask the group for a
    member with room who is not flagged for fatigue (one statement, `claim_member`); only when
    it returns nobody, walk the overflow chain, then walk it again allowing fatigue-flagged
    members. With nobody at all it waits unassigned in the last group's queue.
    """
    at = at or timezone.now()
    if prefer_user_id is not None and prefer_user_id not in (exclude_user_ids or ()):
        user = claim_member(
            group, at=at, only_user_id=prefer_user_id, allow_fatigued=True, requester=requester
        )
        if user is not None:
            return Assignment(group=group, assignee=user)
    if group.strategy == ReviewerGroup.Strategy.PULL:
        return Assignment(group=group, assignee=None)
    # The common case first: the group itself has someone (no overflow groups loaded).
    user = claim_member(group, at=at, exclude_user_ids=exclude_user_ids, requester=requester)
    if user is not None:
        return Assignment(group=group, assignee=user)
    chain, pull_tail = overflow_chain(group)
    for allow_fatigued in (False, True):
        for candidate in chain:
            if candidate == group and not allow_fatigued:
                continue  # asked above
            user = claim_member(
                candidate,
                at=at,
                exclude_user_ids=exclude_user_ids,
                allow_fatigued=allow_fatigued,
                requester=requester,
            )
            if user is not None:
                return Assignment(group=candidate, assignee=user)
    # Nobody has room: it waits in the queue of the last group of the chain (a pull group at
    # the end of the chain takes it, as its members claim work themselves).
    return Assignment(group=pull_tail or chain[-1], assignee=None)
