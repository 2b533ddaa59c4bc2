"""A plain Python script that asks before it refunds (docs/agents.md).

CHECKPOINT_URL=https://checkpoint.example CHECKPOINT_TOKEN=cpk_… python plain_script.py 4411 120
"""

from __future__ import annotations

import os
import sys

from checkpoint_client import Checkpoint


def refund_with_approval(cp: Checkpoint, order_id: str, amount: float) -> str:
    """File the refund under `refund-approval`, wait for the outcome, act on it.

    The idempotency key makes a retried script find its first request instead of filing a
    second one.
    """
    req = cp.submit(
        policy="refund-approval",
        title=f"Refund {amount:.2f} USD for order #{order_id}",
        payload={"amount": amount, "currency": "USD", "order_id": order_id},
        external_id=f"order-{order_id}",
        idempotency_key=f"refund-{order_id}",
    )
    done = cp.wait(req.id, timeout=3600)
    if done.status == "approved":
        approved = (done.payload or {}).get("amount", amount)
        return f"refunded {approved:.2f} USD ({done.route})"
    reason = done.decision.comment if done.decision else ""
    return f"not refunded: {done.status}" + (f" ({reason})" if reason else "")


def main() -> None:
    order_id, amount = sys.argv[1], float(sys.argv[2])
    with Checkpoint(os.environ["CHECKPOINT_URL"], os.environ["CHECKPOINT_TOKEN"]) as cp:
        print(refund_with_approval(cp, order_id, amount))


if __name__ == "__main__":
    main()
