"""The audit CSV rows (docs/api.md "The audit CSV"): the exact header, one row per decision, inert hostile
cells that read back exactly, the rule applied to the text cells only (the others can never be
live), filters, and keyset pages with a flat query count."""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from approvals.audit.csv_export import (
    HEADER,
    TEXT_CELLS,
    ExportFilter,
    ExportParamError,
    _cells,
    _iso,
    _seconds_between,
    csv_lines,
    inert,
    parse_export_params,
)
from approvals.audit.inert import is_live
from approvals.models import ApprovalRequest, Decision, Outcome, Policy, Route
from approvals.services import approval_decide
from tests.audit.conftest import HOSTILE, expected_cell, joined, read_csv
from tests.factories import make_policy

pytestmark = pytest.mark.django_db

CONTRACT_HEADER = [
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


def _export(**filters: Any) -> list[dict[str, str]]:
    rows = read_csv(joined(csv_lines(ExportFilter(**filters))))
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def test_the_header_is_exactly_the_contracts() -> None:
    text = joined(csv_lines(ExportFilter()))
    assert text == ",".join(CONTRACT_HEADER) + "\r\n"


def test_it_writes_one_row_per_decision_auto_ones_included(
    decided_history: list[ApprovalRequest],
) -> None:
    auto, approved, rejected = decided_history
    rows = _export()
    assert [(r["request_id"], r["outcome"], r["channel"]) for r in rows] == [
        (str(auto.pk), "approve", "auto"),
        (str(approved.pk), "approve", "web"),
        (str(rejected.pk), "reject", "web"),
    ]
    auto_row, human_row = rows[0], rows[1]
    assert auto_row["route"] == "auto" and auto_row["decided_by"] == "policy"
    assert auto_row["stage"] == "0" and auto_row["sla_due_at"] == auto_row["sla_met"] == ""
    assert human_row["assigned_group"] == "support-leads"
    assert human_row["decided_by"] == "alice" and human_row["comment"] == "ok"
    assert human_row["sla_met"] == "true" and human_row["escalated"] == "false"
    assert human_row["policy"] == "refund-approval" and human_row["policy_version"] == "1"
    assert float(human_row["seconds_to_decision"]) >= 0
    assert human_row["created_at"].endswith("Z") and human_row["decided_at"].endswith("Z")
    decisions = Decision.objects.order_by("decided_at", "id")
    assert [r["entry_hash"] for r in rows] == [d.entry_hash for d in decisions]
    assert all(len(r["entry_hash"]) == 64 for r in rows)


def test_hostile_titles_and_comments_read_back_inert_and_exact(
    submit: Callable[..., ApprovalRequest], reviewer: Any
) -> None:
    for text in HOSTILE:
        approval = submit(title=text, external_id=text[:200])
        # The service strips a comment's surrounding whitespace, so pad it to keep the lead.
        approval_decide(approval=approval, reviewer=reviewer, option="reject", comment=text + "!")
    rows = _export()
    assert [r["title"] for r in rows] == [expected_cell(t) for t in HOSTILE]
    assert [r["external_id"] for r in rows] == [expected_cell(t) for t in HOSTILE]
    comments = [r["comment"] for r in rows]
    assert comments == [expected_cell(t.strip() + "!") for t in HOSTILE]
    for row in rows:
        for cell in row.values():
            assert cell[:1] not in {"=", "+", "-", "@", "\t", "\r"}


def test_the_rule_applies_to_the_text_cells_only() -> None:
    # approvals/audit/csv_export.py TEXT_CELLS: the cells caller, reviewer or admin text reaches.
    assert {
        "external_id",
        "policy",
        "title",
        "option",
        "comment",
        "decided_by",
        "assigned_group",
    } == TEXT_CELLS
    moment = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    live = "=1+1"
    row = SimpleNamespace(
        approval_id=uuid.uuid4(),
        approval__external_id=live,
        approval__policy__slug=live,
        policy_version=1,
        approval__title=live,
        approval__created_at=moment,
        approval__route=live,  # not text, never live (the next test): written as it is
        stage=1,
        outcome=live,
        option=live,
        comment=live,
        decided_by_name=live,
        channel=live,
        decided_at=moment,
        approval__stage=1,
        approval__stage_plan=[],
        approval__assigned_group__slug=live,
        approval__escalation_count=0,
        approval__due_at=None,
        entry_hash=live,
    )
    cells = dict(zip(HEADER, _cells(row), strict=True))
    assert {name for name, cell in cells.items() if cell == "'" + live} == TEXT_CELLS
    assert {name for name, cell in cells.items() if cell == live} == {
        "route",
        "outcome",
        "channel",
        "entry_hash",
    }


def test_the_other_cells_can_never_be_live(
    decided_history: list[ApprovalRequest], raw_sql: Callable[..., None]
) -> None:
    # The reasons of TEXT_CELLS' comment, one by one. Our own choices:
    for choices in (Route, Outcome, Decision.Channel):
        assert not any(is_live(value) for value in choices.values), choices
    # Non-negative integers: the database refuses "-1".
    for column in ("stage", "policy_version"):
        with pytest.raises(IntegrityError, match=f"(?i)check.*{column}"), transaction.atomic():
            raw_sql(f"UPDATE approvals_decision SET {column} = -1")
    # Timestamps from the first year to the last, durations never negative.
    for moment in (datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC)):
        assert _iso(moment)[:4].isdigit()
    assert _seconds_between(datetime.max, datetime.min) == "0.000"
    assert _seconds_between(datetime.min, datetime.max)[0].isdigit()
    # And in real rows (UUIDs, hex digests, true/false): no cell outside TEXT_CELLS is live.
    rows = _export()
    assert rows and all(len(row["entry_hash"]) == 64 for row in rows)
    for row in rows:
        assert not [name for name, cell in row.items() if name not in TEXT_CELLS and is_live(cell)]


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("-2+3", "'-2+3"),
        ("+1", "'+1"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("\x00=1", "'=1"),  # NUL removed first, then the formula is neutralised
        ("a\x00b", "ab"),
        ("2-3", "2-3"),
        ("", ""),
        ("naïve", "naïve"),
    ],
)
def test_inert_neutralises_formulas_and_keeps_the_rest(value: str, cell: str) -> None:
    assert inert(value) == cell


