"""checkpoint-client against a live server (real HTTP): submit, a supervisor decides in the
inbox meanwhile, wait returns the decision (docs/agents.md). Sync and async alike.

The reviewer only speaks HTTP (tests/fixtures/agents.py), so it may act from a thread or a task
while the client polls; every database write happens in the live server's thread.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from checkpoint_client import (
    AsyncCheckpoint,
    Checkpoint,
    ProblemError,
    WebhookVerificationError,
    verify_webhook,
)

from approvals.models import Policy
from tests.fixtures.agents import InboxReviewer, run_async
from tests.fixtures.receiver import Receiver

FAST: dict[str, Any] = {"poll_interval": 0.1, "max_poll_interval": 0.3}
BASH = {"tool_name": "Bash", "input": {"command": "make test"}, "agent": "script"}


def later(action: Callable[[], Any], delay: float = 0.4) -> threading.Thread:
    """Run `action` in a thread after `delay` seconds (the reviewer deciding meanwhile)."""

    def run() -> None:
        time.sleep(delay)
        action()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


@pytest.fixture
def cp(checkpoint_url: str, caller_token: str, agent_policy: Policy) -> Checkpoint:
    return Checkpoint(checkpoint_url, caller_token, **FAST)


@pytest.fixture
def sam(inbox_as: Callable[[Any], InboxReviewer], supervisor: Any) -> InboxReviewer:
    return inbox_as(supervisor)


def test_wait_returns_the_decision_a_reviewer_makes_in_the_inbox_meanwhile(
    cp: Checkpoint, sam: InboxReviewer
) -> None:
    req = cp.submit(
        policy="agent-tool-use",
        title="Run the tests",
        payload=BASH,
        external_id="call-1",
        idempotency_key="call-1",
    )
    assert (req.status, req.route) == ("pending", "human") and req.decision is None
    decided = later(lambda: sam.decide(req.id, "reject", comment="Not on main, please."))

    done = cp.wait(req.id, timeout=30)

    decided.join()
    assert done.status == "rejected"
    assert done.decision is not None
    assert (done.decision.outcome, done.decision.comment) == ("reject", "Not on main, please.")
    assert (done.decision.decided_by, done.decision.channel) == ("sam", "web")
    assert done.payload == BASH and done.escalated is False


def test_approved_with_edits_the_payload_carries_the_edit(
    cp: Checkpoint, sam: InboxReviewer
) -> None:
    req = cp.submit(policy="agent-tool-use", title="Run", payload=BASH)
    sam.decide(req.id, "approve-edited", **{"edit:input": '{"command": "make test -k fast"}'})

    done = cp.wait(req.id, timeout=10)

    assert done.status == "approved" and done.decision.option == "approve-edited"  # type: ignore[union-attr]
    assert done.payload["input"] == {"command": "make test -k fast"}  # type: ignore[index]


def test_a_read_only_tool_is_approved_at_once(cp: Checkpoint) -> None:
    req = cp.submit(
        policy="agent-tool-use", title="Read", payload={"tool_name": "Read", "input": {}}
    )
    assert (req.status, req.route) == ("approved", "auto")
    assert req.decision is not None and req.decision.decided_by == "policy"


def test_wait_raises_timeout_error_on_time(cp: Checkpoint) -> None:
    req = cp.submit(policy="agent-tool-use", title="Run", payload=BASH)
    with pytest.raises(TimeoutError, match=req.id):
        cp.wait(req.id, timeout=0.5)


def test_an_unchanged_request_comes_back_as_a_304(
    checkpoint_url: str, caller_token: str, agent_policy: Policy
) -> None:
    statuses: list[int] = []
    http = httpx.Client(event_hooks={"response": [lambda r: statuses.append(r.status_code)]})
    with Checkpoint(checkpoint_url, caller_token, http=http) as cp:
        req = cp.submit(policy="agent-tool-use", title="Run", payload=BASH)
        first = cp.get(req.id)
        second = cp.get(req.id)

    assert statuses == [201, 200, 304]
    assert second == first and second.status == "pending"


def test_a_422_is_a_problem_error_with_the_field_paths(cp: Checkpoint) -> None:
    with pytest.raises(ProblemError) as caught:
        cp.submit(policy="agent-tool-use", title="Run", payload={"input": {}})
    assert caught.value.status == 422
    assert caught.value.fields == ["payload.tool_name"]

    with pytest.raises(ProblemError) as unknown:
        cp.submit(policy="no-such-policy", title="Run", payload={})
    assert unknown.value.fields == ["policy"] and unknown.value.detail


def test_a_bad_token_is_a_401_problem(checkpoint_url: str, agent_policy: Policy) -> None:
    with pytest.raises(ProblemError) as caught:
        Checkpoint(checkpoint_url, "cpk_wrong").policies()
    assert caught.value.status == 401


def test_cancel_and_policies(cp: Checkpoint) -> None:
    req = cp.submit(policy="agent-tool-use", title="Run", payload=BASH)
    assert cp.cancel(req.id).status == "cancelled"
    with pytest.raises(ProblemError) as again:
        cp.cancel(req.id)
    assert again.value.status == 409

    policies = {p.slug: p for p in cp.policies()}
    tool_use = policies["agent-tool-use"]
    assert [o.label for o in tool_use.options] == [
        "Approve",
        "Approve with edits",
        "Reject",
        "Approve and remember",
    ]
    assert (
        tool_use.payload_schema is not None and "tool_name" in tool_use.payload_schema["required"]
    )


def test_verify_webhook_accepts_a_real_callback_and_rejects_a_tampered_one(
    cp: Checkpoint, sam: InboxReviewer, receiver: Receiver, agent_policy: Policy
) -> None:
    req = cp.submit(policy="agent-tool-use", title="Run", payload=BASH, callback_url=receiver.url)
    sam.decide(req.id, "approve")
    [callback] = receiver.wait_for(1, timeout=10)

    event = verify_webhook(agent_policy.signing_secret, callback.headers, callback.body)

    assert event["type"] == "request.decided" and event["data"]["id"] == req.id
    assert event["data"]["status"] == "approved"
    tampered = callback.body.replace(b'"approved"', b'"rejected"')
    with pytest.raises(WebhookVerificationError):
        verify_webhook(agent_policy.signing_secret, callback.headers, tampered)
    with pytest.raises(WebhookVerificationError):
        verify_webhook(agent_policy.signing_secret, {}, callback.body)


def test_the_async_client_does_the_same(
    checkpoint_url: str, caller_token: str, agent_policy: Policy, sam: InboxReviewer
) -> None:
    async def scenario() -> None:
        async with AsyncCheckpoint(checkpoint_url, caller_token, **FAST) as acp:
            req = await acp.submit(policy="agent-tool-use", title="Run", payload=BASH)

            async def reviewer() -> None:
                await asyncio.sleep(0.4)
                await sam.adecide(req.id, "approve", comment="fine")

            done, _ = await asyncio.gather(acp.wait(req.id, timeout=30), reviewer())
            assert done.status == "approved" and done.decision is not None
            assert done.decision.comment == "fine"

            again = await acp.submit(policy="agent-tool-use", title="Run", payload=BASH)
            with pytest.raises(TimeoutError):
                await acp.wait(again.id, timeout=0.3)
            with pytest.raises(ProblemError) as caught:
                await acp.submit(policy="agent-tool-use", title="", payload=BASH)
            assert caught.value.fields == ["title"]
            assert [p.slug for p in await acp.policies()] == ["agent-tool-use"]
            assert (await acp.cancel(again.id)).status == "cancelled"

    run_async(scenario())
