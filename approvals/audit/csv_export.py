"""The audit CSV of docs/api.md "The audit CSV": one row per Decision (auto ones included), header row first.

Shared by `/exports/audit.csv` (approvals/audit/views.py) and `manage.py export_audit`, both
through `csv_chunks`. Two paths write the same bytes (tests/audit/test_csv_copy.py compares them):

- PostgreSQL: one `COPY (SELECT …) TO STDOUT WITH CSV` (`_copy_sql`); the cells are formatted
  and neutralised in SQL, Python only turns PostgreSQL's LF row ends into CRLF. One snapshot,
  no Python per cell, memory flat (psycopg hands over one row at a time).
- Elsewhere (SQLite): keyset pages over Decision ordered by (decided_at, id) — the
  `decision_time` index — with the request, policy and group joined in one query per page, each
  cell built in Python (`decision_rows`) and written by `csv.writer` (`csv_lines`).

Either way only the columns the CSV needs are read (a request's payload can be 256 KiB; it is
never loaded). Every cell that can hold caller, reviewer or admin text (`TEXT_CELLS`) is
neutralised by the one rule of approvals/audit/inert.py: `inert` in Python, `inert_sql` (the
same regular expression, tried only in the rows `row_may_be_live_sql` lets through) in the COPY
query. The other cells are built here from values that cannot start a formula, and both paths
write them as they are.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db import connection
from django.db.models import Q, QuerySet
from django.utils.dateparse import parse_date, parse_datetime

from approvals.audit.inert import FORMULA_PATTERN, ROW_PATTERN, inert_sql, row_may_be_live_sql
from approvals.audit.inert import FORMULA_TRIGGERS as FORMULA_TRIGGERS  # re-exported
from approvals.audit.inert import inert as inert  # re-exported
from approvals.formats import iso_z
from approvals.models import ApprovalRequest, Decision, Policy, ReviewerGroup

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

# The cells that can hold caller, reviewer or admin text: `inert` applies to these alone, on
# both paths (tests/audit/test_csv.py checks the list and each reason below). A slug, an option
# key or a username may start with "-" or "@"; a stage plan's group is whatever was frozen in it.
# Every other cell is written here from a value that cannot start a formula or hold a separator:
# - request_id: a UUID's canonical text, hex digits and "-", starting with a hex digit;
# - policy_version, stage: PositiveIntegerFields (a CHECK >= 0 in the database), so digits only;
# - created_at, decided_at, sla_due_at: `_iso`, starting with the year's four digits, or empty;
# - seconds_to_decision: `_seconds_between`, never negative, digits and one ".";
# - escalated, sla_met: "true", "false" or empty;
# - route, outcome, channel: our own choices (Route, Outcome, Decision.Channel), set by the
#   services from those enums, never from request text;
# - entry_hash: the SHA-256 hex digest the sealer writes (empty before it has).
TEXT_CELLS = frozenset(
    {"external_id", "policy", "title", "option", "comment", "decided_by", "assigned_group"}
)
_TEXT_INDEXES = frozenset(index for index, name in enumerate(HEADER) if name in TEXT_CELLS)

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


def _seconds_between(start: datetime, end: datetime) -> str:
    """Whole microseconds, rounded half up to the millisecond, never negative: "12.346".

    Integer arithmetic, so the COPY path (`_copy_sql`) writes exactly the same text.
    """
    delta = end - start
    micro = max((delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds, 0)
    millis = (micro + 500) // 1000
    return f"{millis // 1000}.{millis % 1000:03d}"


def _cells(row: Any) -> list[str]:
    due = row.approval__due_at
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
        _seconds_between(row.approval__created_at, row.decided_at),
        _group_of(row),
        "true" if row.approval__escalation_count else "false",
        _iso(due),
        "" if due is None else ("true" if row.decided_at <= due else "false"),
        row.entry_hash,
    ]
    return [inert(cell) if index in _TEXT_INDEXES else cell for index, cell in enumerate(cells)]


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


class CsvStream:
    """The export as UTF-8 byte chunks: PostgreSQL's COPY where it runs, else the Python path.

    `rows` counts the decision rows handed out so far (the header is not one).
    """

    def __init__(self, export: ExportFilter) -> None:
        self.export = export
        self.rows = 0

    def __iter__(self) -> Iterator[bytes]:
        if connection.vendor == "postgresql":
            yield from copy_chunks(self.export, self)
            return
        lines = csv_lines(self.export)
        yield next(lines).encode("utf-8")
        for line in lines:
            self.rows += 1
            yield line.encode("utf-8")


def csv_chunks(export: ExportFilter) -> CsvStream:
    return CsvStream(export)


# --- the PostgreSQL path ---------------------------------------------------------------------


def _iso_sql(column: str) -> str:
    """`_iso` in SQL: UTC, ISO 8601, microseconds only when there are any, "Z"."""
    utc = f"({column} AT TIME ZONE 'UTC')"
    return (
        f"to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS') || CASE WHEN date_trunc('second', "
        f"{column}) = {column} THEN '' ELSE to_char({utc}, '.US') END || 'Z'"
    )


def _empty_as_null(expression: str) -> str:
    """COPY writes an empty string as `""` and NULL as nothing; csv.writer writes "" as nothing."""
    return f"NULLIF({expression}, '')"


def _copy_sql(export: ExportFilter) -> tuple[str, dict[str, Any]]:
    """The COPY statement and its parameters: HEADER's columns, `_cells` in SQL."""
    decision, request = Decision._meta.db_table, ApprovalRequest._meta.db_table
    policy, group = Policy._meta.db_table, ReviewerGroup._meta.db_table
    micro = "greatest((extract(epoch FROM d.decided_at - r.created_at) * 1000000)::bigint, 0)"
    millis = f"(({micro} + 500) / 1000)"
    cells = [
        "d.approval_id::text",
        "r.external_id",
        "p.slug",
        "d.policy_version::text",
        "r.title",
        _iso_sql("r.created_at"),
        "r.route",
        "d.stage::text",
        "d.outcome",
        "d.option",
        "d.comment",
        "d.decided_by_name",
        "d.channel",
        _iso_sql("d.decided_at"),
        f"({millis} / 1000)::text || '.' || lpad(({millis} %% 1000)::text, 3, '0')",
        # `_group_of`: an earlier stage's group comes from the frozen stage plan.
        "CASE WHEN d.stage <> 0 AND d.stage IS DISTINCT FROM r.stage"
        " AND jsonb_typeof(r.stage_plan) = 'array'"
        " AND d.stage BETWEEN 1 AND jsonb_array_length(r.stage_plan)"
        " THEN coalesce(r.stage_plan -> (d.stage - 1) ->> 'group', '')"
        " ELSE coalesce(g.slug, '') END",
        "CASE WHEN r.escalation_count <> 0 THEN 'true' ELSE 'false' END",
        f"CASE WHEN r.due_at IS NULL THEN '' ELSE {_iso_sql('r.due_at')} END",
        "CASE WHEN r.due_at IS NULL THEN '' WHEN d.decided_at <= r.due_at THEN 'true'"
        " ELSE 'false' END",
        "d.entry_hash",
    ]
    # Once per row, on the text cells: whether the rule can find anything (approvals/audit/inert.py).
    may_be_live = row_may_be_live_sql([cells[index] for index in sorted(_TEXT_INDEXES)])
    where = ["TRUE"]
    params: dict[str, Any] = {"formula": FORMULA_PATTERN, "row_formula": ROW_PATTERN}
    if export.since is not None:
        where.append("d.decided_at >= %(since)s")
        params["since"] = export.since
    if export.until is not None:
        where.append("d.decided_at < %(until)s")
        params["until"] = export.until
    if export.policy is not None:
        where.append("r.policy_id = %(policy)s")
        params["policy"] = export.policy.pk
    inner = ", ".join(f"{cell} AS c{index}" for index, cell in enumerate(cells))
    # `inert` on the text cells (text cannot hold NUL in PostgreSQL), tried where the row may be
    # live; the inner query's ORDER BY keeps PostgreSQL from merging it into this one, so every
    # cell and `may_be_live` is computed once per row.
    outer = ", ".join(
        _empty_as_null(
            inert_sql(f"c{index}", row_may_be_live="may_be_live")
            if index in _TEXT_INDEXES
            else f"c{index}"
        )
        for index in range(len(cells))
    )
    # Table names from the models and SQL written here; every value is a bound parameter.
    sql = (
        f"COPY (SELECT {outer} FROM (SELECT {inner}, {may_be_live} AS may_be_live"  # noqa: S608
        f" FROM {decision} d"
        f" JOIN {request} r ON r.id = d.approval_id JOIN {policy} p ON p.id = r.policy_id"
        f" LEFT JOIN {group} g ON g.id = r.assigned_group_id"
        f" WHERE {' AND '.join(where)} ORDER BY d.decided_at, d.id) AS cells)"
        " TO STDOUT WITH (FORMAT csv)"
    )
    return sql, params


