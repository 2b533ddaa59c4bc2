"""The audit CSV of docs/api.md "The audit CSV": one row per Decision (auto ones included), header row first.

Shared by `/exports/audit.csv` (approvals/audit/views.py) and `manage.py export_audit`. Rows come
from keyset pages over Decision ordered by (decided_at, id) — the `decision_time` index — with
the request, policy and group joined in one query per page, and only the columns the CSV needs
(a request's payload can be 256 KiB; it is never loaded). Memory stays flat in the row count.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.dateparse import parse_date, parse_datetime

from approvals.formats import iso_z
from approvals.models import Decision, Policy

HEADER: list[str] = [
    "request_id",
    "external_id",
    "policy",
    "policy_version",
    "title",
    "created_at",
    "route",
    "stage",
    "outcome",
    "option",
    "comment",
    "decided_by",
    "channel",
    "decided_at",
    "seconds_to_decision",
    "assigned_group",
    "escalated",
    "sla_due_at",
    "sla_met",
    "entry_hash",
]
PAGE_SIZE = 2000

# A spreadsheet treats a cell starting with one of these as a formula (or, for tab and CR, may
# strip them and then see one): CSV injection. A leading single quote makes it plain text.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

_FIELDS = (
    "id",
    "decided_at",
    "stage",
    "outcome",
    "option",
    "comment",
    "decided_by_name",
    "channel",
    "policy_version",
    "entry_hash",
    "approval_id",
    "approval__external_id",
    "approval__policy__slug",
    "approval__title",
    "approval__created_at",
    "approval__route",
    "approval__stage",
    "approval__stage_plan",
    "approval__assigned_group__slug",
    "approval__escalation_count",
    "approval__due_at",
)


class ExportParamError(ValueError):
    """A bad `since` / `until` / `policy`: the message is one line, safe to show."""


@dataclass(frozen=True)
class ExportFilter:
    since: datetime | None = None  # decided_at >= since
    until: datetime | None = None  # decided_at < until
    policy: Policy | None = None


def _parse_moment(name: str, raw: str, *, end_of_day: bool) -> datetime:
    """A date (the whole day, UTC) or an ISO 8601 datetime (naive means UTC)."""
    try:
        # A bare date first: parse_datetime would read it as that day's midnight.
        day = parse_date(raw)
        moment = None if day else parse_datetime(raw)
    except ValueError:
        moment = day = None
    if moment is None and day is None:
        raise ExportParamError(
            f"{name}={raw[:40]!r} is not a date: use YYYY-MM-DD or an ISO 8601 date-time."
        )
    if moment is not None:
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    assert isinstance(day, date)
    try:
        # `until` is a date the export should include, so it ends at the next midnight.
        return datetime.combine(day + timedelta(days=1) if end_of_day else day, time(), UTC)
    except OverflowError:
        raise ExportParamError(f"{name}={raw!r} is out of range.") from None


def parse_export_params(
    *, since: str | None = None, until: str | None = None, policy: str | None = None
) -> ExportFilter:
    """Validate the caller's strings; raises ExportParamError with a one-line message."""
    for name, raw in (("since", since), ("until", until), ("policy", policy)):
        if raw and ("\x00" in raw or len(raw) > 100):
            raise ExportParamError(f"{name} is not a valid value.")
    since_at = _parse_moment("since", since.strip(), end_of_day=False) if since else None
    until_at = _parse_moment("until", until.strip(), end_of_day=True) if until else None
    if since_at and until_at and since_at >= until_at:
        raise ExportParamError("since must be before until.")
    found = None
    if policy:
        found = Policy.objects.filter(slug=policy.strip()).first()
        if found is None:
            raise ExportParamError(f"Unknown policy {policy[:64]!r}.")
    return ExportFilter(since=since_at, until=until_at, policy=found)


def inert(value: str) -> str:
    """The cell as text a spreadsheet will not evaluate; otherwise exactly the value.

    NUL cannot be stored in PostgreSQL text and breaks many CSV readers, so it is removed.
    """
    value = value.replace("\x00", "")
    return "'" + value if value.startswith(FORMULA_TRIGGERS) else value


def _iso(moment: datetime | None) -> str:
    return "" if moment is None else iso_z(moment)


def _group_of(row: Any) -> str:
    # The request's group is where its current stage sits (escalations included); a decision of
    # an earlier stage was made by that stage's group, frozen in the stage plan at routing.
    if row.stage and row.stage != row.approval__stage:
        plan = row.approval__stage_plan or []
        if 1 <= row.stage <= len(plan):
            return str(plan[row.stage - 1].get("group", ""))
    return row.approval__assigned_group__slug or ""


def _cells(row: Any) -> list[str]:
    due = row.approval__due_at
    seconds = (row.decided_at - row.approval__created_at).total_seconds()
    cells = [
        str(row.approval_id),
        row.approval__external_id,
        row.approval__policy__slug,
        str(row.policy_version),
        row.approval__title,
        _iso(row.approval__created_at),
        row.approval__route,
        str(row.stage),
        row.outcome,
        row.option,
        row.comment,
        row.decided_by_name,
        row.channel,
        _iso(row.decided_at),
        f"{max(seconds, 0.0):.3f}",
        _group_of(row),
        "true" if row.approval__escalation_count else "false",
        _iso(due),
        "" if due is None else ("true" if row.decided_at <= due else "false"),
        row.entry_hash,
    ]
    return [inert(cell) for cell in cells]


def export_queryset(export: ExportFilter) -> QuerySet[Decision]:
    """The decisions the export covers (unordered; the progress bar counts it)."""
    queryset = Decision.objects.all()
    if export.since is not None:
        queryset = queryset.filter(decided_at__gte=export.since)
    if export.until is not None:
        queryset = queryset.filter(decided_at__lt=export.until)
    if export.policy is not None:
        queryset = queryset.filter(approval__policy=export.policy)
    return queryset


def decision_rows(export: ExportFilter, *, page_size: int = PAGE_SIZE) -> Iterator[list[str]]:
    """The header, then one list of cells per decision, oldest first; one query per page."""
    yield list(HEADER)
    rows = export_queryset(export).order_by("decided_at", "id").values_list(*_FIELDS, named=True)
    page = list(rows[:page_size])
    while page:
        for row in page:
            yield _cells(row)
        if len(page) < page_size:
            return
        last_at, last_id = page[-1].decided_at, page[-1].id
        # Keyset, not OFFSET: the next page starts after the last (decided_at, id) seen, so
        # each page costs the same however deep into the table it is.
        page = list(
            rows.filter(decided_at__gte=last_at).filter(
                Q(decided_at__gt=last_at) | Q(id__gt=last_id)
            )[:page_size]
        )


class _Line:
    """A write-only 'file' for csv.writer that hands back what it was given."""

    def write(self, value: str) -> str:
        return value


def csv_lines(export: ExportFilter, *, page_size: int = PAGE_SIZE) -> Iterator[str]:
    """The export as RFC 4180 text lines (CRLF, minimal quoting), one per row."""
    writer = csv.writer(_Line(), lineterminator="\r\n")
    for cells in decision_rows(export, page_size=page_size):
        yield writer.writerow(cells)
