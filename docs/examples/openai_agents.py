"""The OpenAI Agents SDK's tool approvals, decided in Checkpoint (docs/agents.md).

Mark tools `@function_tool(needs_approval=True)`; a run then stops with `result.interruptions`.
`resolve_interruptions` files each under the `agent-tool-use` policy, waits for a supervisor and
approves or rejects it on the run state; run the agent again with that state. The SDK is
imported only inside `resolve_interruptions`; `decide_tool_call` needs nothing but the client.
"""

from __future__ import annotations

import json
from typing import Any

from checkpoint_client import Checkpoint


def decide_tool_call(
    cp: Checkpoint,
    *,
    tool_name: str,
    arguments: dict[str, Any],
    call_id: str,
    agent: str = "openai-agents",
    timeout: float = 600,
) -> tuple[bool, str]:
    """(approved, the reviewer's comment). One request per tool call id, however often asked."""
    req = cp.submit(
        policy="agent-tool-use",
        title=f"{tool_name}: {json.dumps(arguments)[:200]}",
        payload={"tool_name": tool_name, "input": arguments, "agent": agent},
        external_id=call_id,
        idempotency_key=f"openai-agents:{call_id}",
    )
    try:
        done = cp.wait(req.id, timeout=timeout)
    except TimeoutError:
        cp.cancel(req.id)
        return False, f"No decision within {timeout:g} s."
    comment = done.decision.comment if done.decision else ""
    return done.status == "approved", comment


def resolve_interruptions(cp: Checkpoint, result: Any) -> Any:  # pragma: no cover - needs agents
    """Decide every pending tool approval of a run in Checkpoint; returns the RunState to resume
    with `Runner.run(agent, state)`. A rejection carries the reviewer's reason to the model."""
    state = result.to_state()
    for item in result.interruptions:
        approved, comment = decide_tool_call(
            cp,
            tool_name=item.name or "unknown_tool",
            arguments=json.loads(item.arguments or "{}"),
            call_id=getattr(item.raw_item, "call_id", None) or f"{item.name}:{item.arguments}",
        )
        if approved:
            state.approve(item)
        else:
            state.reject(item, rejection_message=comment or "A supervisor rejected this call.")
    return state
