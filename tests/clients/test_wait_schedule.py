"""The client's polling schedule, by driving its sans-I/O wait plan with answers we choose:
1 s growing to 10 s, Retry-After honoured, never sleeping past the deadline, ETag sent back.

No network and nothing mocked: the plan yields the request it would send or the seconds it
would sleep; these tests answer with real `httpx.Response` objects.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from checkpoint_client._client import _Plans

PENDING = {"id": "r1", "status": "pending", "route": "human", "policy": {"slug": "p", "version": 1}}
DONE = {**PENDING, "status": "approved"}


def answer(status: int, body: Any = None, **headers: str) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


def drive(
    plans: _Plans, answers: list[httpx.Response], timeout: float = 1e6
) -> tuple[list[float], list[httpx.Request], Any]:
    """Run plans.wait, answering each request in turn; returns sleeps, requests and the result."""
    sleeps: list[float] = []
    sent: list[httpx.Request] = []
    plan = plans.wait("r1", timeout=timeout)
    reply: httpx.Response | None = None
    try:
        while True:
            step = plan.send(reply)
            if isinstance(step, httpx.Request):
                sent.append(step)
                reply = answers.pop(0)
            else:
                sleeps.append(step)
                reply = None
    except StopIteration as done:
        return sleeps, sent, done.value


def test_it_backs_off_from_one_to_ten_seconds() -> None:
    plans = _Plans("http://cp.test", "t")
    sleeps, _, result = drive(plans, [answer(200, PENDING)] * 7 + [answer(200, DONE)])
    assert sleeps == [1, 2, 4, 8, 10, 10, 10]
    assert result.status == "approved"


def test_the_schedule_is_configurable() -> None:
    plans = _Plans("http://cp.test", "t", poll_interval=0.5, max_poll_interval=2, backoff=1.5)
    sleeps, _, _ = drive(plans, [answer(200, PENDING)] * 5 + [answer(200, DONE)])
    assert sleeps == [0.5, 0.75, 1.125, 1.6875, 2]


def test_retry_after_is_honoured_on_429_and_503() -> None:
    plans = _Plans("http://cp.test", "t")
    sleeps, _, result = drive(
        plans,
        [
            answer(429, {"status": 429}, **{"Retry-After": "7"}),
            answer(503, {}, **{"Retry-After": "3"}),
            answer(200, DONE),
        ],
    )
    assert sleeps == [7, 3] and result.status == "approved"


def test_the_etag_is_sent_back_and_a_304_reuses_the_last_object() -> None:
    plans = _Plans("http://cp.test", "t")
    sleeps, sent, result = drive(
        plans, [answer(200, PENDING, ETag='"e1"'), answer(304), answer(304), answer(200, DONE)]
    )
    assert result.status == "approved"
    assert [r.headers.get("If-None-Match") for r in sent] == [None, '"e1"', '"e1"', '"e1"']
    assert sent[0].headers["Authorization"] == "Bearer t" and len(sleeps) == 3


def test_it_never_sleeps_past_the_deadline_and_then_raises() -> None:
    plans = _Plans("http://cp.test", "t")
    with pytest.raises(TimeoutError):
        drive(plans, [answer(200, PENDING)] * 3, timeout=0)


def test_other_errors_are_raised_at_once() -> None:
    from checkpoint_client import ProblemError

    plans = _Plans("http://cp.test", "t")
    with pytest.raises(ProblemError) as caught:
        drive(
            plans,
            [
                answer(
                    404,
                    {
                        "status": 404,
                        "title": "Not Found",
                        "detail": "no such request",
                        "errors": [],
                    },
                )
            ],
        )
    assert caught.value.status == 404 and caught.value.detail == "no such request"


@pytest.mark.parametrize(
    "bad", [{"poll_interval": 0}, {"poll_interval": 5, "max_poll_interval": 1}, {"backoff": 0.5}]
)
def test_a_nonsense_schedule_is_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        _Plans("http://cp.test", "t", **bad)