def _crlf(data: bytes, quoted: bool) -> tuple[bytes, bool]:
    """COPY ends rows with LF, csv.writer with CRLF: change the LFs outside quoted cells.

    `quoted` is whether the data before ended inside a quoted cell (a doubled quote inside a
    cell flips the state twice, so counting quotes is enough).
    """
    # One row without a line break inside (the usual case; COPY sends one row per message).
    if not quoted and data.endswith(b"\n") and data.count(b"\n") == 1 and not data.count(b'"') % 2:
        return data[:-1] + b"\r\n", False
    out = []
    pieces = data.split(b"\n")
    for piece in pieces[:-1]:
        quoted ^= piece.count(b'"') % 2 == 1
        out.append(piece + (b"\n" if quoted else b"\r\n"))
    quoted ^= pieces[-1].count(b'"') % 2 == 1
    out.append(pieces[-1])
    return b"".join(out), quoted


COPY_BUFFER = 64 * 1024


def copy_chunks(export: ExportFilter, stream: CsvStream | None = None) -> Iterator[bytes]:
    """The PostgreSQL path: the header, then COPY's rows in chunks of about COPY_BUFFER bytes.

    COPY sends one message per row, so `stream.rows` counts the messages.
    """
    yield (",".join(HEADER) + "\r\n").encode("utf-8")
    sql, params = _copy_sql(export)
    buffer: list[bytes] = []
    size, quoted = 0, False
    with connection.cursor() as cursor, cursor.cursor.copy(sql, params) as copy:
        for block in copy:
            data, quoted = _crlf(bytes(block), quoted)
            buffer.append(data)
            size += len(data)
            if size >= COPY_BUFFER:
                if stream is not None:
                    stream.rows += len(buffer)
                yield b"".join(buffer)
                buffer, size = [], 0
    if buffer:
        if stream is not None:
            stream.rows += len(buffer)
        yield b"".join(buffer)
