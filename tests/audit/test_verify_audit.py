"""`manage.py verify_audit`: exit 0 and a summary when intact; exit 1 naming the first broken
entry when a decision row, an audit row or the chain's length was tampered with."""

from __future__ import annotations

from collections.abc import Callable
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from approvals.models import ApprovalRequest, AuditEntry, Decision
from approvals.services import approval_decide

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(submit: Callable[..., ApprovalRequest], reviewer: Any, other_reviewer: Any) -> Any:
    """Three requests: auto-approved, approved by alice, rejected by bob."""
    submit(payload={"amount": 10})
    approved = submit()
    approval_decide(approval=approved, reviewer=reviewer, option="approve", comment="ok")
    rejected = submit()
    approval_decide(approval=rejected, reviewer=other_reviewer, option="reject", comment="no")
    return rejected


def _verify() -> tuple[int, str]:
    out = StringIO()
    try:
        call_command("verify_audit", stdout=out)
    except CommandError as exc:
        return exc.returncode, str(exc)
    return 0, out.getvalue()


def test_it_reports_an_intact_chain_with_a_summary(history: Any) -> None:
    code, output = _verify()
    entries = AuditEntry.objects.count()
    assert code == 0
    assert output.startswith(f"Audit chain intact: {entries} entries, 3 decisions, last hash ")
    assert output.count("\n") == 1


def test_it_names_a_decision_whose_comment_was_changed_in_the_database(
    history: ApprovalRequest, raw_sql: Callable[..., None]
) -> None:
    decision = Decision.objects.get(approval=history)
    entry = AuditEntry.objects.get(decision=decision)
    raw_sql("UPDATE approvals_decision SET comment = %s WHERE id = %s", ["fine", decision.pk])

    code, message = _verify()

    assert code == 1
    assert f"entry #{entry.seq} action=decided request={history.pk} decision={decision.pk}" in (
        message
    )
    assert "comment changed" in message


def test_it_names_an_audit_entry_whose_data_was_changed(
    history: ApprovalRequest, raw_sql: Callable[..., None]
) -> None:
    entry = AuditEntry.objects.get(approval=history, action="routed")
    raw_sql("UPDATE approvals_auditentry SET actor = %s WHERE id = %s", ["mallory", entry.pk])
    code, message = _verify()
    assert code == 1
    assert f"entry #{entry.seq} action=routed" in message
    assert "do not match its hash" in message


def test_it_notices_a_deleted_entry_in_the_middle(
    history: ApprovalRequest, raw_sql: Callable[..., None]
) -> None:
    entry = AuditEntry.objects.get(approval=history, action="routed")
    raw_sql("DELETE FROM approvals_auditentry WHERE id = %s", [entry.pk])
    code, message = _verify()
    assert code == 1
    assert entry.seq is not None
    assert f"entry #{entry.seq + 1} " in message
    assert f"expected entry #{entry.seq} here" in message


def test_it_notices_entries_cut_off_the_end(
    history: ApprovalRequest, raw_sql: Callable[..., None]
) -> None:
    last = AuditEntry.objects.order_by("-seq").first()
    assert last is not None and last.decision_id is None  # the `rejected` entry
    raw_sql("DELETE FROM approvals_auditentry WHERE id = %s", [last.pk])
    code, message = _verify()
    assert code == 1
    assert "chain head is at" in message


def test_it_notices_a_decision_inserted_beside_the_chain(history: ApprovalRequest) -> None:
    # An ORM insert that skips the services: no audit entry vouches for it.
    sneaky = Decision.objects.create(
        approval=history,
        stage=1,
        outcome="approve",
        comment="sneaky",
        decided_by_name="mallory",
        channel="web",
        policy_version=1,
    )
    code, message = _verify()
    assert code == 1
    assert "not on the audit chain" in message
    assert f"request={history.pk} decision={sneaky.pk}" in message
    assert "\n" not in message  # one line for the operator's terminal