def test_it_filters_by_policy_and_decision_time(
    decided_history: list[ApprovalRequest], reviewer: Any, support: Any
) -> None:
    other = make_policy(slug="deal-discount", group=support, threshold=None)
    from approvals.services import approval_submit

    other_request = approval_submit(policy=other, title="Deal", payload={"amount": 1})
    approval_decide(approval=other_request, reviewer=reviewer, option="approve")

    assert [r["policy"] for r in _export(policy=other)] == ["deal-discount"]
    assert len(_export()) == 4
    now = timezone.now()
    assert _export(since=now + timedelta(seconds=1)) == []
    assert len(_export(until=now + timedelta(seconds=1))) == 4
    assert _export(until=now - timedelta(days=1)) == []


def test_keyset_pages_return_every_row_once_even_when_times_tie(
    submit: Callable[..., ApprovalRequest],
) -> None:
    approval = submit(payload={"amount": 10})
    same_time = timezone.now()
    Decision.objects.bulk_create(
        Decision(
            approval=approval,
            stage=0,
            outcome="approve",
            decided_by_name="policy",
            channel="auto",
            decided_at=same_time,
            policy_version=1,
            comment=f"tie {n}",
        )
        for n in range(7)
    )
    rows = read_csv(joined(csv_lines(ExportFilter(), page_size=2)))[1:]
    comments = [row[10] for row in rows]
    assert len(comments) == 8
    assert sorted(c for c in comments if c.startswith("tie")) == [f"tie {n}" for n in range(7)]


@pytest.mark.parametrize("count", [1, 50])
def test_one_query_per_page_whatever_the_row_count(
    submit: Callable[..., ApprovalRequest], count: int
) -> None:
    for _ in range(count):
        submit(payload={"amount": 10})
    page_size = 10
    with CaptureQueriesContext(connection) as queries:
        lines = list(csv_lines(ExportFilter(), page_size=page_size))
    assert len(lines) == count + 1
    full_last_page = count % page_size == 0
    assert len(queries) == math.ceil(count / page_size) + full_last_page
    with CaptureQueriesContext(connection) as queries:
        list(csv_lines(ExportFilter(), page_size=2000))
    assert len(queries) == 1  # the whole export in one page: joins, no N+1


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"since": "yesterday"}, "since='yesterday' is not a date"),
        ({"until": "2026-13-01"}, "until='2026-13-01' is not a date"),
        ({"since": "2026-02-30"}, "is not a date"),
        ({"since": "2026-11-02", "until": "2026-11-01"}, "since must be before until"),
        ({"policy": "no-such-policy"}, "Unknown policy 'no-such-policy'"),
        ({"policy": "a\x00b"}, "policy is not a valid value"),
        ({"since": "9" * 200}, "since is not a valid value"),
        ({"until": "9999-12-31"}, "out of range"),
    ],
)
def test_bad_parameters_are_one_line_errors(
    params: dict[str, str], message: str, policy: Policy
) -> None:
    with pytest.raises(ExportParamError, match=message.replace("(", r"\(")) as caught:
        parse_export_params(**params)
    assert "\n" not in str(caught.value)


def test_dates_cover_whole_days_and_datetimes_are_exact(policy: Policy) -> None:
    export = parse_export_params(since="2026-11-01", until="2026-11-30", policy="refund-approval")
    assert export.since is not None and export.until is not None
    assert export.since.isoformat() == "2026-11-01T00:00:00+00:00"
    assert export.until.isoformat() == "2026-12-01T00:00:00+00:00"  # the 30th is included
    assert export.policy == policy
    exact = parse_export_params(since="2026-11-01T10:30:00Z", until="2026-11-01T14:00:00+02:00")
    assert exact.since is not None and exact.since.isoformat() == "2026-11-01T10:30:00+00:00"
    assert exact.until is not None and exact.until.isoformat() == "2026-11-01T14:00:00+02:00"
