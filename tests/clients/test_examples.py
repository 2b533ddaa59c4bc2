"""Every example of docs/agents.md, imported from docs/examples/ and run against a live server."""

from __future__ import annotations

import importlib.util
import json
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from checkpoint_client import Checkpoint
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from approvals.models import ApprovalRequest, Membership, Policy, ReviewerGroup
from playbooks.installer import install_playbook
from tests.factories import UserFactory
from tests.fixtures.agents import InboxReviewer, run_async

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
FAST: dict[str, Any] = {"poll_interval": 0.2, "max_poll_interval": 1.0}


def example(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"docs_examples_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def reviewer_of(group_slug: str, username: str) -> Any:
    user = UserFactory.create(username=username, email=f"{username}@example.com")
    Membership.objects.create(group=ReviewerGroup.objects.get(slug=group_slug), user=user)
    return user


def decide_when_filed(
    reviewer: InboxReviewer, token: str, external_id: str, option: str, **fields: Any
) -> threading.Thread:
    """A reviewer who finds the request once it is filed and decides it in the inbox (HTTP)."""

    def run() -> None:
        with httpx.Client(base_url=reviewer.base_url, timeout=60) as http:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                found = http.get(
                    "/api/v1/requests",
                    params={"external_id": external_id, "status": "pending"},
                    headers={"Authorization": f"Bearer {token}"},
                ).json()["results"]
                if found:
                    reviewer.decide(found[0]["id"], option, **fields)
                    return
                time.sleep(0.1)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


@pytest.fixture
def cp(checkpoint_url: str, caller_token: str, agent_policy: Policy) -> Checkpoint:
    return Checkpoint(checkpoint_url, caller_token, **FAST)


def test_the_plain_script_refunds_at_once_or_after_a_lead_decides(
    cp: Checkpoint, caller_token: str, inbox_as: Callable[[Any], InboxReviewer]
) -> None:
    install_playbook("refund-approval")
    lead = inbox_as(reviewer_of("support-leads", "lea"))
    script = example("plain_script")

    assert script.refund_with_approval(cp, "4411", 20.0) == "refunded 20.00 USD (auto)"

    decider = decide_when_filed(
        lead, caller_token, "order-4412", "reject", comment="Photos missing."
    )
    assert (
        script.refund_with_approval(cp, "4412", 120.0) == "not refunded: rejected (Photos missing.)"
    )
    decider.join()


def test_the_langgraph_node_waits_once_per_thread_and_interrupt(
    cp: Checkpoint, caller_token: str, inbox_as: Callable[[Any], InboxReviewer]
) -> None:
    install_playbook("ai-outbound-review")
    editor = inbox_as(reviewer_of("marketing-reviewers", "mia"))
    module = example("langgraph_node")
    node = module.checkpoint_interrupt(
        cp,
        interrupt_id="review-draft",
        policy="ai-outbound-review",
        title=lambda state: "Outbound email",
        payload=lambda state: {"draft": state["draft"]},
    )
    config = {"configurable": {"thread_id": "thread-9"}}
    key = module.approval_key("thread-9", "review-draft")

    decider = decide_when_filed(
        editor, caller_token, key, "approve", **{"edit:draft": "Hello, fixed."}
    )
    first = node({"draft": "Helo"}, config)
    decider.join()
    again = node({"draft": "Helo"}, config)  # a re-run of the same thread

    assert first["approval"]["status"] == "approved"
    assert first["approval"]["payload"] == {"draft": "Hello, fixed."}
    assert again == first
    assert ApprovalRequest.objects.filter(external_id=key).count() == 1


def test_the_openai_agents_helper_reads_the_reviewers_reason_once_per_call(
    cp: Checkpoint, caller_token: str, inbox_as: Callable[[Any], InboxReviewer], supervisor: Any
) -> None:
    module = example("openai_agents")
    sam = inbox_as(supervisor)

    decider = decide_when_filed(sam, caller_token, "call_abc", "reject", comment="No prod.")
    verdict = module.decide_tool_call(
        cp, tool_name="deploy", arguments={"env": "prod"}, call_id="call_abc", timeout=60
    )
    decider.join()
    again = module.decide_tool_call(
        cp, tool_name="deploy", arguments={"env": "prod"}, call_id="call_abc", timeout=60
    )

    assert verdict == again == (False, "No prod.")
    assert ApprovalRequest.objects.filter(external_id="call_abc").count() == 1
    read = module.decide_tool_call(cp, tool_name="Read", arguments={}, call_id="call_r")
    assert read == (True, "Auto-approved by rule 'Read-only tools pass'.")
    timed_out = module.decide_tool_call(
        cp, tool_name="deploy", arguments={}, call_id="call_late", timeout=0.3
    )
    assert timed_out == (False, "No decision within 0.3 s.")
    assert ApprovalRequest.objects.get(external_id="call_late").status == "cancelled"


def test_the_claude_code_mcp_json_starts_a_server_with_the_permission_prompt_tool(
    checkpoint_url: str, caller_token: str, agent_policy: Policy
) -> None:
    config = json.loads((EXAMPLES / "claude-code.mcp.json").read_text())
    [(name, server)] = config["mcpServers"].items()
    tool = f"mcp__{name}__approve_tool_use"
    assert tool in (EXAMPLES.parent / "agents.md").read_text()
    params = StdioServerParameters(
        command=str(Path(sys.executable).parent / server["command"]),
        env={**server["env"], "CHECKPOINT_URL": checkpoint_url, "CHECKPOINT_TOKEN": caller_token},
    )

    async def scenario() -> Any:
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            tools = {t.name for t in (await session.list_tools()).tools}
            answer = await session.call_tool(
                "approve_tool_use", {"tool_name": "Glob", "input": {"pattern": "*.py"}}
            )
            return tools, json.loads(answer.content[0].text)  # type: ignore[union-attr]

    tools, answer = run_async(scenario())
    assert tool.removeprefix(f"mcp__{name}__") in tools
    assert answer == {"behavior": "allow", "updatedInput": {"pattern": "*.py"}}
