"""The managers' dashboard in the admin (docs/architecture.md).

Time to decision (median, 90th percentile) per policy, group and reviewer; SLA hit rate;
auto-decided rate; volume and load per reviewer; backlog by age; the overdue list; fatigue
flags. Every figure is an aggregate computed by the database — a fixed number of queries
whatever the table sizes — and drawn as server-side SVG (approvals/admin/charts.py).

`register(admin.site)` (called from approvals/admin/policies.py) adds the dashboard and the what-if
page to the admin's URLs and lists them first under "Approvals" on the admin index.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.admin import AdminSite
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import (
    Count,
    F,
    FloatField,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    Window,
)
from django.db.models.functions import Coalesce, CumeDist
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from approvals.admin import charts
from approvals.models import ApprovalRequest, Decision, Membership, Route
from approvals.services.manager import is_manager

Status = ApprovalRequest.Status
HUMAN_CHANNELS = [
    Decision.Channel.WEB,
    Decision.Channel.EMAIL,
    Decision.Channel.SLACK,
]
WINDOWS = (7, 30, 90)
DEFAULT_WINDOW = 30
DASHBOARD_PERMISSION = "approvals.view_approvalrequest"
OVERDUE_SHOWN = 15
TOP_ROWS = 12


class SecondsBetween(Func):
    """end - start in seconds, as a float, on PostgreSQL and SQLite alike."""

    output_field = FloatField()

    def __init__(self, end: Any, start: Any) -> None:
        super().__init__(end, start)

    def as_sql(  # type: ignore[override]
        self, compiler: Any, connection: Any, **extra: Any
    ) -> tuple[str, tuple[Any, ...]]:
        end, end_params = compiler.compile(self.source_expressions[0])
        start, start_params = compiler.compile(self.source_expressions[1])
        if connection.vendor == "postgresql":
            sql = f"EXTRACT(EPOCH FROM ({end} - {start}))::float"
        else:
            # SQLite stores datetimes as ISO text; julianday() reads them (to the millisecond).
            sql = f"((julianday({end}) - julianday({start})) * 86400.0)"
        return sql, (*end_params, *start_params)


# --- selectors ---------------------------------------------------------------------------------


def _human_decisions(since: datetime) -> QuerySet[Decision]:
    return Decision.objects.filter(decided_at__gte=since, channel__in=HUMAN_CHANNELS)


def time_to_decision(*, since: datetime, key: str) -> list[charts.RangeBar]:
    """Median and 90th percentile of (decided_at - created_at) of human decisions per `key`.

    One query: the decisions ranked with cume_dist() per key, wrapped in a GROUP BY that picks
    the first value at or past 0.5 and 0.9 (percentile_disc, which both databases can do).
    """
    ranked = (
        _human_decisions(since)
        .annotate(
            k=Coalesce(F(key), Value("-")) if key != "-" else Value("All decisions"),
            secs=SecondsBetween(F("decided_at"), F("approval__created_at")),
        )
        .annotate(
            cd=Window(
                CumeDist(),
                partition_by=[F("k")],
                order_by=F("secs").asc(),
            )
        )
        .order_by()
        .values_list("k", "secs", "cd")
    )
    # The inner SQL is Django's own compilation (values bound as params); only constants are
    # spliced around it.
    inner, params = ranked.query.sql_with_params()
    picks = (
        "COUNT(*) AS n, MIN(CASE WHEN cd >= 0.5 THEN secs END) AS median, "
        "MIN(CASE WHEN cd >= 0.9 THEN secs END) AS p90"
    )
    sql = f"SELECT k, {picks} FROM ({inner}) ranked GROUP BY k ORDER BY n DESC, k LIMIT {TOP_ROWS}"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [
            charts.RangeBar(label=str(k), count=n, median=median, p90=p90)
            for k, n, median, p90 in cursor.fetchall()
        ]


HISTOGRAM = [
    ("< 5m", 0, 300),
    ("5\u201315m", 300, 900),
    ("15\u201360m", 900, 3600),
    ("1\u20134h", 3600, 4 * 3600),
    ("4\u201324h", 4 * 3600, 86400),
    ("> 1d", 86400, None),
]


def decision_histogram(*, since: datetime) -> list[tuple[str, int]]:
    counts = (
        _human_decisions(since)
        .annotate(secs=SecondsBetween(F("decided_at"), F("approval__created_at")))
        .aggregate(
            **{
                f"b{i}": Count(
                    "id",
                    filter=Q(secs__gte=low) & (Q(secs__lt=high) if high is not None else Q()),
                )
                for i, (_, low, high) in enumerate(HISTOGRAM)
            }
        )
    )
    return [(name, counts[f"b{i}"]) for i, (name, _, _) in enumerate(HISTOGRAM)]


def sla_requests(*, since: datetime) -> QuerySet[ApprovalRequest]:
    """The requests the SLA is measured on: finished in the window, with a due time, and
    in people's hands (no rule decided them, nobody withdrew them). Expired ones count as late."""
    return (
        ApprovalRequest.objects.filter(decided_at__gte=since, due_at__isnull=False)
        .exclude(route=Route.AUTO)
        .exclude(status=Status.CANCELLED)
    )


