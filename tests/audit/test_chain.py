"""Every transition of a request is an entry on the hash chain, written with the change."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import override_settings

from approvals.audit.verify import audit_verify
from approvals.models import ApprovalRequest, AuditChainHead, AuditEntry, OutboxEvent, Policy
from approvals.services import (
    approval_assign,
    approval_cancel,
    approval_claim,
    approval_decide,
    approval_escalate,
    approval_expire,
    approval_release,
)
from approvals.services.delivery import event_mark_delivered, event_record_failure
from approvals.sla import sweep as sweeps
from tests.factories import GroupFactory, MembershipFactory, StageFactory, UserFactory

pytestmark = pytest.mark.django_db

CALLBACK = "https://caller.example/hooks/checkpoint"


def _actions(approval: ApprovalRequest) -> list[str]:
    return list(AuditEntry.objects.filter(approval=approval).values_list("action", flat=True))


def test_it_puts_every_transition_on_the_chain_and_verify_passes(
    submit: Callable[..., ApprovalRequest],
    policy: Policy,
    reviewer: Any,
    other_reviewer: Any,
) -> None:
    # Two stages: support, then finance; finance escalates to its managers.
    finance = GroupFactory.create(slug="finance-two")
    cfo = UserFactory.create(username="carl")
    MembershipFactory.create(group=finance, user=cfo)
    StageFactory.create(policy=policy, position=2, group=finance)

    walked = submit(callback_url=CALLBACK)
    approval_claim(approval=walked, reviewer=reviewer)
    approval_release(approval=walked, reviewer=reviewer)
    approval_assign(approval=walked, assignee=other_reviewer, actor="maria", notify=False)
    approval_escalate(approval=walked)
    approval_decide(approval=walked, reviewer=other_reviewer, option="approve", comment="fine")
    approval_decide(approval=walked, reviewer=cfo, option="approve", comment="paid")

    cancelled = submit()
    approval_cancel(approval=cancelled)
    expired = submit()
    approval_expire(approval=expired)
    auto = submit(payload={"amount": 10}, callback_url=CALLBACK)

    delivered = OutboxEvent.objects.get(approval=walked, event_type="request.decided")
    event_mark_delivered(event=delivered, status_code=200, duration_ms=12)
    with override_settings(WEBHOOK_RETRY_SCHEDULE=[]):
        event_record_failure(event=OutboxEvent.objects.get(approval=auto), error="HTTP 500")

    assert _actions(walked) == [
        "created",
        "routed",
        "assigned",
        "claimed",
        "released",
        "assigned",
        "escalated",
        "decided",
        "stage_advanced",
        "assigned",
        "decided",
        "approved",
        "callback_delivered",
    ]
    assert _actions(cancelled)[-1] == "cancelled"
    assert _actions(expired)[-2:] == ["decided", "expired"]
    assert _actions(auto) == ["created", "routed", "decided", "approved", "callback_dead"]
    routed = AuditEntry.objects.get(approval=auto, action="routed")
    assert routed.data["rule"] == "small amounts"

    result = audit_verify()
    assert result.ok, result.broken
    assert result.entries == AuditEntry.objects.count()
    assert result.decisions == 4  # two votes, the expiry, the auto approval


def test_it_records_reminders_on_the_chain(submit: Callable[..., ApprovalRequest]) -> None:
    import time
    from datetime import timedelta

    from django.utils import timezone

    approval = submit(due_at=timezone.now() + timedelta(seconds=2))  # reminders at 50 %, 90 %
    time.sleep(1.2)
    sweeps.sweep_due()
    assert "reminded" in _actions(approval)
    assert audit_verify().ok


def test_a_final_approval_after_a_quorum_still_verifies(
    pending: ApprovalRequest, reviewer: Any
) -> None:
    # approval_decide flags the vote final after its audit entry was written; the chain must
    # not call that tampering.
    decision = approval_decide(approval=pending, reviewer=reviewer, option="approve")
    decision.refresh_from_db()
    assert decision.is_final and decision.entry_hash
    assert audit_verify().ok


def test_each_entry_hashes_over_the_one_before(submit: Callable[..., ApprovalRequest]) -> None:
    submit(payload={"amount": 10})
    entries = list(AuditEntry.objects.order_by("seq"))
    assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
    assert entries[0].prev_hash == "0" * 64
    for before, after in itertools.pairwise(entries):
        assert after.prev_hash == before.entry_hash
    head = AuditChainHead.objects.get(id=1)
    assert (head.seq, head.last_hash) == (entries[-1].seq, entries[-1].entry_hash)


def test_the_first_append_recreates_a_missing_chain_head(
    submit: Callable[..., ApprovalRequest],
) -> None:
    # A flushed test database (or a restore without the row) has no head; the migration
    # normally creates it. On PostgreSQL the row refuses DELETE and the table TRUNCATE; a
    # flush empties it as a superuser with the triggers held off (migration 0013).
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = replica")
            cursor.execute("TRUNCATE approvals_auditchainhead")
            cursor.execute("SET session_replication_role = DEFAULT")
    else:
        AuditChainHead.objects.all().delete()
    approval = submit(payload={"amount": 10})
    assert AuditChainHead.objects.get(id=1).seq == len(_actions(approval))
    assert audit_verify().ok


def test_the_migration_creates_the_chain_head() -> None:
    assert AuditChainHead.objects.filter(id=1, seq=0, last_hash="0" * 64).exists()
