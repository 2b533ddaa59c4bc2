from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from approvals.audit.chain import GENESIS_HASH, compute_entry_hash, decision_fingerprint
from approvals.models import ApprovalRequest, AuditChainHead, AuditEntry, Decision


def _lock_head() -> AuditChainHead:
    """The chain head, locked for this transaction.

    Migration 0003 creates the row, so this is one SELECT … FOR UPDATE. The row can still be
    missing after a test flush (or on a database restored without it): then insert it with
    ON CONFLICT DO NOTHING and lock it. Unlike get_or_create, two first appends at once cannot
    both try to INSERT and have one fail: the loser waits on the unique key and then locks the
    winner's row.
    """
    try:
        return AuditChainHead.objects.select_for_update().get(id=1)
    except AuditChainHead.DoesNotExist:
        AuditChainHead.objects.bulk_create(
            [AuditChainHead(id=1, seq=0, last_hash=GENESIS_HASH)], ignore_conflicts=True
        )
        return AuditChainHead.objects.select_for_update().get(id=1)


def audit_append(
    *,
    action: str,
    actor: str,
    approval: ApprovalRequest | None = None,
    decision: Decision | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry to the hash chain, inside the caller's transaction.

    Steps: lock the chain head (one writer at a time, so the chain never forks), compute the
    next hash over the previous one, insert the entry, move the head. The head's lock is held
    until the caller's transaction ends, so services append as late as they can.

    Audit rows are only ever inserted: nothing here (or anywhere) updates or deletes them, and
    on PostgreSQL a trigger refuses it (migration 0003). The one later write is the decision's
    own `entry_hash` column, filled once below; the Decision trigger allows exactly that.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit_append must run inside the service's transaction")
    data = dict(data or {})
    if decision is not None:
        data["decision"] = decision_fingerprint(decision)
    head = _lock_head()
    seq = head.seq + 1
    at = timezone.now()
    entry_hash = compute_entry_hash(
        prev_hash=head.last_hash,
        seq=seq,
        at=at,
        action=action,
        actor=actor,
        approval_id=str(approval.pk) if approval is not None else None,
        decision_id=decision.pk if decision is not None else None,
        data=data,
    )
    entry = AuditEntry.objects.create(
        seq=seq,
        at=at,
        approval=approval,
        decision=decision,
        action=action,
        actor=actor,
        data=data,
        prev_hash=head.last_hash,
        entry_hash=entry_hash,
    )
    AuditChainHead.objects.filter(id=1).update(seq=seq, last_hash=entry_hash)
    if decision is not None:
        # The decision row carries its chain value for the CSV (docs/api.md "The audit CSV"); it is written once,
        # right after the row itself, inside the same transaction.
        Decision.objects.filter(pk=decision.pk).update(entry_hash=entry_hash)
        decision.entry_hash = entry_hash
    return entry
