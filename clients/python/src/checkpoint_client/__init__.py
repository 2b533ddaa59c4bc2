"""checkpoint-client: ask Checkpoint before acting, wait for the answer, verify its callbacks.

from checkpoint_client import Checkpoint
cp = Checkpoint("https://checkpoint.example", token="cpk_…")
req = cp.submit(policy="refund-approval", title="Refund #4411", payload={"amount": 120})
done = cp.wait(req.id, timeout=3600)
"""

from __future__ import annotations

from checkpoint_client._client import AsyncCheckpoint, Checkpoint
from checkpoint_client._errors import FieldError, ProblemError
from checkpoint_client._models import ApprovalRequest, Decision, Option, Policy
from checkpoint_client._webhooks import WebhookVerificationError, verify_webhook

__all__ = [
    "ApprovalRequest",
    "AsyncCheckpoint",
    "Checkpoint",
    "Decision",
    "FieldError",
    "Option",
    "Policy",
    "ProblemError",
    "WebhookVerificationError",
    "verify_webhook",
]
