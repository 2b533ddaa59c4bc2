"""checkpoint-mcp: Checkpoint as a Model Context Protocol server on stdio (docs/agents.md).

Four tools: list_policies, request_approval, get_approval and approve_tool_use, the last one
shaped for Claude Code's `--permission-prompt-tool`. Configured by the environment:
CHECKPOINT_URL, CHECKPOINT_TOKEN, CHECKPOINT_TOOL_WAIT (seconds, default 600) and
CHECKPOINT_AGENT (the `agent` recorded on tool-use requests, default "claude-code").
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict
from typing import Any

from mcp.server.mcpserver import MCPServer

from checkpoint_client._client import AsyncCheckpoint
from checkpoint_client._errors import ProblemError
from checkpoint_client._models import ApprovalRequest

MAX_WAIT = 3600.0
DEFAULT_TOOL_WAIT = 600.0
TOOL_POLICY = "agent-tool-use"


def _json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, default=str)


def request_view(found: ApprovalRequest) -> dict[str, Any]:
    """What the tools return about a request: enough to act on, nothing the caller lacks."""
    decision = found.decision
    return {
        "id": found.id,
        "status": found.status,
        "review_url": found.review_url,
        "route": found.route,
        "route_reason": found.route_reason,
        "escalated": found.escalated,
        "decision": None
        if decision is None
        else {
            "outcome": decision.outcome,
            "option": decision.option,
            "comment": decision.comment,
            "decided_by": decision.decided_by,
            "channel": decision.channel,
            "decided_at": decision.decided_at,
            "payload_changes": decision.payload_changes,
        },
    }


def _problem_view(exc: ProblemError) -> dict[str, Any]:
    return {
        "error": {
            "status": exc.status,
            "title": exc.title,
            "detail": exc.detail,
            "errors": [asdict(error) for error in exc.errors],
        }
    }


def _clamp(seconds: float | None) -> float:
    return min(max(float(seconds or 0), 0.0), MAX_WAIT)


async def _wait_or_current(cp: AsyncCheckpoint, request_id: str, seconds: float) -> ApprovalRequest:
    if seconds <= 0:
        return await cp.get(request_id)
    try:
        return await cp.wait(request_id, timeout=seconds)
    except TimeoutError:
        return await cp.get(request_id)


def tool_use_answer(found: ApprovalRequest, submitted_input: dict[str, Any]) -> dict[str, Any]:
    """Claude Code's permission prompt answer for a final request."""
    decision = found.decision
    if found.status == "approved":
        payload = found.payload or {}
        updated = payload.get("input", submitted_input)
        return {
            "behavior": "allow",
            "updatedInput": updated if isinstance(updated, dict) else submitted_input,
        }
    who = decision.decided_by if decision else "Checkpoint"
    reason = decision.comment.strip() if decision and decision.comment else ""
    if found.status in ("rejected", "changes_requested"):
        return {"behavior": "deny", "message": reason or f"Denied by {who} (no reason given)."}
    return {
        "behavior": "deny",
        "message": f"The approval request was {found.status.replace('_', ' ')}"
        + (f": {reason}" if reason else "."),
    }


