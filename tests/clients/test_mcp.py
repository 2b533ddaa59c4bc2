"""checkpoint-mcp over stdio, driven by the official `mcp` client, against a live server.

The server is the installed console script, started as a subprocess the way Claude Code starts
it; a supervisor decides in the inbox (real HTTP) while a tool call waits.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from approvals.models import ApprovalRequest, Policy
from tests.fixtures.agents import InboxReviewer, run_async

SCRIPT = Path(sys.executable).parent / "checkpoint-mcp"
TOOLS = {"list_policies", "request_approval", "get_approval", "approve_tool_use"}

Session = Callable[[Callable[[ClientSession], Awaitable[Any]]], Any]


@pytest.fixture
def mcp_session(checkpoint_url: str, caller_token: str, agent_policy: Policy) -> Callable[..., Any]:
    """Run `body(session)` against a fresh checkpoint-mcp process; returns what body returns."""

    def run(body: Callable[[ClientSession], Awaitable[Any]], *, tool_wait: float = 30) -> Any:
        params = StdioServerParameters(
            command=str(SCRIPT),
            env={
                "CHECKPOINT_URL": checkpoint_url,
                "CHECKPOINT_TOKEN": caller_token,
                "CHECKPOINT_TOOL_WAIT": str(tool_wait),
            },
        )

        async def scenario() -> Any:
            async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
                await session.initialize()
                return await body(session)

        return run_async(scenario())

    return run


async def call(session: ClientSession, tool: str, **arguments: Any) -> Any:
    result = await session.call_tool(tool, arguments)
    assert not result.is_error, result
    return json.loads(result.content[0].text)  # type: ignore[union-attr]


async def pending_id(base_url: str, token: str, external_id: str) -> str:
    """The id of the request filed under `external_id`, once it exists (as a reviewer finds it)."""
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
        for _ in range(100):
            found = await http.get(
                "/api/v1/requests",
                params={"external_id": external_id},
                headers={"Authorization": f"Bearer {token}"},
            )
            results = found.json()["results"]
            if results:
                return str(results[0]["id"])
            await asyncio.sleep(0.1)
    raise AssertionError(f"nothing filed under {external_id}")


@pytest.fixture
def sam(inbox_as: Callable[[Any], InboxReviewer], supervisor: Any) -> InboxReviewer:
    return inbox_as(supervisor)


def test_it_offers_exactly_the_four_tools(mcp_session: Callable[..., Any]) -> None:
    async def body(session: ClientSession) -> set[str]:
        return {tool.name for tool in (await session.list_tools()).tools}

    assert mcp_session(body) == TOOLS


def test_list_policies_shows_summaries_schemas_and_options(mcp_session: Callable[..., Any]) -> None:
    async def body(session: ClientSession) -> Any:
        return await call(session, "list_policies")

    [policy] = mcp_session(body)["policies"]
    assert policy["slug"] == "agent-tool-use" and policy["summary"]
    assert policy["payload_schema"]["required"] == ["tool_name", "input"]
    assert [o["key"] for o in policy["options"]] == [
        "approve",
        "approve-edited",
        "reject",
        "approve-remember",
    ]


def test_request_approval_waits_and_returns_the_decision_made_meanwhile(
    mcp_session: Callable[..., Any], sam: InboxReviewer, checkpoint_url: str, caller_token: str
) -> None:
    async def body(session: ClientSession) -> Any:
        async def reviewer() -> None:
            await sam.adecide(
                await pending_id(checkpoint_url, caller_token, "deploy-7"), "approve", comment="go"
            )

        answer, _ = await asyncio.gather(
            call(
                session,
                "request_approval",
                policy="agent-tool-use",
                title="Deploy",
                payload={"tool_name": "Deploy", "input": {"env": "prod"}},
                external_id="deploy-7",
                wait_seconds=30,
            ),
            reviewer(),
        )
        again = await call(session, "get_approval", id=answer["id"])
        return answer, again

    answer, again = mcp_session(body)
    assert answer["status"] == "approved" and answer["review_url"].endswith(
        f"/inbox/{answer['id']}/"
    )
    assert answer["decision"]["comment"] == "go" and answer["decision"]["decided_by"] == "sam"
    assert again == answer


def test_request_approval_without_waiting_and_a_bad_policy(mcp_session: Callable[..., Any]) -> None:
    async def body(session: ClientSession) -> Any:
        filed = await call(
            session,
            "request_approval",
            policy="agent-tool-use",
            title="Deploy",
            payload={"tool_name": "Deploy", "input": {}},
        )
        bad = await call(session, "request_approval", policy="nope", title="x", payload={})
        return filed, bad

    filed, bad = mcp_session(body)
    assert filed["status"] == "pending" and filed["decision"] is None
    assert bad["error"]["status"] == 422 and bad["error"]["errors"][0]["field"] == "policy"


def test_approve_tool_use_allows_a_read_at_once(mcp_session: Callable[..., Any]) -> None:
    async def body(session: ClientSession) -> Any:
        return await call(
            session,
            "approve_tool_use",
            tool_name="Read",
            input={"file_path": "README.md"},
            tool_use_id="toolu_1",
        )

    assert mcp_session(body) == {"behavior": "allow", "updatedInput": {"file_path": "README.md"}}


def test_approve_tool_use_denies_bash_with_the_reviewers_comment(
    mcp_session: Callable[..., Any], sam: InboxReviewer, checkpoint_url: str, caller_token: str
) -> None:
    async def body(session: ClientSession) -> Any:
        async def reviewer() -> None:
            approval_id = await pending_id(checkpoint_url, caller_token, "toolu_2")
            await sam.adecide(approval_id, "reject", comment="Use the Makefile target instead.")

        answer, _ = await asyncio.gather(
            call(
                session,
                "approve_tool_use",
                tool_name="Bash",
                input={"command": "rm -rf build"},
                tool_use_id="toolu_2",
            ),
            reviewer(),
        )
        return answer

    assert mcp_session(body) == {"behavior": "deny", "message": "Use the Makefile target instead."}


def test_approve_tool_use_approved_with_edits_gives_the_edited_input(
    mcp_session: Callable[..., Any], sam: InboxReviewer, checkpoint_url: str, caller_token: str
) -> None:
    async def body(session: ClientSession) -> Any:
        async def reviewer() -> None:
            approval_id = await pending_id(checkpoint_url, caller_token, "toolu_3")
            await sam.adecide(
                approval_id, "approve-edited", **{"edit:input": '{"command": "make clean"}'}
            )

        answer, _ = await asyncio.gather(
            call(
                session,
                "approve_tool_use",
                tool_name="Bash",
                input={"command": "rm -rf build"},
                tool_use_id="toolu_3",
            ),
            reviewer(),
        )
        return answer

    assert mcp_session(body) == {"behavior": "allow", "updatedInput": {"command": "make clean"}}


def test_approve_tool_use_denies_clearly_when_the_wait_runs_out(
    mcp_session: Callable[..., Any], agent_policy: Policy
) -> None:
    async def body(session: ClientSession) -> Any:
        return await call(
            session,
            "approve_tool_use",
            tool_name="Bash",
            input={"command": "ls"},
            tool_use_id="toolu_4",
        )

    answer = mcp_session(body, tool_wait=1)

    assert answer["behavior"] == "deny"
    assert answer["message"].startswith(
        "No reviewer decided within 1 seconds, so the request was withdrawn"
    )
    # Withdrawn, so it no longer waits in a supervisor's queue.
    assert ApprovalRequest.objects.get(external_id="toolu_4").status == "cancelled"
