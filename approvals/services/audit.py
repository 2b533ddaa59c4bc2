"""Audit entries: recorded by every service, sealed into the hash chain after commit.

docs/architecture.md "The audit chain: sealed after commit" has the design. In short: a service
inserts its entries unsealed (no sequence, no hash) in its own transaction, taking no shared
lock; `audit_seal` — one sealer at a time, under a PostgreSQL advisory lock — later chains the
committed entries in insertion order, writes each entry's sequence and hashes once, copies the
hash to the entry's Decision row, and moves the head.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from approvals.audit.chain import GENESIS_HASH, compute_entry_hash, decision_fingerprint
from approvals.models import ApprovalRequest, AuditChainHead, AuditEntry, Decision
from approvals.rows import RowInsert
from approvals.services.after_commit import kick_after_commit

# pg_advisory_xact_lock key of the sealer ("ckpt" in ASCII): one sealer at a time.
SEAL_LOCK_KEY = 0x636B7074
SEAL_BATCH_SIZE = 500


@dataclass
class AuditDraft:
    """One entry a service is about to record."""

    action: str
    actor: str
    approval: ApprovalRequest | None = None
    decision: Decision | None = None
    data: dict[str, Any] = field(default_factory=dict)


def seal_inline() -> bool:
    """Whether services seal in their own transaction (SQLite, where writers queue anyway; the
    test suite) instead of after commit."""
    return bool(settings.AUDIT_SEAL_INLINE)


# The entries' INSERT, built once (approvals/rows.py): audit rows have no signals or history.
_AUDIT_INSERT = RowInsert(AuditEntry)


def audit_record(drafts: list[AuditDraft]) -> list[AuditEntry]:
    """Insert a change's audit entries, unsealed, in one INSERT inside the caller's transaction.

    No lock is taken: the entries join the chain when the sealer runs, which is kicked once the
    transaction commits (or, with `seal_inline()`, right here). Audit rows are never updated
    except by that one sealing write, which the PostgreSQL trigger of migration 0006 allows.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit_record must run inside the service's transaction")
    at = timezone.now()
    rows = []
    for draft in drafts:
        data = dict(draft.data)
        if draft.decision is not None:
            data["decision"] = decision_fingerprint(draft.decision)
        rows.append(
            AuditEntry(
                seq=None,
                at=at,
                approval=draft.approval,
                decision=draft.decision,
                action=draft.action,
                actor=draft.actor,
                data=data,
                prev_hash="",
                entry_hash="",
            )
        )
    _AUDIT_INSERT.insert(rows)
    if seal_inline():
        # Already inside the service's transaction: seal in it, without a savepoint of its own.
        hashes = _seal_batch(len(rows) + SEAL_BATCH_SIZE)
        for row, draft in zip(rows, drafts, strict=True):
            row.entry_hash = hashes.get(row.pk, "")
            if draft.decision is not None:
                draft.decision.entry_hash = row.entry_hash
    else:
        # One sealer run per window takes in every commit of it; beat catches a lost kick.
        kick_after_commit("seal_audit", window=settings.AUDIT_SEAL_WINDOW_SECONDS)
    return rows


