"""On PostgreSQL the app's own connection cannot rewrite the trail: triggers refuse UPDATE and
DELETE of audit rows, and of decisions beyond the one-time entry_hash / is_final fill."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction

from approvals.audit.verify import audit_verify
from approvals.models import ApprovalRequest, AuditEntry, Decision
from approvals.services import approval_decide
from tests.conftest import requires_postgres

pytestmark = [pytest.mark.django_db, requires_postgres]


@pytest.fixture
def decided(pending: ApprovalRequest, reviewer: Any) -> Decision:
    # The services' own writes (entry_hash fill, is_final flip) must pass the trigger.
    return approval_decide(approval=pending, reviewer=reviewer, option="approve", comment="ok")


def _refused(sql: str, params: list[Any]) -> str:
    with (
        pytest.raises(IntegrityError) as caught,
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql, params)
    return str(caught.value)


def test_it_refuses_to_update_an_audit_row(decided: Decision) -> None:
    entry = AuditEntry.objects.get(decision=decided)
    message = _refused(
        "UPDATE approvals_auditentry SET actor = %s WHERE id = %s", ["mallory", entry.pk]
    )
    assert "append-only: UPDATE refused" in message
    with pytest.raises(IntegrityError), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).update(actor="mallory")


def test_it_refuses_to_delete_an_audit_row(decided: Decision) -> None:
    entry = AuditEntry.objects.order_by("-seq").first()
    assert entry is not None
    assert "append-only: DELETE refused" in _refused(
        "DELETE FROM approvals_auditentry WHERE id = %s", [entry.pk]
    )


def test_it_refuses_to_change_a_decisions_comment(decided: Decision) -> None:
    message = _refused(
        "UPDATE approvals_decision SET comment = %s WHERE id = %s", ["fine", decided.pk]
    )
    assert f"UPDATE of decision {decided.pk} refused" in message
    decided.refresh_from_db()
    assert decided.comment == "ok"
    assert audit_verify().ok


def test_it_refuses_to_rewrite_an_entry_hash_or_unfinalise(decided: Decision) -> None:
    _refused("UPDATE approvals_decision SET entry_hash = %s WHERE id = %s", ["f" * 64, decided.pk])
    _refused("UPDATE approvals_decision SET is_final = false WHERE id = %s", [decided.pk])


def test_it_refuses_to_delete_a_decision(decided: Decision) -> None:
    _refused("DELETE FROM approvals_decision WHERE id = %s", [decided.pk])
