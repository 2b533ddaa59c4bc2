"""Check the audit trail end to end: the hash chain, the decisions it vouches for, and the head.

`verify_audit` (the command) and the tests call `audit_verify()`. It reads the sealed chain in
`seq` order in keyset pages, so memory stays flat however long the trail is, and counts the
entries still waiting for the sealer (docs/architecture.md "The audit chain: sealed after
commit").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from approvals.audit.chain import GENESIS_HASH, compute_entry_hash, decision_fingerprint
from approvals.audit.sealing import sealed_head, unsealed_count
from approvals.models import AuditEntry, Decision

PAGE_SIZE = 2000


@dataclass(frozen=True)
class Broken:
    """The first entry where the trail stops being provable, and why."""

    seq: int | None
    action: str
    approval_id: str | None
    decision_id: int | None
    reason: str
    where: str = ""  # names the place when it is not one entry ("the head", "checkpoint #9")

    def describe(self) -> str:
        if self.where:
            return f"{self.where}: {self.reason}"
        parts = [f"entry #{self.seq}" if self.seq is not None else "no entry"]
        if self.action:
            parts.append(f"action={self.action}")
        parts.append(f"request={self.approval_id or '-'}")
        parts.append(f"decision={self.decision_id if self.decision_id is not None else '-'}")
        return f"{' '.join(parts)}: {self.reason}"


@dataclass(frozen=True)
class VerifyResult:
    entries: int
    decisions: int
    last_hash: str
    broken: Broken | None
    unsealed: int = 0  # committed entries the sealer has not chained yet (not checked)

    @property
    def ok(self) -> bool:
        return self.broken is None


def _entry_broken(entry: AuditEntry, reason: str) -> Broken:
    return Broken(
        seq=entry.seq,
        action=entry.action,
        approval_id=str(entry.approval_id) if entry.approval_id else None,
        decision_id=entry.decision_id,
        reason=reason,
    )


def _check_decision(entry: AuditEntry) -> str | None:
    """Why the live Decision row no longer matches what the chain recorded, or None."""
    decision = entry.decision
    if decision is None:
        return None
    if decision.approval_id != entry.approval_id:
        return "the decision row now belongs to another request"
    recorded = (entry.data or {}).get("decision")
    if recorded != decision_fingerprint(decision):
        live = decision_fingerprint(decision)
        changed = sorted(
            key
            for key in set(live) | set(recorded or {})
            if (recorded or {}).get(key) != live.get(key)
        )
        return f"the decision row differs from the chain ({', '.join(changed)} changed)"
    if decision.entry_hash != entry.entry_hash:
        return "the decision row's entry_hash is not the chain's value"
    return None


def _entry_problem(entry: AuditEntry, *, expected_seq: int, expected_prev: str) -> str | None:
    """Why this entry does not continue the chain, or None."""
    if entry.seq != expected_seq:
        return f"expected entry #{expected_seq} here: entries are missing"
    if entry.prev_hash != expected_prev:
        return "prev_hash does not match the previous entry"
    recomputed = compute_entry_hash(
        prev_hash=entry.prev_hash,
        seq=entry.seq,
        at=entry.at,
        action=entry.action,
        actor=entry.actor,
        approval_id=str(entry.approval_id) if entry.approval_id else None,
        decision_id=entry.decision_id,
        data=entry.data,
    )
    if recomputed != entry.entry_hash:
        return "the entry's contents do not match its hash"
    return _check_decision(entry)


def audit_verify(
    *,
    page_size: int = PAGE_SIZE,
    anchors: Mapping[int, str] | None = None,
    expect_head: str | None = None,
) -> VerifyResult:
    """Re-compute the chain and compare each decided entry with its live Decision row.

    `anchors` maps sequence numbers to the hashes that signed checkpoints vouch for (already
    checked for their signatures, approvals/audit/checkpoints.py): the entry at each must have
    that hash, and the chain must be long enough to reach every one. `expect_head` is a hash
    the head must equal (one an operator noted down earlier).

    Steps: walk sealed entries by seq (keyset pages, the decision joined in); each must follow the
    previous one (seq + 1, prev_hash = the previous entry_hash), hash to its entry_hash, and —
    for a decision — match the live row's fingerprint and entry_hash. Then the head must point
    at the last entry (a cut-off tail shows), and no decision may be missing from the chain.
    Returns at the first broken entry. Unsealed entries are only counted.
    """
    waiting = unsealed_count()
    prev, entries, decisions, after = GENESIS_HASH, 0, 0, 0
    while True:
        page = list(
            AuditEntry.objects.filter(seq__gt=after)
            .select_related("decision")
            .order_by("seq")[:page_size]
        )
        for entry in page:
            problem = _entry_problem(entry, expected_seq=entries + 1, expected_prev=prev)
            if problem:
                broken = _entry_broken(entry, problem)
                return VerifyResult(entries, decisions, prev, broken, waiting)
            signed = (anchors or {}).get(entries + 1)
            if signed is not None and signed != entry.entry_hash:
                reason = (
                    f"the chain no longer reaches the signed checkpoint at #{entries + 1}: "
                    f"the checkpoint says {signed[:16]}…, the entry hashes to "
                    f"{entry.entry_hash[:16]}…"
                )
                return VerifyResult(entries, decisions, prev, _entry_broken(entry, reason), waiting)
            entries += 1
            decisions += entry.decision_id is not None
            prev = entry.entry_hash
        if len(page) < page_size:
            break
        after = page[-1].seq or 0  # never None: the page holds sealed entries only

    head_seq, head_hash = sealed_head()
    if head_seq != entries or head_hash != prev:
        reason = (
            f"the chain head is at #{head_seq} but the last entry is #{entries}: "
            "entries are missing at the end or were added outside the chain"
        )
        broken = Broken(head_seq, "", None, None, reason)
        return VerifyResult(entries, decisions, prev, broken, waiting)
    beyond = max((seq for seq in anchors or {} if seq > entries), default=None)
    if beyond is not None:
        reason = (
            f"the chain ends at #{entries}, short of it: entries were removed or the chain was "
            "rewound"
        )
        broken = Broken(None, "", None, None, reason, where=f"signed checkpoint #{beyond}")
        return VerifyResult(entries, decisions, prev, broken, waiting)
    if expect_head is not None and expect_head != head_hash:
        reason = f"it is #{head_seq} {head_hash}, expected {expect_head}"
        broken = Broken(None, "", None, None, reason, where="the head")
        return VerifyResult(entries, decisions, prev, broken, waiting)
    orphan = (
        Decision.objects.filter(audit_entry__isnull=True)
        .order_by("decided_at", "id")
        .values_list("pk", "approval_id")
        .first()
    )
    if orphan is not None:
        broken = Broken(
            None, "decided", str(orphan[1]), orphan[0], "this decision is not on the audit chain"
        )
        return VerifyResult(entries, decisions, prev, broken, waiting)
    return VerifyResult(entries, decisions, prev, None, waiting)
