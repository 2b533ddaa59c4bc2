from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from approvals.audit import compute_entry_hash, decision_fingerprint
from approvals.models import ApprovalRequest, AuditChainHead, AuditEntry, Decision


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
    next hash over the previous one, insert the entry, move the head. Callers append last, so
    the head's lock is held only for the moment before their commit.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit_append must run inside the service's transaction")
    data = dict(data or {})
    if decision is not None:
        data["decision"] = decision_fingerprint(decision)
    head, _ = AuditChainHead.objects.select_for_update().get_or_create(id=1)
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
        # The decision row carries its chain value for the CSV (CONTRACT §5); it is written once,
        # right after the row itself, inside the same transaction.
        Decision.objects.filter(pk=decision.pk).update(entry_hash=entry_hash)
        decision.entry_hash = entry_hash
    return entry