def sla_by_policy(*, since: datetime) -> list[Any]:
    """Of the `sla_requests`, per policy: how many finished by their due time."""
    return list(
        sla_requests(since=since)
        .values("policy__name")
        .annotate(
            total=Count("id"),
            met=Count("id", filter=Q(decided_at__lte=F("due_at")) & ~Q(status=Status.EXPIRED)),
        )
        .order_by("-total", "policy__name")
    )


def sla_totals(*, since: datetime) -> dict[str, int]:
    """The headline's figures over every policy (the chart shows the busiest TOP_ROWS)."""
    return sla_requests(since=since).aggregate(
        total=Count("id"),
        met=Count("id", filter=Q(decided_at__lte=F("due_at")) & ~Q(status=Status.EXPIRED)),
    )


def human_decision_totals(*, since: datetime) -> dict[str, int]:
    """Decisions people made in the window, and on how many requests."""
    return _human_decisions(since).aggregate(
        decisions=Count("id"), requests=Count("approval_id", distinct=True)
    )


def routes_by_policy(*, since: datetime) -> list[Any]:
    """Requests created in the window: auto-approved, auto-rejected, sent to a human."""
    return list(
        ApprovalRequest.objects.filter(created_at__gte=since)
        .values("policy__name")
        .annotate(
            total=Count("id"),
            auto_approved=Count("id", filter=Q(route=Route.AUTO, status=Status.APPROVED)),
            auto_rejected=Count("id", filter=Q(route=Route.AUTO, status=Status.REJECTED)),
        )
        .order_by("-total", "policy__name")[:TOP_ROWS]
    )


def route_totals(*, since: datetime) -> dict[str, int]:
    """Requests created in the window, and how many a rule decided (every policy)."""
    return ApprovalRequest.objects.filter(created_at__gte=since).aggregate(
        total=Count("id"),
        auto=Count("id", filter=Q(route=Route.AUTO, status__in=[Status.APPROVED, Status.REJECTED])),
    )


BACKLOG = [
    ("< 1h", 0, 1),
    ("1\u20134h", 1, 4),
    ("4\u201324h", 4, 24),
    ("1\u20133d", 24, 72),
    ("3\u20137d", 72, 168),
    ("> 7d", 168, None),
]


def backlog(*, now: datetime) -> tuple[list[tuple[str, int]], int, int]:
    """Pending requests by age, the total, and how many are past their due time."""
    buckets: dict[str, Any] = {}
    for i, (_, low, high) in enumerate(BACKLOG):
        # The youngest bucket has no lower age, so every open request is in exactly one bucket.
        window = Q(created_at__lte=now - timedelta(hours=low)) if low else Q()
        if high is not None:
            window &= Q(created_at__gt=now - timedelta(hours=high))
        buckets[f"b{i}"] = Count("id", filter=window)
    counts = ApprovalRequest.objects.filter(status=Status.PENDING).aggregate(
        total=Count("id"), overdue=Count("id", filter=Q(due_at__lte=now)), **buckets
    )
    return (
        [(name, counts[f"b{i}"]) for i, (name, _, _) in enumerate(BACKLOG)],
        counts["total"],
        counts["overdue"],
    )


def overdue_requests(*, now: datetime) -> list[ApprovalRequest]:
    return list(
        ApprovalRequest.objects.filter(status=Status.PENDING, due_at__lte=now)
        .select_related("policy", "assigned_group", "assignee")
        .only(
            "id",
            "title",
            "due_at",
            "created_at",
            "escalation_count",
            "policy__name",
            "assigned_group__name",
            "assignee__username",
        )
        .order_by("due_at")[:OVERDUE_SHOWN]
    )