def audit_append(
    *,
    action: str,
    actor: str,
    approval: ApprovalRequest | None = None,
    decision: Decision | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEntry:
    """Record one entry (`audit_record` of a single draft)."""
    draft = AuditDraft(
        action=action, actor=actor, approval=approval, decision=decision, data=dict(data or {})
    )
    return audit_record([draft])[0]


# --- the sealer -------------------------------------------------------------------------------


def _lock_head() -> AuditChainHead:
    """The chain head, locked for this transaction; recreated if a flush removed it.

    Migration 0003 creates the row. After a test flush (or a restore without it) it is
    inserted with ON CONFLICT DO NOTHING before the lock, so two first sealers cannot both
    INSERT.
    """
    try:
        return AuditChainHead.objects.select_for_update().get(id=1)
    except AuditChainHead.DoesNotExist:
        AuditChainHead.objects.bulk_create(
            [AuditChainHead(id=1, seq=0, last_hash=GENESIS_HASH)], ignore_conflicts=True
        )
        return AuditChainHead.objects.select_for_update().get(id=1)


def _seal_batch(limit: int) -> dict[int, str]:
    """Chain up to `limit` committed, unsealed entries; returns {entry id: entry_hash}.

    Runs inside a transaction: the advisory lock (PostgreSQL) and the head's row lock make it
    the only sealer until commit; killed half-way, it rolls back whole and the next run starts
    from the same head.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SEAL_LOCK_KEY])
    head = _lock_head()
    # Read after taking the locks: under READ COMMITTED this sees every entry a previous
    # sealer sealed, so none is chained twice.
    entries = list(AuditEntry.objects.filter(seq__isnull=True).order_by("id")[:limit])
    if not entries:
        return {}
    seq, prev = head.seq, head.last_hash
    for entry in entries:
        seq += 1
        entry.seq, entry.prev_hash = seq, prev
        entry.entry_hash = compute_entry_hash(
            prev_hash=prev,
            seq=seq,
            at=entry.at,
            action=entry.action,
            actor=entry.actor,
            approval_id=str(entry.approval_id) if entry.approval_id else None,
            decision_id=entry.decision_id,
            data=entry.data,
        )
        prev = entry.entry_hash
    _write_seals(entries)
    AuditChainHead.objects.filter(id=1).update(seq=seq, last_hash=prev)
    return {entry.pk: entry.entry_hash for entry in entries}


# One UPDATE … FROM (VALUES …) per table on PostgreSQL (bulk_update's CASE per row costs a few
# milliseconds per entry at batch size); only placeholders are put into the SQL text.
_SEAL_ENTRIES_SQL = (
    "UPDATE approvals_auditentry AS a SET seq = v.seq::bigint, prev_hash = v.prev,"
    " entry_hash = v.hash FROM (VALUES {rows}) AS v(id, seq, prev, hash) WHERE a.id = v.id::bigint"
)
_SEAL_DECISIONS_SQL = (
    "UPDATE approvals_decision AS d SET entry_hash = v.hash"
    " FROM (VALUES {rows}) AS v(id, hash) WHERE d.id = v.id::bigint"
)


def _write_seals(entries: list[AuditEntry]) -> None:
    """Write each entry's sequence and hashes and each decision's entry_hash (the CSV's, docs/api.md
    "The audit CSV"), once."""
    decided = [entry for entry in entries if entry.decision_id is not None]
    if connection.vendor != "postgresql":
        AuditEntry.objects.bulk_update(entries, ["seq", "prev_hash", "entry_hash"])
        Decision.objects.bulk_update(
            [Decision(pk=e.decision_id, entry_hash=e.entry_hash) for e in decided], ["entry_hash"]
        )
        return
    with connection.cursor() as cursor:
        cursor.execute(
            _SEAL_ENTRIES_SQL.format(rows=", ".join(["(%s, %s, %s, %s)"] * len(entries))),
            [v for e in entries for v in (e.pk, e.seq, e.prev_hash, e.entry_hash)],
        )
        if decided:
            cursor.execute(
                _SEAL_DECISIONS_SQL.format(rows=", ".join(["(%s, %s)"] * len(decided))),
                [v for e in decided for v in (e.decision_id, e.entry_hash)],
            )


def _seal_all(batch_size: int = SEAL_BATCH_SIZE) -> dict[int, str]:
    sealed: dict[int, str] = {}
    while True:
        with transaction.atomic():
            done = _seal_batch(batch_size)
        sealed.update(done)
        if len(done) < batch_size:
            return sealed


def audit_seal(*, batch_size: int = SEAL_BATCH_SIZE) -> int:
    """Seal every committed entry not yet on the chain; returns how many it sealed.

    Idempotent and safe to run anywhere at any time: two sealers queue on the advisory lock and
    the second finds nothing left. Each batch commits on its own.
    """
    return len(_seal_all(batch_size))