def build_server(cp: AsyncCheckpoint, *, tool_wait: float, agent: str = "claude-code") -> MCPServer:
    server = MCPServer(
        "checkpoint",
        instructions="Ask a human (through Checkpoint) before acting: list_policies to learn "
        "what you may ask, request_approval to ask and wait, get_approval to check later.",
    )

    @server.tool(structured_output=False)
    async def list_policies() -> str:
        """The policies you may ask approval under: summaries, payload schemas, options."""
        try:
            policies = await cp.policies()
        except ProblemError as exc:
            return _json(_problem_view(exc))
        return _json(
            {
                "policies": [
                    {
                        "slug": p.slug,
                        "name": p.name,
                        "summary": p.summary,
                        "payload_schema": p.payload_schema,
                        "options": [asdict(o) for o in p.options],
                    }
                    for p in policies
                ]
            }
        )

    @server.tool(structured_output=False)
    async def request_approval(
        policy: str,
        title: str,
        payload: dict[str, Any],
        summary: str | None = None,
        external_id: str | None = None,
        wait_seconds: float = 0,
    ) -> str:
        """File a request for a human decision under a policy; optionally wait up to
        wait_seconds (at most 3600) for the decision. Returns id, status, review_url and the
        decision once there is one."""
        try:
            filed = await cp.submit(
                policy=policy,
                title=title,
                payload=payload,
                summary=summary,
                external_id=external_id,
                idempotency_key=f"mcp:{policy}:{external_id}" if external_id else None,
            )
            seconds = _clamp(wait_seconds)
            if not filed.is_final and seconds > 0:
                filed = await _wait_or_current(cp, filed.id, seconds)
        except ProblemError as exc:
            return _json(_problem_view(exc))
        return _json(request_view(filed))

    @server.tool(structured_output=False)
    async def get_approval(id: str, wait_seconds: float = 0) -> str:
        """A request's status and decision; optionally wait up to wait_seconds for it."""
        try:
            found = await _wait_or_current(cp, id, _clamp(wait_seconds))
        except ProblemError as exc:
            return _json(_problem_view(exc))
        return _json(request_view(found))

    @server.tool(structured_output=False)
    async def approve_tool_use(
        tool_name: str, input: dict[str, Any], tool_use_id: str | None = None
    ) -> str:
        """Claude Code's permission prompt: files the tool call under the agent-tool-use
        policy, waits for a reviewer and answers {"behavior": "allow", "updatedInput": …} or
        {"behavior": "deny", "message": …}."""
        return _json(await decide_tool_use(cp, tool_name, input, tool_use_id, tool_wait, agent))

    return server


async def decide_tool_use(
    cp: AsyncCheckpoint,
    tool_name: str,
    tool_input: dict[str, Any],
    tool_use_id: str | None,
    tool_wait: float,
    agent: str,
) -> dict[str, Any]:
    """File, wait, answer. On time-out the request is withdrawn (cancelled) and the call
    denied; if a reviewer decided in that very moment, their decision wins."""
    shown = json.dumps(tool_input, ensure_ascii=False)
    title = f"{tool_name}: {shown}"
    try:
        filed = await cp.submit(
            policy=TOOL_POLICY,
            title=title if len(title) <= 300 else title[:299] + "…",
            payload={"tool_name": tool_name, "input": tool_input, "agent": agent},
            external_id=tool_use_id,
            idempotency_key=f"tool-use:{tool_use_id}" if tool_use_id else None,
        )
        if filed.is_final:
            return tool_use_answer(await cp.get(filed.id), tool_input)
        try:
            return tool_use_answer(await cp.wait(filed.id, timeout=tool_wait), tool_input)
        except TimeoutError:
            pass
        try:
            await cp.cancel(filed.id)
        except ProblemError as exc:
            if exc.status != 409:
                raise
            return tool_use_answer(await cp.get(filed.id), tool_input)
        return {
            "behavior": "deny",
            "message": f"No reviewer decided within {tool_wait:g} seconds, so the request "
            f"was withdrawn ({filed.review_url}). Ask again later or do something else.",
        }
    except ProblemError as exc:
        return {"behavior": "deny", "message": f"Checkpoint refused the request: {exc}"}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="checkpoint-mcp",
        description="Checkpoint as an MCP server on stdio. Tools: list_policies, "
        "request_approval, get_approval, approve_tool_use (for Claude Code's "
        "--permission-prompt-tool mcp__checkpoint__approve_tool_use).",
        epilog="Environment: CHECKPOINT_URL, CHECKPOINT_TOKEN, CHECKPOINT_TOOL_WAIT "
        f"(seconds, default {DEFAULT_TOOL_WAIT:g}), CHECKPOINT_AGENT (default claude-code).",
    )
    parser.add_argument("--url", default=os.environ.get("CHECKPOINT_URL"))
    parser.add_argument("--token", default=os.environ.get("CHECKPOINT_TOKEN"))
    parser.add_argument(
        "--tool-wait",
        type=float,
        default=float(os.environ.get("CHECKPOINT_TOOL_WAIT") or DEFAULT_TOOL_WAIT),
    )
    args = parser.parse_args(argv)
    if not args.url or not args.token:
        parser.error("set CHECKPOINT_URL and CHECKPOINT_TOKEN (or --url and --token)")
    cp = AsyncCheckpoint(args.url, args.token)
    agent = os.environ.get("CHECKPOINT_AGENT") or "claude-code"
    build_server(cp, tool_wait=args.tool_wait, agent=agent).run("stdio")
    sys.exit(0)


if __name__ == "__main__":
    main()
