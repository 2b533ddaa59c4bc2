"""`make bench`: measure the hot paths against their floors in one run and write BENCHMARKS.md.

    .venv/bin/python bench/run.py            # quick mode (under 5 minutes; smaller sweep/CSV sizes)
    .venv/bin/python bench/run.py --full     # full mode: the sizes of issue 8 (1,000,000 rows)
    make bench  /  make bench FULL=1

Needs PostgreSQL (BENCH_DATABASE_URL, else DATABASE_URL's server, else
postgres://postgres@127.0.0.1:5432; the database is `BENCH_DB_NAME`, else DATABASE_URL's
name + `_bench`, else `checkpoint_bench`, created and dropped here) and, for the delivery lag, Redis (BENCH_REDIS_URL, default
redis://127.0.0.1:6379/9; its db is flushed).

Steps:
1. create the benchmark database, migrate, collectstatic (the production static storage);
2. seed: the refund-approval playbook, 50 reviewers with sessions, an API token, and the
   open requests of the inbox (generate_series, seconds for 100,000 rows);
3. serve the app with gunicorn as in production (DEBUG off, sync workers, 2 per core) and drive
   it from a separate load-generator process: hello-world, intake, the signed-in hello-world,
   inbox, decide, hello-world again (the baseline is the mean of the two hello-world runs, so
   drift shows);
4. count the inbox's queries per page in-process (CaptureQueriesContext);
5. delivery lag: a Celery worker on Redis and a local Standard-Webhooks receiver;
6. SLA sweep at two table sizes with the same 1,000 due; CSV export at two sizes against
   PostgreSQL's COPY, with the peak RSS of each export process;
7. write the table between the markers of BENCHMARKS.md; drop the database.

A figure whose endpoint or module does not exist yet, or that fails, is listed under "Not
measured" with the reason; nothing in the table is typed in by hand.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import platform
import re
import secrets
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.report import (  # noqa: E402
    Figure,
    Report,
    Target,
    fmt_mb,
    fmt_ms,
    fmt_rate,
    fmt_seconds,
    percentile,
    ratio,
    write_benchmarks,
)

OUT = ROOT / "bench" / "out"
VENV_BIN = Path(sys.executable).parent
DEFAULT_DB_NAME = "checkpoint_bench"
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS = "redis://127.0.0.1:6379/9"

HELLO_PATH = "/bench/hello"
SIGNED_IN_PATH = "/bench/signed-in"  # hello-world behind login_required (bench/urls.py)
DURABLE_PATH = "/bench/durable"
SCALING = (2, 16)  # connections: throughput should grow between them (a lock stays flat)
INTAKE_PATH = "/api/v1/requests"
INBOX_PATH = "/inbox/"
DECIDE_PATH = "/inbox/{id}/decide"
LAG_WARMUP = 4


@dataclass(frozen=True)
class Sizes:
    mode: str
    warmup: float
    duration: float
    reviewers: int
    inbox_open: int
    decide_targets: int
    sweep_small: int
    sweep_large: int
    sweep_due: int
    csv_small: int
    csv_large: int
    lag_count: int
    lag_interval: float


QUICK = Sizes(
    mode="quick",
    warmup=2.0,
    duration=10.0,
    reviewers=50,
    inbox_open=100_000,
    decide_targets=6_000,
    sweep_small=10_000,
    sweep_large=100_000,
    sweep_due=1_000,
    csv_small=10_000,
    csv_large=100_000,
    lag_count=40,
    lag_interval=0.1,
)
FULL = Sizes(
    mode="full",
    warmup=5.0,
    duration=30.0,
    reviewers=50,
    inbox_open=100_000,
    decide_targets=20_000,
    sweep_small=10_000,
    sweep_large=1_000_000,
    sweep_due=1_000,
    csv_small=100_000,
    csv_large=1_000_000,
    lag_count=200,
    lag_interval=0.1,
)

# For working on the harness itself: every phase runs, in seconds, and its figures mean nothing.
TINY = Sizes(
    mode="tiny (harness development only; figures meaningless)",
    warmup=0.5,
    duration=2.0,
    reviewers=50,
    inbox_open=2_000,
    decide_targets=1_500,
    sweep_small=1_000,
    sweep_large=5_000,
    sweep_due=100,
    csv_small=1_000,
    csv_large=5_000,
    lag_count=5,
    lag_interval=0.1,
)


class Skip(Exception):
    """A figure that cannot be measured in this run; the message says why."""


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- environment ----------------------------------------------------------------------------------


def bench_db_name(source_url: str | None) -> str:
    """`BENCH_DB_NAME`, else `<DATABASE_URL's name>_bench`, else checkpoint_bench.

    Derived from the developer's own database, so two checkouts benchmarking on one server
    never create, use or drop each other's database.
    """
    explicit = os.environ.get("BENCH_DB_NAME", "").strip()
    name = explicit
    if not name and source_url:
        parts = urlsplit(source_url)
        base = parts.path.lstrip("/")
        if parts.scheme.startswith("postgres") and base and base != "postgres":
            name = base if "bench" in base else f"{base}_bench"
    name = name or DEFAULT_DB_NAME
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name) or "bench" not in name:
        raise SystemExit(
            f"bench database name {name!r}: use lower-case letters, digits and _, with 'bench' in it"
        )
    return name


def database_urls() -> tuple[str, str, str]:
    """(maintenance URL, benchmark URL, its name) on the chosen server; the database is ours alone."""
    source = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("DATABASE_URL")
    parts = urlsplit(source or DEFAULT_PG)
    if not parts.scheme.startswith("postgres"):
        parts, source = urlsplit(DEFAULT_PG), None
    name = bench_db_name(source)
    maintenance = urlunsplit((parts.scheme, parts.netloc, "/postgres", "", ""))
    bench = urlunsplit((parts.scheme, parts.netloc, f"/{name}", "", ""))
    return maintenance, bench, name


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def redis_ok(url: str) -> bool:
    try:
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=2)
        client.ping()
        return True
    except Exception:
        return False


def redis_flush(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()


def bench_env(*, db_url: str, broker_url: str, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_VERSION"}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "PYTHONPATH": str(ROOT),
            "DATABASE_URL": db_url,
            # Production as the README describes it, minus TLS (plain HTTP on loopback).
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(50),
            # 32 random url-safe base64 bytes: a Fernet key (docs/security.md).
            "FIELD_ENCRYPTION_KEYS": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
            "ALLOWED_HOSTS": "127.0.0.1",
            "SITE_URL": f"http://127.0.0.1:{port}",
            "CSRF_TRUSTED_ORIGINS": f"http://127.0.0.1:{port}",
            "SECURE_SSL_REDIRECT": "0",
            "SESSION_COOKIE_SECURE": "0",
            "CSRF_COOKIE_SECURE": "0",
            "SECURE_HSTS_SECONDS": "0",
            "CELERY_BROKER_URL": broker_url,
            # Production keeps rate limits and the sealer's kick window in Redis; without Redis
            # the default file cache stands in.
            **({"CACHE_URL": broker_url} if broker_url.startswith("redis") else {}),
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "CALLBACK_ALLOW_PRIVATE_NETWORKS": "1",  # the receiver is on 127.0.0.1
            "EMAIL_URL": "dummymail://",
            "LOG_LEVEL": "WARNING",
            "API_RATE_LIMIT": "1000000/m",  # the benchmark is one caller sending thousands
            "BENCH_OUT_DIR": str(OUT),
        }
    )
    return env


def machine_info(maintenance_url: str, broker_url: str | None) -> dict[str, str]:
    import psycopg

    with psycopg.connect(maintenance_url, autocommit=True) as conn:
        row = conn.execute("SHOW server_version").fetchone()
        pg_version = str(row[0]) if row else "?"
    cpu = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = "?"
    with contextlib.suppress(OSError, ValueError, IndexError):
        kib = int(Path("/proc/meminfo").read_text().split("\n")[0].split()[1])
        memory = f"{kib / 1024 / 1024:.1f} GiB"
    info = {
        "cores": str(os.cpu_count()),
        "CPU": cpu,
        "memory": memory,
        "OS": platform.platform(terse=True),
        "Python": platform.python_version(),
        "PostgreSQL": pg_version,
    }
    if broker_url:
        with contextlib.suppress(Exception):
            import redis

            info["Redis"] = str(redis.Redis.from_url(broker_url).info("server")["redis_version"])
    return info


# --- processes -----------------------------------------------------------------------------------


def run_step(
    env: dict[str, str], name: str, args: dict[str, Any] | None = None, timeout: float = 1800
) -> Any:
    """Run `python -m bench.steps NAME ARGS` and return the JSON on its last line of stdout."""
    proc = subprocess.run(
        [sys.executable, "-m", "bench.steps", name, json.dumps(args or {})],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise Skip(f"step {name} failed: {tail[0][:300]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def stop(proc: subprocess.Popen[bytes], grace: float = 20.0) -> None:
    """SIGTERM the process group, wait, then SIGKILL whatever is left of it."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=grace)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


