"""The list's rows are read and written without the ORM and the template filters
(approvals/inbox/selectors.py `ListRow`, presenters.py `spelled_out`); they must say exactly
what the ORM's instances and the filters `date` and `url` say."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.template.defaultfilters import date as date_filter
from django.urls import reverse
from django.utils import timezone, translation

from approvals.inbox.presenters import decision_labels, list_rows, spelled_out, when
from approvals.inbox.selectors import (
    LIST_COLUMNS,
    ListRow,
    _rows,
    _rows_by_id,
    recent_policy_decisions,
)
from approvals.models import ApprovalRequest, Decision
from approvals.services import approval_decide

TIMES = [
    datetime(2026, 1, 5, 9, 7, tzinfo=UTC),  # winter: CET in Paris, EST in New York
    datetime(2026, 7, 31, 23, 59, tzinfo=UTC),  # summer, and the next day in Paris
    datetime(2026, 12, 1, 0, 0, tzinfo=UTC),
]


@pytest.mark.parametrize("zone", ["UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata"])
@pytest.mark.parametrize("language", ["en", "de", "fr"])
def test_spelled_out_is_what_the_date_filter_writes(zone: str, language: str) -> None:
    with timezone.override(ZoneInfo(zone)), translation.override(language):
        for at in TIMES:
            local = timezone.localtime(at)
            assert spelled_out(local) == date_filter(local, "D j M Y, H:i T")
            assert when(at)["title"] == date_filter(local, "D j M Y, H:i T")


def test_the_day_names_follow_the_active_language() -> None:
    at = timezone.localtime(TIMES[0])
    with translation.override("en"):
        english = spelled_out(at)
    with translation.override("de"):
        german = spelled_out(at)
        assert german == date_filter(at, "D j M Y, H:i T")
    assert english.startswith("Mon 5 Jan 2026")
    assert german.startswith("Mo 5 Jan 2026")  # the filter's own German abbreviations


def _orm_rows(ids: list[Any]) -> dict[Any, Any]:
    return {row.pk: row for row in _rows(ApprovalRequest.objects.filter(pk__in=ids), LIST_COLUMNS)}


def test_list_rows_read_by_plain_sql_match_the_orm(
    submit: Callable[..., ApprovalRequest], reviewer: Any, other_reviewer: Any
) -> None:
    queued = submit(external_id="Q-1")
    assigned = submit(external_id="")
    ApprovalRequest.objects.filter(pk=assigned.pk).update(
        assignee=other_reviewer, escalated=True, due_at=timezone.now() + timedelta(hours=2)
    )
    ApprovalRequest.objects.filter(pk=queued.pk).update(assignee=None, due_at=None)
    ids = [queued.pk, assigned.pk]

    plain = {row.pk: row for row in _rows_by_id(ids, LIST_COLUMNS)}
    orm = _orm_rows(ids)

    assert set(plain) == set(ids)
    for pk in ids:
        assert isinstance(plain[pk], ListRow)
        for name in (*LIST_COLUMNS, "policy_name", "group_name", "assignee_name"):
            assert getattr(plain[pk], name) == getattr(orm[pk], name), name
            assert type(getattr(plain[pk], name)) is type(getattr(orm[pk], name)), name
    assert plain[assigned.pk].escalated is True
    assert plain[assigned.pk].assignee_name == "bob"
    assert plain[queued.pk].due_at is None and plain[queued.pk].assignee_name is None
    # And the page says the same of both.
    shown = list_rows(list(plain.values()), view="todo", query="view=todo")
    assert shown == list_rows(
        [orm[row.pk] for row in plain.values()], view="todo", query="view=todo"
    )
    row = next(r for r in shown if r["pk"] == str(assigned.pk))
    assert row["href"] == reverse("inbox_detail", args=[assigned.pk]) + "?view=todo"
    assert row["due_title"] == "Due " + date_filter(
        timezone.localtime(plain[assigned.pk].due_at), "D j M Y, H:i T"
    )
    assert row["meta"].endswith("Support leads · bob") and "flag" not in row["meta"]


def test_no_ids_reads_nothing(db: Any, django_assert_num_queries: Any) -> None:
    with django_assert_num_queries(0):
        assert _rows_by_id([], LIST_COLUMNS) == []


def test_a_recent_decision_links_to_its_request(
    submit: Callable[..., ApprovalRequest], reviewer: Any, other_reviewer: Any
) -> None:
    decided, shown = submit(), submit()
    approval_decide(
        approval=decided, reviewer=reviewer, option="approve", channel=Decision.Channel.WEB
    )
    group_ids = [shown.assigned_group_id] if shown.assigned_group_id else []
    decisions = decision_labels(recent_policy_decisions(shown, group_ids=group_ids))
    assert group_ids
    # The request's key is a UUID on SQLite too (its text converted, as the ORM does).
    assert [d.approval_id for d in decisions] == [decided.pk]
    assert decisions[0].url == reverse("inbox_detail", args=[decided.pk])  # type: ignore[attr-defined]