def reviewer_load(*, since: datetime, now: datetime) -> list[Any]:
    """Every active group member, with no work or plenty, plus anyone else who holds open work
    or decided in the window: human decisions in the window, open and overdue work, fatigue
    flag. So the open work here adds up to every assigned open request, and the decisions to
    the "Human decisions" headline.
    """

    def count(queryset: QuerySet[Any], field: str) -> Coalesce:
        return Coalesce(
            Subquery(
                queryset.order_by().values(field).annotate(c=Count("*")).values("c")[:1],
                output_field=IntegerField(),
            ),
            0,
        )

    pending = ApprovalRequest.objects.filter(assignee=OuterRef("pk"), status=Status.PENDING)
    human = _human_decisions(since)
    involved = (
        Q(is_active=True, pk__in=Membership.objects.values("user_id"))
        | Q(
            pk__in=ApprovalRequest.objects.filter(
                status=Status.PENDING, assignee__isnull=False
            ).values("assignee_id")
        )
        | Q(pk__in=human.filter(decided_by__isnull=False).values("decided_by_id"))
    )
    return list(
        get_user_model()
        .objects.filter(involved)
        .annotate(
            decided=count(human.filter(decided_by=OuterRef("pk")), "decided_by"),
            open_now=count(pending, "assignee"),
            overdue_now=count(pending.filter(due_at__lte=now), "assignee"),
            flagged_at=F("reviewer_profile__fatigue_flagged_at"),
            flag_reason=F("reviewer_profile__fatigue_reason"),
        )
        .only("id", "username")
        .order_by("-open_now", "-decided", "username")
    )


# --- the page ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Headline:
    label: str
    value: str
    note: str = ""
    warn: bool = False


def _window(request: HttpRequest) -> int | None:
    raw = request.GET.get("days", str(DEFAULT_WINDOW))
    return int(raw) if raw.isdigit() and int(raw) in WINDOWS else None


