"""The PostgreSQL path of the audit CSV (COPY … TO STDOUT, cells formatted in SQL) writes the
same bytes as the Python path, hostile cells, odd timestamps and filters included."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from approvals.audit.csv_export import (
    FORMULA_TRIGGERS,
    ExportFilter,
    _crlf,
    copy_chunks,
    csv_chunks,
    csv_lines,
)
from approvals.models import ApprovalRequest, Decision
from approvals.services import approval_decide
from tests.audit.conftest import HOSTILE
from tests.conftest import requires_postgres

# Beyond the conftest's cells: the other triggers (each trigger leads one cell), every OWASP
# case of approvals/audit/inert.py (leading whitespace, full-width forms, a separator followed
# by a formula), line breaks and quotes inside cells, an empty comment.
EXTRA = [
    *(f"{trigger}lead" for trigger in FORMULA_TRIGGERS),
    *(f" {trigger}lead" for trigger in FORMULA_TRIGGERS),
    "\u00a0=1",
    "\u3000\uff1d1",
    "\x0b+1",
    " leading space only",
    "Refund;=1+1",
    "Refund,=1+1",
    "Refund\t=1+1",
    "Refund; @A1",
    "Refund;\uff0b1",
    "line one\n=1+1",
    "line one\r-1",
    "2-3",
    "semi; colon",
    '"quoted, with a comma"',
    "two\n\nblank lines",
    "ends with a line break\n",
    "",
]


def python_bytes(export: ExportFilter) -> bytes:
    return "".join(csv_lines(export)).encode("utf-8")


def copy_bytes(export: ExportFilter) -> bytes:
    return b"".join(copy_chunks(export))


@pytest.fixture
def hostile_history(
    submit: Callable[..., ApprovalRequest],
    reviewer: Any,
    other_reviewer: Any,
    raw_sql: Callable[..., None],
) -> list[ApprovalRequest]:
    made = [submit(payload={"amount": 10})]  # an auto decision: stage 0, channel auto
    for n, text in enumerate(HOSTILE + EXTRA):
        approval = submit(title=text or "untitled", external_id=text[:200])
        who = reviewer if n % 2 else other_reviewer
        # The service strips a comment's surrounding whitespace; the SQL below puts it back.
        approval_decide(approval=approval, reviewer=who, option="reject", comment="c")
        made.append(approval)
        raw_sql(
            "UPDATE approvals_decision SET comment = %s WHERE approval_id = %s", [text, approval.pk]
        )
    # Whole seconds (isoformat drops ".000000"), a half-millisecond tie, no due time,
    # an escalation, a decision of an earlier stage whose group comes from the stage plan.
    first, second, third, fourth = made[1:5]
    raw_sql(
        "UPDATE approvals_decision SET decided_at = date_trunc('second', decided_at)"
        " WHERE approval_id = %s",
        [first.pk],
    )
    raw_sql(
        "UPDATE approvals_approvalrequest SET created_at = date_trunc('second', created_at),"
        " due_at = NULL, escalation_count = 2 WHERE id = %s",
        [second.pk],
    )
    raw_sql(
        "UPDATE approvals_decision d SET decided_at = r.created_at + interval '1.0005 seconds'"
        " FROM approvals_approvalrequest r WHERE r.id = d.approval_id AND d.approval_id = %s",
        [third.pk],
    )
    raw_sql(
        "UPDATE approvals_approvalrequest SET stage = 2, stage_plan = stage_plan || "
        """'[{"position": 2, "group": "finance"}]'::jsonb WHERE id = %s""",
        [fourth.pk],
    )
    return made


@requires_postgres
@pytest.mark.django_db
def test_copy_writes_the_same_bytes_as_the_python_path(hostile_history: list[Any]) -> None:
    export = ExportFilter()
    python = python_bytes(export)
    assert python.count(b"\r\n") > len(hostile_history)  # rows, plus the CRLF inside cells
    assert copy_bytes(export) == python
    assert (
        b"'=HYPERLINK" in python and b"'\xef\xbc\x9dlead" in python
    )  # full-width equals sign inert
    assert b"'Refund;=1+1" in python and b"' =lead" in python and b"'\xe3\x80\x80" in python
    assert b"'Refund,=1+1" in python  # quoted by csv.writer: "'Refund,=1+1"
    assert b",2-3," in python and b", leading space only," in python  # plain text stays
    assert b",1.001," in python  # 1.0005 s rounds half up, on both paths


@requires_postgres
@pytest.mark.django_db
def test_copy_matches_with_every_filter(hostile_history: list[Any], support: Any) -> None:
    policy = hostile_history[0].policy
    middle = Decision.objects.order_by("decided_at")[5].decided_at
    for export in (
        ExportFilter(policy=policy),
        ExportFilter(since=middle),
        ExportFilter(until=middle),
        ExportFilter(since=timezone.now() + timedelta(days=1)),  # header only
    ):
        assert copy_bytes(export) == python_bytes(export), export


@requires_postgres
@pytest.mark.django_db
def test_the_stream_counts_its_rows(hostile_history: list[Any]) -> None:
    stream = csv_chunks(ExportFilter())
    body = b"".join(stream)
    assert stream.rows == Decision.objects.count() == len(hostile_history)
    assert body.startswith(b"request_id,external_id,policy,")


def test_crlf_changes_only_the_row_ends_whatever_the_chunking() -> None:
    rows = b'a,"x\ny",b\nc,"d""e\n",f\n' + b"plain,row\n"
    expected = b'a,"x\ny",b\r\nc,"d""e\n",f\r\n' + b"plain,row\r\n"
    for size in (1, 2, 3, 5, 7, len(rows)):
        quoted, out = False, b""
        for start in range(0, len(rows), size):
            data, quoted = _crlf(rows[start : start + size], quoted)
            out += data
        assert out == expected, size
    assert not quoted
