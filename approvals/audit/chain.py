"""The audit hash chain, as pure functions: `services.audit` appends, `verify_audit` checks."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

GENESIS_HASH = "0" * 64


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def compute_entry_hash(
    *,
    prev_hash: str,
    seq: int,
    at: datetime,
    action: str,
    actor: str,
    approval_id: str | None,
    decision_id: int | None,
    data: Any,
) -> str:
    material = canonical_json(
        {
            "prev": prev_hash,
            "seq": seq,
            "at": at.isoformat(),
            "action": action,
            "actor": actor,
            "approval": approval_id,
            "decision": decision_id,
            "data": data,
        }
    )
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def decision_fingerprint(decision: Any) -> dict[str, Any]:
    """The fields of a Decision that the chain vouches for (tampering with any of them shows).

    `is_final` is left out on purpose: an approval that completes the last stage's quorum is
    flagged final only after its vote has been counted (after this entry was written), so the
    flag would read differently at write time and at verify time. Finality is on the chain
    anyway: the `approved` / `rejected` / … entry that follows the decision. `entry_hash` is the
    chain's own value, checked separately by `audit_verify`.
    """
    return {
        "stage": decision.stage,
        "outcome": decision.outcome,
        "option": decision.option,
        "value": decision.value,
        "comment": decision.comment,
        "decided_by": decision.decided_by_name,
        "channel": decision.channel,
        "decided_at": decision.decided_at.isoformat(),
        "payload_changes": decision.payload_changes,
        "policy_version": decision.policy_version,
        "rule": decision.rule,
    }
