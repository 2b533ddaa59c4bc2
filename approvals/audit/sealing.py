"""Reading (and catching up) the sealed audit chain: the seam for exports, `verify_audit` and
signed checkpoints of the head (docs/architecture.md "The audit chain: sealed after commit")."""

from __future__ import annotations

from typing import NamedTuple

from approvals.audit.chain import GENESIS_HASH
from approvals.models import AuditChainHead, AuditEntry


class SealedHead(NamedTuple):
    seq: int
    hash: str


def sealed_head() -> SealedHead:
    """The last sealed entry's sequence and hash ((0, the genesis hash) for an empty chain)."""
    row = AuditChainHead.objects.filter(id=1).values_list("seq", "last_hash").first()
    return SealedHead(*row) if row else SealedHead(0, GENESIS_HASH)


def unsealed_count() -> int:
    """Committed entries waiting for the sealer (the partial index audit_unsealed)."""
    return AuditEntry.objects.filter(seq__isnull=True).count()


def seal_pending() -> int:
    """Seal every committed entry now (an export calls this first); returns how many."""
    from approvals.services.audit import audit_seal

    return audit_seal()
