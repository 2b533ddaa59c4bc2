"""Checkpoint and AsyncCheckpoint: one set of plans, two ways of doing the I/O.

Each operation is written once, as a generator (a "plan") that yields an `httpx.Request` to send
or a float of seconds to sleep, and returns the result. `Checkpoint` runs plans with a blocking
`httpx.Client` and `time.sleep`; `AsyncCheckpoint` with `httpx.AsyncClient` and
`asyncio.sleep`. So the polling, back-off, ETag and error rules cannot drift apart.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Generator
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import quote

import httpx

from checkpoint_client._errors import ProblemError
from checkpoint_client._models import ApprovalRequest, Policy

T = TypeVar("T")
Plan = Generator["httpx.Request | float", "httpx.Response | None", T]

USER_AGENT = "checkpoint-client/0.1"
# Answers that mean "try again later": wait honours their Retry-After and keeps polling.
RETRY_STATUSES = frozenset({429, 502, 503, 504})


class _Plans:
    """What each operation sends and how it reads the answer (no I/O here)."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        poll_interval: float = 1.0,
        max_poll_interval: float = 10.0,
        backoff: float = 2.0,
    ) -> None:
        if poll_interval <= 0 or max_poll_interval < poll_interval or backoff < 1:
            raise ValueError("need 0 < poll_interval <= max_poll_interval and backoff >= 1")
        self.base_url = base_url.rstrip("/")
        self.headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        }
        self.poll_interval = poll_interval
        self.max_poll_interval = max_poll_interval
        self.backoff = backoff
        # The last object seen per id with its ETag: an unchanged request answers 304.
        self._seen: dict[str, tuple[str, ApprovalRequest]] = {}

    def _request(
        self, method: str, path: str, *, json: Any = None, headers: dict[str, str] | None = None
    ) -> httpx.Request:
        return httpx.Request(
            method,
            f"{self.base_url}/api/v1{path}",
            json=json,
            headers={**self.headers, **(headers or {})},
        )

    @staticmethod
    def _ok(response: httpx.Response | None, *expected: int) -> httpx.Response:
        assert response is not None
        if response.status_code not in expected:
            raise ProblemError.from_response(response)
        return response

    def submit(
        self,
        *,
        policy: str,
        title: str,
        payload: dict[str, Any],
        summary: str | None = None,
        external_id: str | None = None,
        callback_url: str | None = None,
        requested_by: str | None = None,
        due_at: datetime | str | None = None,
        idempotency_key: str | None = None,
    ) -> Plan[ApprovalRequest]:
        body: dict[str, Any] = {"policy": policy, "title": title, "payload": payload}
        optional = {
            "summary": summary,
            "external_id": external_id,
            "callback_url": callback_url,
            "requested_by": requested_by,
            "due_at": due_at.isoformat() if isinstance(due_at, datetime) else due_at,
        }
        body.update({k: v for k, v in optional.items() if v is not None})
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        response = yield self._request("POST", "/requests", json=body, headers=headers)
        # 201 for a new request, 200 or 201 for an idempotent replay.
        return ApprovalRequest.from_json(self._ok(response, 200, 201).json())

    def get(self, request_id: str) -> Plan[ApprovalRequest]:
        path = f"/requests/{quote(str(request_id), safe='')}"
        seen = self._seen.get(str(request_id))
        headers = {"If-None-Match": seen[0]} if seen else {}
        response = yield self._request("GET", path, headers=headers)
        assert response is not None
        if response.status_code == 304 and seen:
            return seen[1]
        found = ApprovalRequest.from_json(self._ok(response, 200).json())
        etag = response.headers.get("ETag")
        if etag:
            self._seen[str(request_id)] = (etag, found)
        return found

    def cancel(self, request_id: str) -> Plan[ApprovalRequest]:
        path = f"/requests/{quote(str(request_id), safe='')}/cancel"
        response = yield self._request("POST", path)
        return ApprovalRequest.from_json(self._ok(response, 200).json())

    def policies(self) -> Plan[list[Policy]]:
        response = yield self._request("GET", "/policies")
        return [Policy.from_json(item) for item in self._ok(response, 200).json()["results"]]

    def wait(self, request_id: str, *, timeout: float) -> Plan[ApprovalRequest]:
        """Poll until the request is final; back off from poll_interval to max_poll_interval.

        Steps: GET (with the last ETag: unchanged costs the server one query); final: return
        it; a 429/5xx: sleep its Retry-After (or the current interval); else sleep the current
        interval, grown by `backoff` up to the maximum; never sleep past the deadline, and
        raise TimeoutError once it has passed.
        """
        deadline = time.monotonic() + max(float(timeout), 0.0)
        interval = self.poll_interval
        while True:
            pause = interval
            try:
                current = yield from self.get(request_id)
                if current.is_final:
                    return current
            except ProblemError as exc:
                if exc.status not in RETRY_STATUSES:
                    raise
                pause = exc.retry_after if exc.retry_after is not None else interval
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"request {request_id} is not decided after {timeout} s")
            yield min(pause, left)
            interval = min(interval * self.backoff, self.max_poll_interval)