def dashboard_context(*, days: int, now: datetime) -> dict[str, Any]:
    since = now - timedelta(days=days)
    overall = time_to_decision(since=since, key="-")
    sla_rows = sla_by_policy(since=since)[:TOP_ROWS]
    sla = sla_totals(since=since)
    route_rows = routes_by_policy(since=since)
    ages, open_total, overdue_total = backlog(now=now)
    reviewers = reviewer_load(since=since, now=now)
    human = human_decision_totals(since=since)

    sla_total, sla_met = sla["total"], sla["met"]
    routes = route_totals(since=since)
    created, auto = routes["total"], routes["auto"]
    unassigned = open_total - sum(r.open_now for r in reviewers)
    headlines = [
        Headline(
            "Median time to decision",
            charts.duration(overall[0].median) if overall else "\u2013",
            f"90th percentile {charts.duration(overall[0].p90)}" if overall else "",
        ),
        Headline(
            "SLA hit rate",
            charts.percent(sla_met / sla_total if sla_total else None),
            f"{sla_met} of {sla_total} requests people finished were on time",
            warn=bool(sla_total) and sla_met / sla_total < 0.9,
        ),
        Headline(
            "Auto-decided",
            charts.percent(auto / created if created else None),
            f"{auto} of {created} requests",
        ),
        Headline(
            "Human decisions",
            str(human["decisions"]),
            f"on {human['requests']} request{'s' if human['requests'] != 1 else ''}, "
            f"last {days} days",
        ),
        Headline("Open now", str(open_total), f"{overdue_total} overdue", warn=overdue_total > 0),
    ]
    flagged = [r for r in reviewers if r.flagged_at]
    return {
        "days": days,
        "windows": WINDOWS,
        "headlines": headlines,
        "ttd_policy": charts.range_bars(
            "Time to decision by policy",
            time_to_decision(since=since, key="approval__policy__name"),
        ),
        "ttd_group": charts.range_bars(
            "Time to decision by group",
            time_to_decision(since=since, key="approval__assigned_group__name"),
        ),
        "ttd_reviewer": charts.range_bars(
            "Time to decision by reviewer", time_to_decision(since=since, key="decided_by_name")
        ),
        "ttd_legend": charts.legend([("median", charts.INK), ("90th percentile", charts.LIGHT)]),
        "histogram": charts.columns(
            "How long human decisions took", decision_histogram(since=since)
        ),
        "sla_chart": charts.stacked_bars(
            "SLA hit rate by policy",
            [
                (
                    r["policy__name"],
                    [
                        charts.Segment(r["met"], charts.GOOD, "on time"),
                        charts.Segment(r["total"] - r["met"], charts.WARN, "late"),
                    ],
                    f"{charts.percent(r['met'] / r['total'])} of {r['total']}",
                )
                for r in sla_rows
            ],
        ),
        "sla_legend": charts.legend([("on time", charts.GOOD), ("late", charts.WARN)]),
        "route_chart": charts.stacked_bars(
            "Auto-decided rate by policy",
            [
                (
                    r["policy__name"],
                    [
                        charts.Segment(r["auto_approved"], charts.GOOD, "auto-approved"),
                        charts.Segment(r["auto_rejected"], charts.WARN, "auto-rejected"),
                        charts.Segment(
                            r["total"] - r["auto_approved"] - r["auto_rejected"],
                            charts.LIGHT,
                            "to a human",
                        ),
                    ],
                    f"{charts.percent((r['auto_approved'] + r['auto_rejected']) / r['total'])}"
                    f" of {r['total']} auto",
                )
                for r in route_rows
            ],
        ),
        "route_legend": charts.legend(
            [
                ("auto-approved", charts.GOOD),
                ("auto-rejected", charts.WARN),
                ("to a human", charts.LIGHT),
            ]
        ),
        "backlog_chart": charts.columns(
            "Open requests by age",
            ages,
            colour=lambda i: charts.INK if i < 3 else charts.WARN,
        ),
        "load_chart": charts.stacked_bars(
            "Open work per reviewer",
            [
                (
                    r.username,
                    [
                        charts.Segment(r.open_now - r.overdue_now, charts.INK, "open"),
                        charts.Segment(r.overdue_now, charts.WARN, "overdue"),
                    ],
                    f"{r.open_now} open" + (f", {r.overdue_now} late" if r.overdue_now else ""),
                )
                for r in reviewers
            ],
            absolute=True,
        ),
        "load_legend": charts.legend([("open", charts.INK), ("overdue", charts.WARN)]),
        "volume_chart": charts.stacked_bars(
            "Decisions per reviewer",
            [
                (r.username, [charts.Segment(r.decided, charts.INK, "decisions")], str(r.decided))
                for r in sorted(reviewers, key=lambda r: (-r.decided, r.username))
            ],
            absolute=True,
        ),
        "reviewers": reviewers,
        "unassigned": unassigned,
        "flagged": flagged,
        "overdue": overdue_requests(now=now),
        "overdue_total": overdue_total,
        "now": now,
    }


def dashboard_view(request: HttpRequest, site: AdminSite) -> HttpResponse:
    if not request.user.has_perm(DASHBOARD_PERMISSION):
        raise PermissionDenied
    days = _window(request)
    if days is None:
        return HttpResponseBadRequest(
            f"days must be one of {', '.join(map(str, WINDOWS))}.",
            content_type="text/plain; charset=utf-8",
        )
    context = {
        **site.each_context(request),
        **dashboard_context(days=days, now=timezone.now()),
        "title": "Managers' dashboard",
        "can_export": request.user.has_perm("approvals.export_audit"),
    }
    return render(request, "admin/approvals/dashboard.html", context)


# --- admin wiring ------------------------------------------------------------------------------


def index_entries(request: HttpRequest) -> list[dict[str, Any]]:
    entries = []
    if request.user.has_perm(DASHBOARD_PERMISSION):
        entries.append(("Managers' dashboard", "Dashboard", "admin:approvals_dashboard"))
        if request.user.has_perm("approvals.view_policy"):
            entries.append(("What-if on a threshold", "WhatIf", "admin:approvals_whatif"))
    if is_manager(request.user):
        entries.append(("Invite a reviewer", "Invite", "admin:approvals_invite"))
    return [
        {
            "name": name,
            "object_name": object_name,
            "perms": {"add": False, "change": False, "delete": False, "view": True},
            "admin_url": reverse(url_name),
            "add_url": None,
            "view_only": True,
        }
        for name, object_name, url_name in entries
    ]
