"""Every state change of Checkpoint, one function each.

`grep -rn "def approval_" approvals/services` lists every way an approval can change. Each
service owns its transaction and writes, together, the new state, the Decision row, the audit
entry and the outbox event.
"""

from __future__ import annotations

from approvals.services.approvals import (
    approval_assign,
    approval_cancel,
    approval_claim,
    approval_decide,
    approval_escalate,
    approval_expire,
    approval_release,
    approval_submit,
)
from approvals.services.audit import audit_append
from approvals.services.outbox import outbox_enqueue

__all__ = [
    "approval_assign",
    "approval_cancel",
    "approval_claim",
    "approval_decide",
    "approval_escalate",
    "approval_expire",
    "approval_release",
    "approval_submit",
    "audit_append",
    "outbox_enqueue",
]
