"""A LangGraph node that pauses the graph for a Checkpoint decision (docs/agents.md).

The request is keyed by the graph's thread id and the interrupt's id, so a re-run of the node
(a resumed or retried thread) finds the request it filed before instead of filing a second.
LangGraph is imported only inside `build_graph`, so the node itself runs without it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from checkpoint_client import Checkpoint


def approval_key(thread_id: str, interrupt_id: str) -> str:
    return f"langgraph:{thread_id}:{interrupt_id}"


def checkpoint_interrupt(
    cp: Checkpoint,
    *,
    interrupt_id: str,
    policy: str,
    title: Callable[[dict[str, Any]], str],
    payload: Callable[[dict[str, Any]], dict[str, Any]],
    timeout: float = 3600,
) -> Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]:
    """A node `(state, config) -> update`: submit (idempotently), wait, put the outcome in
    `state["approval"]`. Route on it with a conditional edge."""

    def node(state: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
        key = approval_key(str(config["configurable"]["thread_id"]), interrupt_id)
        req = cp.submit(
            policy=policy,
            title=title(state),
            payload=payload(state),
            external_id=key,
            idempotency_key=key,
        )
        done = cp.wait(req.id, timeout=timeout)
        return {
            "approval": {
                "id": done.id,
                "status": done.status,
                "comment": done.decision.comment if done.decision else "",
                "payload": done.payload,
            }
        }

    return node


def build_graph(cp: Checkpoint) -> Any:  # pragma: no cover - needs langgraph installed
    """draft -> human review in Checkpoint -> send (approved) or end."""
    from typing import TypedDict

    from langgraph.graph import END, START, StateGraph

    class State(TypedDict, total=False):
        draft: str
        approval: dict[str, Any]

    review = checkpoint_interrupt(
        cp,
        interrupt_id="review-draft",
        policy="ai-outbound-review",
        title=lambda state: "Outbound email",
        payload=lambda state: {"draft": state["draft"]},
    )
    graph = StateGraph(State)
    graph.add_node("review", review)
    graph.add_node("send", lambda state: {})
    graph.add_edge(START, "review")
    graph.add_conditional_edges(
        "review", lambda state: "send" if state["approval"]["status"] == "approved" else END
    )
    graph.add_edge("send", END)
    return graph.compile()