@contextlib.contextmanager
def gunicorn(env: dict[str, str], port: int, workers: int) -> Iterator[str]:
    log_file = (OUT / "gunicorn.log").open("wb")
    proc = subprocess.Popen(
        [
            str(VENV_BIN / "gunicorn"),
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--worker-class",
            "sync",
            "--log-level",
            "warning",
            # Import the app once, before forking: four workers importing Django at once on a
            # busy 2-core machine outlive gunicorn's 30 s boot timeout and are killed.
            "--preload",
            "--timeout",
            "120",
        ],
        cwd=ROOT,
        env=env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = (
            time.monotonic() + 180
        )  # a busy shared machine can take a minute to import Django
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited; see {OUT / 'gunicorn.log'}")
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(base_url + HELLO_PATH, timeout=2) as response,
            ):
                if response.status == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not answer within 180 s")
            time.sleep(0.3)
        yield base_url
    finally:
        stop(proc)
        log_file.close()


@contextlib.contextmanager
def celery_worker(env: dict[str, str]) -> Iterator[None]:
    log_path = OUT / "celery.log"
    log_file = log_path.open("wb")
    proc = subprocess.Popen(
        [str(VENV_BIN / "celery"), "-A", "config", "worker", "-l", "info", "--concurrency", "2"],
        cwd=ROOT,
        env={**env, "LOG_LEVEL": "INFO"},
        stdout=log_file,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while b" ready." not in log_path.read_bytes():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise Skip(f"the Celery worker did not start; see {log_path}")
            time.sleep(0.3)
        yield
    finally:
        stop(proc)
        log_file.close()


class Receiver:
    """The caller's webhook endpoint: verifies the signature, notes when each callback arrived."""

    def __init__(self, secret: str) -> None:
        from standardwebhooks import Webhook

        self.arrivals: dict[str, float] = {}
        self.unverified = 0
        webhook = Webhook(secret)
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                at = time.time()
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                try:
                    payload = webhook.verify(body, {k.lower(): v for k, v in self.headers.items()})
                    owner.arrivals.setdefault(payload["data"]["id"], at)
                except Exception:
                    owner.unverified += 1
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- HTTP figures ----------------------------------------------------------------------------------


def load(
    base_url: str, sizes: Sizes, concurrency: int, name: str, plan: dict[str, Any]
) -> dict[str, Any]:
    """Run the load generator in its own process on `plan`; its summary."""
    plan = {
        "base_url": base_url,
        "concurrency": concurrency,
        "warmup": sizes.warmup,
        "duration": sizes.duration,
        **plan,
    }
    plan_path, result_path = OUT / f"plan-{name}.json", OUT / f"result-{name}.json"
    plan_path.write_text(json.dumps(plan))
    subprocess.run(
        [sys.executable, "-m", "bench.loadgen", str(plan_path), str(result_path)],
        cwd=ROOT,
        check=True,
        timeout=sizes.warmup + sizes.duration + 120,
    )
    result: dict[str, Any] = json.loads(result_path.read_text())
    log(
        f"{name}: {result['rps']:.0f} ok/s, p50 {result['p50_ms'] or 0:.1f} ms, "
        f"p95 {result['p95_ms'] or 0:.1f} ms, statuses {result['statuses']}"
    )
    if result["ok"] == 0 or result["failed"] > 0.01 * result["requests"]:
        raise Skip(
            f"{name}: {result['failed']} of {result['requests']} failed: {result['errors'][:2]}"
        )
    return result


def probe(
    base_url: str,
    method: str,
    path: str,
    expect: int,
    headers: dict[str, str],
    body: bytes | None = None,
) -> None:
    """One request before a figure: a missing endpoint becomes a clear Skip, not a slow failure."""
    request = urllib.request.Request(base_url + path, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    if status != expect:
        raise Skip(
            f"{method} {path} answered {status} (expected {expect}): not built yet, or broken"
        )


def intake_plan(base: dict[str, Any]) -> dict[str, Any]:
    body = json.dumps(
        {
            "policy": base["policy"],
            "external_id": "bench-intake-{n}",
            "title": "Refund for order #{n}",
            "summary": "Customer reports a damaged item.",
            # amount >= 50: the refund-approval playbook routes it to a person (human route).
            "payload": {
                "amount": 120.0,
                "currency": "USD",
                "customer": "acme",
                "order_id": "ord-{n}",
            },
            "requested_by": "zendesk",
        }
    )
    headers = {"Authorization": f"Bearer {base['token']}", "Content-Type": "application/json"}
    return {
        "items": [{"method": "POST", "path": INTAKE_PATH, "headers": headers, "body": body}],
        "expect": [201],
    }


def session_headers(session: str, csrf: str = "") -> dict[str, str]:
    cookie = f"sessionid={session}"
    headers = {}
    if csrf:
        cookie += f"; csrftoken={csrf}"
        headers["X-CSRFToken"] = csrf
    return {"Cookie": cookie, **headers}


def inbox_plan(base: dict[str, Any], path: str = INBOX_PATH) -> dict[str, Any]:
    items = [{"path": path, "headers": session_headers(s)} for s in base["sessions"]]
    return {"items": items, "expect": [200]}


def decide_plan(base: dict[str, Any], targets: list[list[Any]]) -> dict[str, Any]:
    # A CSRF secret of 32 characters is a valid unmasked token for cookie and header alike.
    csrf = secrets.token_hex(16)
    items = [
        {
            "method": "POST",
            "path": DECIDE_PATH.format(id=approval_id),
            "headers": {
                **session_headers(base["sessions"][index], csrf),
                "Content-Type": "application/x-www-form-urlencoded",
                "HX-Request": "true",
            },
            "body": "option=approve&comment=ok",
        }
        for index, approval_id in targets
    ]
    return {"items": items, "mode": "once", "expect": [200]}


# --- the run --------------------------------------------------------------------------------------


def create_database(maintenance_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(maintenance_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")


def drop_database(maintenance_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(maintenance_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


class Run:
    """Collects figures and the reasons for the ones that could not be measured."""

    def __init__(self, sizes: Sizes) -> None:
        self.sizes = sizes
        self.figures: list[Figure] = []
        self.skipped: list[str] = []
        self.notes: list[str] = []

    @contextlib.contextmanager
    def figure(self, name: str) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        except Skip as exc:
            log(f"{name}: not measured: {exc}")
            self.skipped.append(f"{name}: {exc}")
        except Exception as exc:  # one broken figure must not lose the others
            log(f"{name}: failed: {type(exc).__name__}: {exc}")
            self.skipped.append(f"{name}: failed with {type(exc).__name__}: {str(exc)[:300]}")
        else:
            log(f"{name}: done in {time.monotonic() - started:.1f} s")


def durable_plan() -> dict[str, Any]:
    body = json.dumps(
        {
            "external_id": "bench-durable-{n}",
            "title": "Refund for order #{n}",
            "payload": {"amount": 120.0, "currency": "USD", "customer": "acme", "order_id": "{n}"},
        }
    )
    headers = {"Content-Type": "application/json"}
    return {
        "items": [{"method": "POST", "path": DURABLE_PATH, "headers": headers, "body": body}],
        "expect": [201],
    }


class SealingLag:
    """Samples how long committed audit entries wait to be sealed, while intake runs.

    The sealer (docs/architecture.md) leaves an entry's `seq` empty until it chains it. With a
    `sealed_at` column the lag is exact per entry (its `sealed_at - at`); without one, the age
    of the oldest unsealed entry is sampled every SAMPLE seconds (an upper bound of the lag of
    every entry waiting then). When every entry is chained inside its own transaction (no
    sealer, `seq` NOT NULL) there is nothing to measure: `mode` is "n/a".
    """

    SAMPLE = 0.25

    def __init__(self, db_url: str) -> None:
        import psycopg

        self.db_url = db_url
        with psycopg.connect(db_url, autocommit=True) as conn:
            columns: dict[str, str] = dict(
                conn.execute(
                    "SELECT column_name, is_nullable FROM information_schema.columns"
                    " WHERE table_name = 'approvals_auditentry'"
                ).fetchall()
            )
        if "sealed_at" in columns:
            self.mode = "sealed_at"
        elif columns.get("seq") == "YES":
            self.mode = "sampled"
        else:
            self.mode = "n/a"
        self.samples: list[float] = []
        self.started = datetime.now(UTC)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        import psycopg

        with psycopg.connect(self.db_url, autocommit=True) as conn:
            while not self._stop.wait(self.SAMPLE):
                row = conn.execute(
                    "SELECT coalesce(extract(epoch FROM clock_timestamp() - min(at)), 0)::float8"
                    " FROM approvals_auditentry WHERE seq IS NULL"
                ).fetchone()
                self.samples.append(float(row[0]) if row else 0.0)

    def __enter__(self) -> SealingLag:
        self.started = datetime.now(UTC)
        if self.mode == "sampled":
            self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def lags(self) -> list[float]:
        """Seconds, sorted: per sealed entry ("sealed_at") or per sample ("sampled")."""
        if self.mode == "sealed_at":
            import psycopg

            deadline = time.monotonic() + 30  # let the sealer catch up with the last entries
            with psycopg.connect(self.db_url, autocommit=True) as conn:
                while time.monotonic() < deadline:
                    row = conn.execute(
                        "SELECT count(*) FROM approvals_auditentry WHERE at >= %s AND sealed_at IS NULL",
                        [self.started],
                    ).fetchone()
                    if not row or row[0] == 0:
                        break
                    time.sleep(0.5)
                rows = conn.execute(
                    "SELECT extract(epoch FROM sealed_at - at)::float8 FROM approvals_auditentry"
                    " WHERE at >= %s AND sealed_at IS NOT NULL",
                    [self.started],
                ).fetchall()
            return sorted(float(r[0]) for r in rows)
        return sorted(self.samples)


def http_figures(
    run: Run, env: dict[str, str], base: dict[str, Any], port: int, workers: int
) -> None:
    sizes = run.sizes
    concurrency = 2 * workers
    lag: SealingLag | None = None
    with gunicorn(env, port, workers) as base_url:
        hello_runs = [
            load(base_url, sizes, concurrency, "hello-1", {"items": [{"path": HELLO_PATH}]})
        ]
        results: dict[str, dict[str, Any]] = {}
        with run.figure("durable write"):
            plan = durable_plan()
            first = plan["items"][0]
            body = first["body"].replace("{n}", "probe").encode()
            probe(base_url, "POST", DURABLE_PATH, 201, first["headers"], body)
            results["durable"] = load(base_url, sizes, concurrency, "durable", plan)
        with run.figure("intake"):
            headers = intake_plan(base)["items"][0]["headers"]
            probe_body = intake_plan(base)["items"][0]["body"].replace("{n}", "probe").encode()
            probe(base_url, "POST", INTAKE_PATH, 201, headers, probe_body)
            # As in production, a Celery worker runs beside the web processes: it seals the
            # audit entries (one kick per window) and sends the notices. Without a broker the
            # sealing lag is only the age of what waits.
            worker = (
                celery_worker(env)
                if env["CELERY_BROKER_URL"].startswith("redis")
                else contextlib.nullcontext()
            )
            with worker, SealingLag(env["DATABASE_URL"]) as lag:
                results["intake"] = load(base_url, sizes, concurrency, "intake", intake_plan(base))
        with run.figure("intake scaling"):
            for connections in SCALING:
                plan = intake_plan(base)
                plan["items"][0]["body"] = plan["items"][0]["body"].replace(
                    "bench-intake-{n}", f"bench-intake-c{connections}-{{n}}"
                )
                results[f"intake-{connections}"] = load(
                    base_url, sizes, connections, f"intake-c{connections}", plan
                )
            # The same two loads on the durable write: how much this machine lets any write
            # grow from 2 to 16 connections (on 2 cores, 2 busy requests fill the CPU).
            for connections in SCALING:
                results[f"durable-{connections}"] = load(
                    base_url, sizes, connections, f"durable-c{connections}", durable_plan()
                )
        with run.figure("signed-in hello"):
            probe(base_url, "GET", SIGNED_IN_PATH, 200, session_headers(base["sessions"][0]))
            results["signed-in"] = load(
                base_url, sizes, concurrency, "signed-in", inbox_plan(base, SIGNED_IN_PATH)
            )
        with run.figure("inbox"):
            probe(base_url, "GET", INBOX_PATH, 200, session_headers(base["sessions"][0]))
            results["inbox"] = load(base_url, sizes, concurrency, "inbox", inbox_plan(base))
        with run.figure("decide"):
            targets = run_step(env, "decide_targets", {"count": sizes.decide_targets})["targets"]
            plan = decide_plan(base, targets[1:])
            first = decide_plan(base, targets[:1])["items"][0]
            probe(base_url, "POST", first["path"], 200, first["headers"], first["body"].encode())
            results["decide"] = load(base_url, sizes, concurrency, "decide", plan)
            if results["decide"]["exhausted"]:
                run.notes.append("decide ran out of pending requests before the end of its window")
        hello_runs.append(
            load(base_url, sizes, concurrency, "hello-2", {"items": [{"path": HELLO_PATH}]})
        )

    hello_rps = statistics.mean(r["rps"] for r in hello_runs)
    hello_p50 = statistics.mean(r["p50_ms"] for r in hello_runs)
    hello_p95 = statistics.mean(r["p95_ms"] for r in hello_runs)
    durable = results.get("durable")
    run.figures.append(
        Figure(
            name="hello-world GET /bench/hello (the floor)",
            measured=f"{fmt_rate(hello_rps)}; p50 {fmt_ms(hello_p50)}, p95 {fmt_ms(hello_p95)}",
            value_text="1.00",
            note="mean of a run before and after the others: "
            + " / ".join(fmt_rate(r["rps"]) for r in hello_runs),
        )
    )
    if durable:
        run.figures.append(
            Figure(
                name="minimal durable write POST /bench/durable (JSON body, 3 INSERTs, 1 commit)",
                measured=f"{fmt_rate(durable['rps'])}; p50 {fmt_ms(durable['p50_ms'])}, p95 {fmt_ms(durable['p95_ms'])}",
                baseline=f"hello {fmt_rate(hello_rps)}",
                value=ratio(durable["rps"], hello_rps),
                note="the second floor: what any durable intake costs on this server",
            )
        )

    def against_floors(name: str, key: str, unit: str, target: float) -> None:
        if key not in results:
            return
        rps = results[key]["rps"]
        note = f"p50 {fmt_ms(results[key]['p50_ms'])}, p95 {fmt_ms(results[key]['p95_ms'])}"
        if durable:
            run.figures.append(
                Figure(
                    name=f"{name}, throughput ÷ durable write",
                    measured=fmt_rate(rps, unit),
                    baseline=f"durable {fmt_rate(durable['rps'])}",
                    value=ratio(rps, durable["rps"]),
                    target=Target(">=", target),
                    note=note,
                )
            )
        run.figures.append(
            Figure(
                name=f"{name}, throughput ÷ hello-world",
                measured=fmt_rate(rps, unit),
                baseline=f"hello {fmt_rate(hello_rps)}",
                value=ratio(rps, hello_rps),
                note="" if durable else note,
            )
        )

    against_floors("intake POST /api/v1/requests (human route)", "intake", "req/s", 0.5)
    if lag is not None and "intake" in results:
        lags = lag.lags()
        if lag.mode == "n/a" or not lags:
            run.figures.append(
                Figure(
                    name="sealing lag during the intake run, 95th percentile",
                    measured="n/a",
                    value_text="n/a",
                    target=Target("<", 2.0, " s"),
                    note="no sealer: every audit entry is chained inside its own transaction"
                    if lag.mode == "n/a"
                    else "no entry waited to be sealed",
                )
            )
        else:
            p95 = percentile(lags, 95)
            how = (
                f"{len(lags):,} entries, sealed_at - at"
                if lag.mode == "sealed_at"
                else f"age of the oldest unsealed entry, {len(lags)} samples {SealingLag.SAMPLE:g} s apart"
            )
            run.figures.append(
                Figure(
                    name="sealing lag during the intake run, 95th percentile",
                    measured=f"{fmt_ms(p95 * 1000)} (median {fmt_ms(percentile(lags, 50) * 1000)})",
                    value=p95,
                    value_text=fmt_seconds(p95),
                    target=Target("<", 2.0, " s"),
                    note=how,
                )
            )
    low, high = (results.get(f"intake-{c}") for c in SCALING)
    if low and high:
        run.figures.append(
            Figure(
                name=f"intake throughput at {SCALING[1]} connections ÷ at {SCALING[0]}",
                measured=f"{fmt_rate(high['rps'])} at {SCALING[1]}",
                baseline=f"{fmt_rate(low['rps'])} at {SCALING[0]}",
                value=ratio(high["rps"], low["rps"]),
                target=Target(">=", 1.5),
                note=f"a lock shows as a flat line; p95 {fmt_ms(low['p95_ms'])} → {fmt_ms(high['p95_ms'])}",
            )
        )
    low, high = (results.get(f"durable-{c}") for c in SCALING)
    if low and high:
        run.figures.append(
            Figure(
                name=f"durable write throughput at {SCALING[1]} connections ÷ at {SCALING[0]}",
                measured=f"{fmt_rate(high['rps'])} at {SCALING[1]}",
                baseline=f"{fmt_rate(low['rps'])} at {SCALING[0]}",
                value=ratio(high["rps"], low["rps"]),
                note="the machine's own ceiling for the figure above (no lock at all)",
            )
        )
    signed_in = results.get("signed-in")
    if signed_in:
        run.figures.append(
            Figure(
                name="signed-in hello GET /bench/signed-in (session and user read, no work),"
                " 95th percentile latency ÷ hello-world's",
                measured=f"{fmt_rate(signed_in['rps'])}; p50 {fmt_ms(signed_in['p50_ms'])},"
                f" p95 {fmt_ms(signed_in['p95_ms'])}",
                baseline=f"hello {fmt_ms(hello_p95)}",
                value=ratio(signed_in["p95_ms"], hello_p95),
                note="what every inbox page pays before its own work; not a target",
            )
        )
    if "inbox" in results:
        inbox = results["inbox"]
        run.figures.append(
            Figure(
                name=f"inbox GET /inbox/, median latency ({sizes.inbox_open:,} open, {sizes.reviewers} reviewers)",
                measured=fmt_ms(inbox["p50_ms"]),
                baseline=f"hello {fmt_ms(hello_p50)}",
                value=ratio(inbox["p50_ms"], hello_p50),
                note=f"{fmt_rate(inbox['rps'])}",
            )
        )
        run.figures.append(
            Figure(
                name="inbox GET /inbox/, 95th percentile latency ÷ hello-world's",
                measured=fmt_ms(inbox["p95_ms"]),
                baseline=f"hello {fmt_ms(hello_p95)}",
                value=ratio(inbox["p95_ms"], hello_p95),
                target=Target("<=", 3.0),
            )
        )
        # The same p95 against the other references: what signing in and a durable write cost.
        for label, reference in (("signed-in hello's", signed_in), ("durable write's", durable)):
            if reference:
                short = label.split()[0]
                run.figures.append(
                    Figure(
                        name=f"inbox GET /inbox/, 95th percentile latency ÷ {label}",
                        measured=fmt_ms(inbox["p95_ms"]),
                        baseline=f"{short} {fmt_ms(reference['p95_ms'])}",
                        value=ratio(inbox["p95_ms"], reference["p95_ms"]),
                    )
                )
    against_floors("decide POST through the inbox", "decide", "decisions/s", 0.4)
    run.notes.append(
        f"HTTP: gunicorn config.wsgi, {workers} sync workers, DEBUG off; load generator "
        f"(bench/loadgen.py) in its own process, {concurrency} requests in flight (the scaling "
        f"figure: {SCALING[0]} and {SCALING[1]}), {sizes.warmup:g} s warm-up then "
        f"{sizes.duration:g} s measured per figure"
    )


def profile_http(env: dict[str, str], base: dict[str, Any]) -> None:
    """pyinstrument over the HTTP hot paths, in-process, after (never during) their figures."""
    try:
        statuses = run_step(
            env,
            "profile_http",
            {
                "count": 30,
                "token": base["token"],
                "intake_path": INTAKE_PATH,
                "intake_body": intake_plan(base)["items"][0]["body"],
                "inbox_path": INBOX_PATH,
                "decide_path": DECIDE_PATH,
                "out_dir": str(OUT),
            },
        )
        log(f"profiled intake, inbox and decide ({statuses}): {OUT}/profile-*.txt")
    except Skip as exc:
        log(f"profiling failed: {exc}")


def queries_figure(run: Run, env: dict[str, str]) -> None:
    with run.figure("inbox queries per page"):
        counts = run_step(env, "inbox_queries", {"path": INBOX_PATH})
        one, full = counts["one_row"], counts["full_page"]
        if one["status"] != 200 or full["status"] != 200:
            raise Skip(f"/inbox/ answered {one['status']} / {full['status']} in-process")
        run.figures.append(
            Figure(
                name="inbox queries per page",
                measured=f"{one['queries']} (1 open request) / {full['queries']} ({counts['open_for_full_page']:,} open)",
                value_text="constant" if one["queries"] == full["queries"] else "grows",
                target_text="constant",
                met_override=one["queries"] == full["queries"],
                note="CaptureQueriesContext, logged-in reviewer, second request",
            )
        )


def lag_figure(run: Run, env: dict[str, str], base: dict[str, Any], broker_url: str | None) -> None:
    sizes = run.sizes
    with run.figure("delivery lag"):
        if broker_url is None:
            raise Skip("Redis is not reachable (set BENCH_REDIS_URL): no worker to deliver with")
        redis_flush(broker_url)  # the tasks the HTTP figures queued
        cleared = run_step(env, "leftovers")
        log(f"cleared {cleared['notices']:,} queued notices, sealed {cleared['sealed']:,} entries")
        with Receiver(base["signing_secret"]) as receiver, celery_worker(env):
            ids = run_step(
                env,
                "lag_submit",
                {"count": LAG_WARMUP + sizes.lag_count, "callback_url": receiver.url},
            )["ids"]
            committed = run_step(env, "lag_decide", {"ids": ids, "interval": sizes.lag_interval})[
                "committed"
            ]
            # The first few warm the worker's pool processes (imports, connections); not counted.
            ids = ids[LAG_WARMUP:]
            deadline = time.monotonic() + 30
            while len(receiver.arrivals) < len(ids) and time.monotonic() < deadline:
                time.sleep(0.1)
        lags = sorted(
            receiver.arrivals[i] - committed[i]
            for i in ids
            if i in receiver.arrivals and i in committed
        )
        if not lags:
            raise Skip(
                f"no callback arrived within 30 s ({receiver.unverified} failed verification)"
            )
        missing = len(ids) - len(lags)
        note = f"{len(lags)} decisions, {sizes.lag_interval:g} s apart; Celery worker (prefork, 2) on Redis"
        if missing:
            note += f"; {missing} callbacks did not arrive within 30 s"
        run.figures.append(
            Figure(
                name="delivery lag, decision commit → callback received, median",
                measured=fmt_ms(percentile(lags, 50) * 1000),
                note=note,
            )
        )
        p95 = percentile(lags, 95)
        run.figures.append(
            Figure(
                name="delivery lag, 95th percentile",
                measured=fmt_ms(p95 * 1000),
                value=p95,
                value_text=fmt_seconds(p95),
                target=Target("<", 2.0, " s"),
                met_override=False if missing else None,
            )
        )


def sweep_figure(run: Run, env: dict[str, str], *, profile: bool) -> None:
    sizes = run.sizes
    with run.figure("SLA sweep"):
        small = run_step(env, "sweep", {"pending": sizes.sweep_small, "due": sizes.sweep_due})
        large = run_step(env, "sweep", {"pending": sizes.sweep_large, "due": sizes.sweep_due})
        if profile:
            path = str(OUT / "profile-sweep.txt")
            run_step(
                env,
                "sweep",
                {"pending": sizes.sweep_large, "due": sizes.sweep_due, "profile": path},
            )
            log(f"profiled the sweep at {sizes.sweep_large:,} pending: {path}")
        for result in (small, large):
            log(f"sweep {result}")
            if result["still_due"]:
                raise Skip(
                    f"the sweep left {result['still_due']} of {result['due']} due rows untouched"
                )
        run.figures.append(
            Figure(
                name=f"SLA sweep, {sizes.sweep_due:,} due: time at {sizes.sweep_large:,} ÷ at {sizes.sweep_small:,} pending",
                measured=f"{fmt_seconds(large['seconds'])} ({sizes.sweep_large:,} pending)",
                baseline=f"{fmt_seconds(small['seconds'])} ({sizes.sweep_small:,} pending)",
                value=ratio(large["seconds"], small["seconds"]),
                target=Target("<=", 1.5),
                note=f"sweep_due() until it returns 0 ({large['runs']} calls); seeding {large['pending']:,} rows took {large['seed_seconds']:.0f} s",
            )
        )
        if sizes.sweep_large < 1_000_000:
            run.notes.append(
                f"{sizes.mode} mode: the sweep compares {sizes.sweep_large:,} with {sizes.sweep_small:,} pending (full mode: 1,000,000)"
            )


# The export's rows, as PostgreSQL alone would produce them: the same joins and columns.
COPY_QUERY = """
SELECT r.id, r.external_id, p.slug, r.policy_version, r.title, r.created_at, r.route, d.stage,
       d.outcome, d.option, d.comment, d.decided_by_name, d.channel, d.decided_at,
       extract(epoch FROM d.decided_at - r.created_at)::int, g.slug, r.escalated, r.due_at,
       (r.due_at IS NULL OR d.decided_at <= r.due_at), d.entry_hash
FROM approvals_decision d
JOIN approvals_approvalrequest r ON r.id = d.approval_id
JOIN approvals_policy p ON p.id = r.policy_id
LEFT JOIN approvals_reviewergroup g ON g.id = r.assigned_group_id
ORDER BY d.decided_at, d.id
"""


def export_figures(run: Run, env: dict[str, str], *, profile: bool) -> None:
    sizes = run.sizes
    with run.figure("CSV export"):
        results = {}
        for rows in (sizes.csv_small, sizes.csv_large):
            seeded = run_step(env, "seed_export", {"rows": rows})
            log(f"seeded {rows:,} decisions in {seeded['seconds']:.1f} s")
            output = str(OUT / f"export-{rows}.csv")
            copy = run_step(
                env, "copy_export", {"query": " ".join(COPY_QUERY.split()), "output": output}
            )
            export = run_step(env, "export", {"output": output})
            if export["rows"] != rows:
                raise Skip(f"export_audit wrote {export['rows']} rows for {rows} decisions")
            log(f"export {rows:,}: {export}; COPY: {copy}")
            results[rows] = (export, copy)
            if profile and rows == sizes.csv_large:
                path = str(OUT / "profile-export.txt")
                run_step(env, "export", {"output": output, "profile": path})
                log(f"profiled export_audit at {rows:,} rows: {path}")
            Path(output).unlink(missing_ok=True)
        export, copy = results[sizes.csv_large]
        run.figures.append(
            Figure(
                name=f"CSV export_audit rows/s ÷ COPY … TO STDOUT WITH CSV rows/s ({sizes.csv_large:,} rows)",
                measured=fmt_rate(export["rows_per_second"], "rows/s"),
                baseline=f"COPY {fmt_rate(copy['rows_per_second'], 'rows/s')}",
                value=ratio(export["rows_per_second"], copy["rows_per_second"]),
                target=Target(">=", 0.5),
                note=f"{fmt_seconds(export['seconds'])} vs {fmt_seconds(copy['seconds'])}",
            )
        )
        small_peak = results[sizes.csv_small][0]["rss_peak_mb"]
        large_peak = export["rss_peak_mb"]
        run.figures.append(
            Figure(
                name=f"CSV export peak RSS, {sizes.csv_large:,} vs {sizes.csv_small:,} rows",
                measured=f"{fmt_mb(large_peak)} at {sizes.csv_large:,} rows",
                baseline=f"{fmt_mb(small_peak)} at {sizes.csv_small:,} rows",
                value=large_peak - small_peak,
                # + 0.0 turns a rounded -0.0 into 0.0
                value_text=f"{round(large_peak - small_peak, 1) + 0.0:+.1f} MB",
                target=Target("<=", 50.0, " MB"),
                note=f"whole process after Django start-up ({fmt_mb(export['rss_start_mb'])})",
            )
        )
        if sizes.csv_large < 1_000_000:
            run.notes.append(
                f"{sizes.mode} mode: the CSV export runs at {sizes.csv_small:,} and {sizes.csv_large:,} rows (full mode: 100,000 and 1,000,000)"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="the full sizes (1,000,000 rows)")
    parser.add_argument("--tiny", action="store_true", help="minute sizes, to develop the harness")
    parser.add_argument("--output", default=str(ROOT / "BENCHMARKS.md"), help="file to write")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also profile each hot path with pyinstrument (bench/out/profile-*.txt), untimed",
    )
    parser.add_argument("--keep-db", action="store_true", help="leave the bench database behind")
    options = parser.parse_args(argv)
    sizes = FULL if options.full else TINY if options.tiny else QUICK
    started = time.monotonic()
    OUT.mkdir(parents=True, exist_ok=True)

    maintenance_url, db_url, db_name = database_urls()
    redis_url = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS)
    broker_url: str | None = redis_url if redis_ok(redis_url) else None
    port = free_port()
    # Without Redis the app still needs a broker to hand its on-commit tasks to; an in-memory
    # one costs next to nothing, and the delivery lag says it was not measured.
    env = bench_env(db_url=db_url, broker_url=broker_url or "memory://", port=port)
    cores = os.cpu_count() or 1
    workers = 2 * cores
    load_average = os.getloadavg()[0]
    machine = machine_info(maintenance_url, broker_url)
    log(f"{sizes.mode} mode on {machine}; load average {load_average:.2f}")

    run = Run(sizes)
    create_database(maintenance_url, db_name)
    try:
        manage(env, "migrate", "--noinput")
        manage(env, "collectstatic", "--noinput")
        if broker_url:
            redis_flush(broker_url)
        base = run_step(env, "base", {"reviewers": sizes.reviewers})
        seeded = run_step(env, "seed_inbox", {"open": sizes.inbox_open})
        log(f"seeded {sizes.inbox_open:,} open requests in {seeded['seconds']:.1f} s")
        http_figures(run, env, base, port, workers)
        queries_figure(run, env)
        if options.profile:
            profile_http(env, base)
        lag_figure(run, env, base, broker_url)
        sweep_figure(run, env, profile=options.profile)
        export_figures(run, env, profile=options.profile)
    finally:
        if not options.keep_db:
            drop_database(maintenance_url, db_name)
        if broker_url:
            redis_flush(broker_url)

    elapsed = time.monotonic() - started
    run.notes.append(
        f"load average (1 min) at the start: {load_average:.2f}; the whole run took {elapsed:.0f} s"
    )
    command = (
        "make bench" + (" FULL=1" if options.full else "")
        if os.environ.get("MAKELEVEL")
        else shlex.join(
            [".venv/bin/python", "bench/run.py", *(argv if argv is not None else sys.argv[1:])]
        )
    )
    report = Report(
        figures=run.figures,
        machine=machine,
        date=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        command=command,
        mode=sizes.mode,
        settings=run.notes,
        skipped=run.skipped,
    )
    from bench.report import render_results

    write_benchmarks(Path(options.output), render_results(report))
    log(
        f"wrote {options.output} in {elapsed:.0f} s ({len(run.figures)} figures, {len(run.skipped)} not measured)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
