"""The load generator: a separate process that keeps N requests in flight and times each one.

    python -m bench.loadgen PLAN.json RESULT.json

The plan (written by bench/run.py) names the server, the concurrency, the warm-up and the
measured duration, and the requests: `cycle` repeats them, `once` uses each item exactly once
(decisions: one pending request each) and stops early when they run out. A body may hold
`{n}`, replaced by a counter, so every intake gets its own external id.

Steps: open an async client; start `concurrency` workers that each take the next item, send it,
read the whole answer and record (latency, status); results during the warm-up are dropped;
at the end write counts, requests/s and latency percentiles as JSON.

It runs in its own process and speaks HTTP/1.1 over plain asyncio streams, one connection per
request (gunicorn's sync workers close every connection anyway). An httpx client spent a whole
core to reach half the hello-world rate on this machine, so the floor would have been the
client's; this one needs about a third of a core for the same work, and whatever it costs it
costs the baseline and the figure alike.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.report import percentile

TIMEOUT_SECONDS = 30.0


class Plan:
    def __init__(self, raw: dict[str, Any]) -> None:
        self.base_url: str = raw["base_url"]
        parts = urlsplit(self.base_url)
        self.host: str = parts.hostname or "127.0.0.1"
        self.port: int = parts.port or 80
        self.concurrency: int = int(raw.get("concurrency", 8))
        self.warmup: float = float(raw.get("warmup", 2.0))
        self.duration: float = float(raw.get("duration", 10.0))
        self.mode: str = raw.get("mode", "cycle")
        self.items: list[dict[str, Any]] = raw["items"]
        self.expect: set[int] = set(raw.get("expect", [200]))
        self.headers: dict[str, str] = raw.get("headers", {})
        if not self.items:
            raise SystemExit("loadgen: the plan has no requests")


def encode_request(plan: Plan, item: dict[str, Any], body: str | None) -> bytes:
    headers = {"Host": f"{plan.host}:{plan.port}", "Connection": "close", **plan.headers}
    headers.update(item.get("headers") or {})
    payload = body.encode() if body is not None else b""
    if body is not None:
        headers["Content-Length"] = str(len(payload))
    head = f"{item.get('method', 'GET')} {item['path']} HTTP/1.1\r\n" + "".join(
        f"{name}: {value}\r\n" for name, value in headers.items()
    )
    return head.encode("latin-1") + b"\r\n" + payload


async def exchange(host: str, port: int, raw: bytes) -> tuple[int, str]:
    """Send one request and read the answer to the end; (status, body text)."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(raw)
        answer = await reader.read()  # the server closes the connection after the response
    finally:
        writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line = head.split(b"\r\n", 1)[0].split()
    if len(status_line) < 2 or not status_line[1].isdigit():
        raise ValueError(f"not an HTTP response: {answer[:80]!r}")
    return int(status_line[1]), body.decode("utf-8", "replace")


async def run_plan(plan: Plan) -> dict[str, Any]:
    """Drive the server as the module docstring describes; returns the summary."""
    source = itertools.cycle(plan.items) if plan.mode == "cycle" else iter(plan.items)
    counter = itertools.count(1)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors: list[str] = []
    start = time.perf_counter()
    measure_from = start + plan.warmup
    stop_at = measure_from + plan.duration
    measured_start: float | None = None
    measured_end = start
    exhausted = False

    async def worker() -> None:
        nonlocal measured_start, measured_end, exhausted
        while True:
            if time.perf_counter() >= stop_at:
                return
            try:
                item = next(source)
            except StopIteration:
                exhausted = True
                return
            body = item.get("body")
            if body is not None and "{n}" in body:
                body = body.replace("{n}", str(next(counter)))
            raw = encode_request(plan, item, body)
            sent = time.perf_counter()
            try:
                status, text = await asyncio.wait_for(
                    exchange(plan.host, plan.port, raw), TIMEOUT_SECONDS
                )
            except (TimeoutError, OSError, ValueError) as exc:
                status, text = 0, f"{type(exc).__name__}: {exc}"
            done = time.perf_counter()
            if sent < measure_from:
                continue  # warm-up: connections, caches, first calls
            if measured_start is None:
                measured_start = sent
            measured_end = max(measured_end, done)
            latencies.append(done - sent)
            statuses[status] = statuses.get(status, 0) + 1
            if status not in plan.expect and len(errors) < 5:
                errors.append(f"{status} {item['path']}: {text[:300]}")

    await asyncio.gather(*(worker() for _ in range(plan.concurrency)))

    elapsed = measured_end - (measured_start or measured_end)
    ok = sum(count for status, count in statuses.items() if status in plan.expect)
    total = sum(statuses.values())
    ordered = sorted(latencies)
    return {
        "requests": total,
        "ok": ok,
        "failed": total - ok,
        "seconds": elapsed,
        "rps": ok / elapsed if elapsed > 0 else 0.0,
        "p50_ms": percentile(ordered, 50) * 1000 if ordered else None,
        "p95_ms": percentile(ordered, 95) * 1000 if ordered else None,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "errors": errors,
        "exhausted": exhausted,
        "concurrency": plan.concurrency,
    }


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: python -m bench.loadgen PLAN.json RESULT.json", file=sys.stderr)
        return 2
    plan = Plan(json.loads(Path(argv[1]).read_text()))
    result = asyncio.run(run_plan(plan))
    Path(argv[2]).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
