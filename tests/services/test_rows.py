"""Plain-SQL reads and inserts built once (approvals/rows.py): they give what the ORM gives, on
SQLite and PostgreSQL alike, and what they read costs no further query."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from approvals.ids import uuid_param
from approvals.models import ApprovalRequest, AuditEntry, OutboxEvent
from approvals.rows import JoinedRead, RowInsert

pytestmark = pytest.mark.django_db

READ = JoinedRead(
    ApprovalRequest,
    ["id", "title", "payload", "due_at", "policy__name", "assignee__username"],
)


def test_a_joined_read_equals_the_orm_and_costs_one_query(
    pending: ApprovalRequest, reviewer: Any
) -> None:
    ApprovalRequest.objects.filter(pk=pending.pk).update(assignee=reviewer)
    orm = (
        ApprovalRequest.objects.select_related("policy", "assignee")
        .only("id", "title", "payload", "due_at", "policy__name", "assignee__username")
        .get(pk=pending.pk)
    )
    with CaptureQueriesContext(connection) as captured:
        row = READ.one("r.id = %s", [uuid_param(pending.pk)])
        # Converted as the ORM converts (SQLite: text to UUID, time, JSON).
        assert (row.pk, row.title, row.payload, row.due_at) == (
            orm.pk,
            orm.title,
            orm.payload,
            orm.due_at,
        )
        assert row.policy_id == orm.policy_id and row.policy.name == orm.policy.name
        assert row.assignee.username == reviewer.username
    assert len(captured) == 1
    assert row.get_deferred_fields() == orm.get_deferred_fields()


def test_an_empty_foreign_key_is_cached_as_none(pending: ApprovalRequest) -> None:
    ApprovalRequest.objects.filter(pk=pending.pk).update(assignee=None)
    row = READ.one("r.id = %s", [uuid_param(pending.pk)])
    with CaptureQueriesContext(connection) as captured:
        assert row.assignee is None
    assert len(captured) == 0


def test_no_row_is_none(db: Any) -> None:
    assert READ.one("r.id = %s", [uuid_param("01234567-89ab-7cde-8f01-23456789abcd")]) is None


def test_row_insert_gives_ids_in_order_and_the_orm_reads_back_the_same(
    pending: ApprovalRequest,
) -> None:
    entries = [
        AuditEntry(approval=pending, action=f"a{n}", actor="t", data={"n": n, "ü": [1, None]})
        for n in range(3)
    ]
    RowInsert(AuditEntry).insert(entries)
    stored = {entry.pk: entry for entry in AuditEntry.objects.filter(actor="t")}
    assert sorted(stored) == sorted(entry.pk for entry in entries)
    for entry in entries:
        assert not entry._state.adding
        assert (stored[entry.pk].action, stored[entry.pk].data) == (entry.action, entry.data)
        assert stored[entry.pk].at is not None  # the field's default ran (pre_save)


def test_row_insert_keeps_an_id_made_in_python(pending: ApprovalRequest) -> None:
    event = OutboxEvent(approval=pending, event_type="request.created", body={"x": 1})
    RowInsert(OutboxEvent).insert([event])
    assert OutboxEvent.objects.get(pk=event.pk).body == {"x": 1}