class Checkpoint:
    """The blocking client: `Checkpoint(url, token=…)`; see docs/agents.md."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        poll_interval: float = 1.0,
        max_poll_interval: float = 10.0,
        backoff: float = 2.0,
        timeout: float = 30.0,
        http: httpx.Client | None = None,
    ) -> None:
        self._plans = _Plans(
            url,
            token,
            poll_interval=poll_interval,
            max_poll_interval=max_poll_interval,
            backoff=backoff,
        )
        self._http = http or httpx.Client(timeout=timeout, follow_redirects=False)

    def _run(self, plan: Plan[T]) -> T:
        answer: httpx.Response | None = None
        while True:
            try:
                step = plan.send(answer)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]
            if isinstance(step, httpx.Request):
                answer = self._http.send(step)
            else:
                time.sleep(step)
                answer = None

    def submit(
        self, *, policy: str, title: str, payload: dict[str, Any], **kwargs: Any
    ) -> ApprovalRequest:
        """POST /api/v1/requests. Keywords: summary, external_id, callback_url, requested_by,
        due_at, idempotency_key."""
        return self._run(self._plans.submit(policy=policy, title=title, payload=payload, **kwargs))

    def get(self, request_id: str) -> ApprovalRequest:
        return self._run(self._plans.get(request_id))

    def wait(self, request_id: str, *, timeout: float = 3600) -> ApprovalRequest:
        """The request once final; TimeoutError after `timeout` seconds."""
        return self._run(self._plans.wait(request_id, timeout=timeout))

    def cancel(self, request_id: str) -> ApprovalRequest:
        return self._run(self._plans.cancel(request_id))

    def policies(self) -> list[Policy]:
        return self._run(self._plans.policies())

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Checkpoint:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncCheckpoint:
    """The same as Checkpoint, with `await`."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        poll_interval: float = 1.0,
        max_poll_interval: float = 10.0,
        backoff: float = 2.0,
        timeout: float = 30.0,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self._plans = _Plans(
            url,
            token,
            poll_interval=poll_interval,
            max_poll_interval=max_poll_interval,
            backoff=backoff,
        )
        self._http = http or httpx.AsyncClient(timeout=timeout, follow_redirects=False)

    async def _run(self, plan: Plan[T]) -> T:
        answer: httpx.Response | None = None
        while True:
            try:
                step = plan.send(answer)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]
            if isinstance(step, httpx.Request):
                answer = await self._http.send(step)
            else:
                await asyncio.sleep(step)
                answer = None

    async def submit(
        self, *, policy: str, title: str, payload: dict[str, Any], **kwargs: Any
    ) -> ApprovalRequest:
        return await self._run(
            self._plans.submit(policy=policy, title=title, payload=payload, **kwargs)
        )

    async def get(self, request_id: str) -> ApprovalRequest:
        return await self._run(self._plans.get(request_id))

    async def wait(self, request_id: str, *, timeout: float = 3600) -> ApprovalRequest:
        return await self._run(self._plans.wait(request_id, timeout=timeout))

    async def cancel(self, request_id: str) -> ApprovalRequest:
        return await self._run(self._plans.cancel(request_id))

    async def policies(self) -> list[Policy]:
        return await self._run(self._plans.policies())

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncCheckpoint:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
