"""The in-process half of the harness: each step runs in a fresh Django process on the bench
database and prints one JSON object on its last line of stdout.

    python -m bench.steps STEP '{"json": "arguments"}'

bench/run.py calls them in order; they never run against any other database (run.py sets
DATABASE_URL to the benchmark database it created, and `_guard` refuses anything else).
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import secrets
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from approvals.models import ApprovalRequest, Membership, Policy, ReviewerGroup  # noqa: E402
from bench import seed  # noqa: E402
from bench.urls import create_durable_tables  # noqa: E402

PLAYBOOK = "refund-approval"
GROUP = "support-leads"
REVIEWER_PREFIX = "bench-reviewer-"
FEW_REVIEWER = "bench-few"  # a member with a single open request: the 1-row inbox

STEPS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {}


def step(
    func: Callable[[dict[str, Any]], dict[str, Any]],
) -> Callable[[dict[str, Any]], dict[str, Any]]:
    STEPS[func.__name__] = func
    return func


def _guard() -> None:
    name = settings.DATABASES["default"]["NAME"]
    if not settings.IS_POSTGRES or "bench" not in str(name):
        raise SystemExit(
            f"bench steps run only on a PostgreSQL database named *bench*, not {name!r}"
        )


def _policy_and_group() -> tuple[Policy, ReviewerGroup]:
    return Policy.objects.get(slug=PLAYBOOK), ReviewerGroup.objects.get(slug=GROUP)


def _reviewers() -> list[Any]:
    User = get_user_model()
    return list(User.objects.filter(username__startswith=REVIEWER_PREFIX).order_by("username"))


def _client() -> Client:
    # ALLOWED_HOSTS is 127.0.0.1 as on the served app; the test client's default host is not.
    return Client(HTTP_HOST="127.0.0.1")


def _session_cookie(user: Any) -> str:
    client = _client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


# --- set-up --------------------------------------------------------------------------------------


@step
def base(args: dict[str, Any]) -> dict[str, Any]:
    """The playbook, `reviewers` members of its group (+ one with a 1-row inbox), a token, sessions."""
    from approvals.services.tokens import api_token_create
    from playbooks.installer import install_playbook

    install_playbook(PLAYBOOK)
    create_durable_tables()  # the second floor, /bench/durable
    policy, group = _policy_and_group()
    User = get_user_model()
    users = []
    for index in range(1, int(args["reviewers"]) + 1):
        users.append(User(username=f"{REVIEWER_PREFIX}{index:03d}", email=f"r{index}@bench.test"))
    users.append(User(username=FEW_REVIEWER, email="few@bench.test"))
    for user in users:
        user.set_unusable_password()  # sessions are made directly; nobody logs in with a form
    User.objects.bulk_create(users)
    created = list(User.objects.filter(username__startswith="bench-"))
    few_group, _ = ReviewerGroup.objects.get_or_create(
        slug="bench-few", defaults={"name": "Bench (one request)", "strategy": "pull"}
    )
    Membership.objects.bulk_create(
        [
            Membership(group=few_group if u.username == FEW_REVIEWER else group, user=u)
            for u in created
        ]
    )
    _, raw_token = api_token_create(name="bench")
    reviewers = _reviewers()
    return {
        "token": raw_token,
        "policy": policy.slug,
        "signing_secret": policy.signing_secret,
        "sessions": [_session_cookie(user) for user in reviewers],
        "few_session": _session_cookie(User.objects.get(username=FEW_REVIEWER)),
    }


@step
def seed_inbox(args: dict[str, Any]) -> dict[str, Any]:
    """`open` pending requests over the reviewers, one for the 1-row reviewer; their ids."""
    policy, group = _policy_and_group()
    reviewers = _reviewers()
    started = time.perf_counter()
    seed.seed_open_requests(
        policy=policy,
        group=group,
        assignee_ids=[u.pk for u in reviewers],
        count=int(args["open"]),
    )
    few_group = ReviewerGroup.objects.get(slug="bench-few")
    few = get_user_model().objects.get(username=FEW_REVIEWER)
    seed.seed_open_requests(
        policy=policy,
        group=few_group,
        assignee_ids=[few.pk],
        count=1,
        tag="few",
        unassigned_every=0,
    )
    seed.analyze()
    return {"seconds": time.perf_counter() - started}


@step
def decide_targets(args: dict[str, Any]) -> dict[str, Any]:
    """Pending requests each assigned reviewer can decide: [[session index, id], …]."""
    reviewers = _reviewers()
    index_of = {user.pk: index for index, user in enumerate(reviewers)}
    rows = (
        ApprovalRequest.objects.filter(
            status=ApprovalRequest.Status.PENDING,
            assignee_id__in=list(index_of),
            external_id__startswith="bench-open-",
        )
        .order_by("?")
        .values_list("assignee_id", "pk")[: int(args["count"])]
    )
    return {"targets": [[index_of[assignee], str(pk)] for assignee, pk in rows]}


# --- in-process figures -----------------------------------------------------------------------------


@step
def inbox_queries(args: dict[str, Any]) -> dict[str, Any]:
    """Queries per /inbox/ page for a reviewer with one open request and one with thousands."""
    User = get_user_model()
    counts = {}
    for label, user in (
        ("one_row", User.objects.get(username=FEW_REVIEWER)),
        ("full_page", _reviewers()[0]),
    ):
        client = _client()
        client.force_login(user)
        client.get(args["path"])  # warm: session, content types, template loading
        with CaptureQueriesContext(connection) as queries:
            response = client.get(args["path"])
        counts[label] = {"queries": len(queries), "status": response.status_code}
    counts["open_for_full_page"] = ApprovalRequest.objects.filter(
        assignee=_reviewers()[0], status=ApprovalRequest.Status.PENDING
    ).count()
    return counts


@contextlib.contextmanager
def _profiled(path: str | None) -> Iterator[None]:
    """pyinstrument around the block when `path` is given (a separate, untimed pass)."""
    if not path:
        yield
        return
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0005)
    profiler.start()
    try:
        yield
    finally:
        profiler.stop()
        Path(path).write_text(profiler.output_text(unicode=True, color=False, show_all=False))


def _max_rss_mb() -> float:
    # ru_maxrss is in KiB on Linux: the process's peak resident set so far.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@step
def sweep(args: dict[str, Any]) -> dict[str, Any]:
    """Time the SLA sweep over `pending` pending requests of which `due` are due.

    Steps: empty the request tables; seed the rows (all not due); ANALYZE; run the sweep once
    on nothing (imports, connections, plans warm); make the `due` rows due; time the sweep until
    it reports nothing left; check that exactly those rows moved on.
    """
    from approvals.sla.sweep import sweep_due

    policy, group = _policy_and_group()
    seed.reset_requests()
    reviewers = _reviewers()
    pending, due = int(args["pending"]), int(args["due"])
    started = time.perf_counter()
    seed.seed_open_requests(
        policy=policy,
        group=group,
        assignee_ids=[u.pk for u in reviewers],
        count=pending,
        due_count=due,
        tag="sweep",
    )
    seed.analyze()
    seeded = time.perf_counter() - started
    # The due rows were seeded due; move their check point out while warming up, then back.
    due_filter = {
        "status": ApprovalRequest.Status.PENDING,
        "next_sla_check_at__lte": timezone.now(),
    }
    due_ids = list(ApprovalRequest.objects.filter(**due_filter).values_list("pk", flat=True))
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE approvals_approvalrequest SET next_sla_check_at = now() + interval '2 days' "
            "WHERE id = ANY(%s)",
            [due_ids],
        )
    warm = sweep_due()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE approvals_approvalrequest SET next_sla_check_at = now() - interval '5 minutes' "
            "WHERE id = ANY(%s)",
            [due_ids],
        )
    runs, acted = 0, 0
    t0 = time.perf_counter()
    with _profiled(args.get("profile")):
        while True:
            runs += 1
            done = sweep_due()
            acted += done or 0
            if not done or runs > 1000:
                break
    seconds = time.perf_counter() - t0
    still_due = ApprovalRequest.objects.filter(**due_filter).count()
    return {
        "pending": pending,
        "due": len(due_ids),
        "seconds": seconds,
        "seed_seconds": seeded,
        "runs": runs,
        "acted": acted,
        "warm_acted": warm,
        "still_due": still_due,
    }


@step
def seed_export(args: dict[str, Any]) -> dict[str, Any]:
    policy, group = _policy_and_group()
    seed.reset_requests()
    reviewers = [(u.pk, u.username) for u in _reviewers()]
    started = time.perf_counter()
    seed.seed_decided_requests(
        policy=policy, group=group, reviewers=reviewers, count=int(args["rows"])
    )
    seed.analyze()
    return {"seconds": time.perf_counter() - started}


@step
def export(args: dict[str, Any]) -> dict[str, Any]:
    """rows/s and peak RSS of `export_audit` writing every decision to a file.

    Runs in its own process per size, so the peak RSS (ru_maxrss) is this export's alone; the
    RSS after Django's start-up is reported too.
    """
    from django.core.management import call_command

    rss_before = _max_rss_mb()
    connection.ensure_connection()
    started = time.perf_counter()
    with _profiled(args.get("profile")):
        call_command("export_audit", output=args["output"])
    seconds = time.perf_counter() - started
    with open(args["output"], "rb") as handle:
        lines = sum(1 for _ in handle)
    return {
        "rows": lines - 1,
        "seconds": seconds,
        "rows_per_second": (lines - 1) / seconds if seconds else None,
        "rss_start_mb": rss_before,
        "rss_peak_mb": _max_rss_mb(),
    }


@step
def copy_export(args: dict[str, Any]) -> dict[str, Any]:
    """rows/s of PostgreSQL's own COPY … TO STDOUT WITH CSV of the same rows, read by a client."""
    query = args["query"]
    rows = 0
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg 3's cursor: COPY streams through .copy()
        started = time.perf_counter()
        with (
            open(args["output"], "wb") as out,
            raw.copy(f"COPY ({query}) TO STDOUT WITH CSV HEADER") as copy,
        ):
            for block in copy:
                out.write(block)
        seconds = time.perf_counter() - started
    with open(args["output"], "rb") as handle:
        rows = sum(1 for _ in handle) - 1
    return {
        "rows": rows,
        "seconds": seconds,
        "rows_per_second": rows / seconds if seconds else None,
    }


@step
def leftovers(args: dict[str, Any]) -> dict[str, Any]:
    """Clear what the figures run without a worker left for one: the notices they queued
    (the run flushes their broker messages likewise) and the audit entries waiting to be
    sealed, so the delivery lag is measured on a worker with nothing else to catch up on."""
    from approvals.models import QueuedNotice
    from approvals.services.audit import audit_seal

    notices, _ = QueuedNotice.objects.all().delete()
    return {"notices": notices, "sealed": audit_seal()}


@step
def lag_submit(args: dict[str, Any]) -> dict[str, Any]:
    """Human-route requests whose callbacks go to the receiver; their ids and a decider each."""
    from approvals.services import approval_submit

    policy, _ = _policy_and_group()
    ids = []
    for index in range(int(args["count"])):
        approval = approval_submit(
            policy=policy,
            title=f"Lag probe {index}",
            payload={"amount": 120.0, "currency": "USD", "customer": "lag"},
            external_id=f"bench-lag-{secrets.token_hex(6)}",
            callback_url=args["callback_url"],
            requested_by="bench",
        )
        ids.append(str(approval.pk))
    return {"ids": ids}


@step
def lag_decide(args: dict[str, Any]) -> dict[str, Any]:
    """Decide each request, `interval` s apart; the wall-clock time each decision committed.

    The commit time is taken by an on-commit callback registered before the service runs, so
    it fires first, right after COMMIT and before the service's own on-commit kick to Celery.
    """
    from approvals.services import approval_decide

    committed: dict[str, float] = {}
    reviewers = {u.pk: u for u in _reviewers()}
    members = list(reviewers.values())
    for index, approval_id in enumerate(args["ids"]):
        approval = ApprovalRequest.objects.get(pk=approval_id)
        reviewer = reviewers.get(approval.assignee_id) or members[index % len(members)]
        with transaction.atomic():
            transaction.on_commit(lambda key=approval_id: committed.__setitem__(key, time.time()))
            approval_decide(approval=approval, reviewer=reviewer, option="approve", comment="ok")
        time.sleep(float(args["interval"]))
    return {"committed": committed}


@step
def profile_http(args: dict[str, Any]) -> dict[str, Any]:
    """pyinstrument over `count` intakes, inbox pages and decisions, in-process (test client).

    The same views, middleware and settings as the served app, without gunicorn; for the
    "Profile notes" of BENCHMARKS.md, never for a figure.
    """
    count = int(args["count"])
    token = args["token"]
    reviewer = _reviewers()[1]
    client = _client()
    client.force_login(reviewer)
    out = Path(args["out_dir"])

    def intake(n: int) -> Any:
        body = args["intake_body"].replace("{n}", f"profile-{n}")
        return client.post(
            args["intake_path"],
            body,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )

    pending = list(
        ApprovalRequest.objects.filter(
            assignee=reviewer, status=ApprovalRequest.Status.PENDING
        ).values_list("pk", flat=True)[: count + 1]
    )
    statuses: dict[str, list[int]] = {"intake": [], "inbox": [], "decide": []}
    statuses["intake"].append(intake(0).status_code)  # warm
    with _profiled(str(out / "profile-intake.txt")):
        statuses["intake"] += [intake(n).status_code for n in range(1, count + 1)]
    client.get(args["inbox_path"])
    with _profiled(str(out / "profile-inbox.txt")):
        statuses["inbox"] += [client.get(args["inbox_path"]).status_code for _ in range(count)]
    with _profiled(str(out / "profile-decide.txt")):
        for pk in pending[:count]:
            response = client.post(
                args["decide_path"].format(id=pk),
                {"option": "approve", "comment": "ok"},
                HTTP_HX_REQUEST="true",
            )
            statuses["decide"].append(response.status_code)
    # One more of each under CaptureQueriesContext: the queries behind the profile.
    queries = {}
    with CaptureQueriesContext(connection) as captured:
        intake(count + 1)
    queries["intake"] = len(captured)
    with CaptureQueriesContext(connection) as captured:
        client.get(args["inbox_path"])
    queries["inbox"] = len(captured)
    with CaptureQueriesContext(connection) as captured:
        client.post(
            args["decide_path"].format(id=pending[count]),
            {"option": "approve", "comment": "ok"},
            HTTP_HX_REQUEST="true",
        )
    queries["decide"] = len(captured)
    return {
        "statuses": {name: sorted(set(codes)) for name, codes in statuses.items()},
        "queries": queries,
    }


@step
def cpu_http(args: dict[str, Any]) -> dict[str, Any]:
    """CPU milliseconds per intake, inbox page and decision, in-process (bench/cpu.py)."""
    import cProfile
    import pstats
    import secrets as _secrets

    count = int(args["count"])
    only = set(args["only"])
    token = args["token"]
    reviewer = _reviewers()[1 + _secrets.randbelow(40)]
    client = _client()
    client.force_login(reviewer)
    run_id = _secrets.token_hex(4)

    api_client = _client()  # no session: the API is called with a token alone

    def intake(n: int) -> Any:
        body = args["intake_body"].replace("{n}", f"cpu-{run_id}-{n}")
        return api_client.post(
            args["intake_path"],
            body,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )

    def inbox(n: int) -> Any:
        return client.get(args["inbox_path"])

    pending = list(
        ApprovalRequest.objects.filter(
            assignee=reviewer, status=ApprovalRequest.Status.PENDING
        ).values_list("pk", flat=True)[: 2 * count + 10]
    )

    def decide(n: int) -> Any:
        return client.post(
            args["decide_path"].format(id=pending[n]),
            {"option": "approve", "comment": "ok"},
            HTTP_HX_REQUEST="true",
        )

    results: dict[str, Any] = {}
    for name, operation in (("intake", intake), ("inbox", inbox), ("decide", decide)):
        if name not in only:
            continue
        offset = 0
        for n in range(3):  # warm: imports, caches, connections
            operation(offset + n)
        offset += 3
        statuses: set[int] = set()
        started = time.process_time()
        for n in range(count):
            statuses.add(operation(offset + n).status_code)
        cpu = time.process_time() - started
        offset += count
        with CaptureQueriesContext(connection) as captured:
            operation(offset)
        offset += 1
        if args.get("pyinstrument"):
            with _profiled(str(Path(args["pyinstrument"]) / f"pyinstrument-{name}.txt")):
                for n in range(min(count, 100)):
                    operation(offset + n)
            offset += min(count, 100)
        if args.get("cprofile"):
            profiler = cProfile.Profile(time.process_time)
            profiler.enable()
            for n in range(min(count, 100)):
                operation(offset + n)
            profiler.disable()
            directory = Path(args["cprofile"])
            directory.mkdir(parents=True, exist_ok=True)
            with open(directory / f"cprofile-{name}.txt", "w") as out:
                stats = pstats.Stats(profiler, stream=out)
                stats.sort_stats("cumulative").print_stats(150)
                stats.sort_stats("tottime").print_stats(40)
                stats.print_callers(r"redis/client.py:\d+\(__init__\)|inspect.py:\d+\(getmembers\)")
        results[name] = {
            "ms": 1000 * cpu / count,
            "queries": len(captured),
            "statuses": sorted(statuses),
        }
    return results


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[1] not in STEPS:
        print(f"usage: python -m bench.steps {{{','.join(STEPS)}}} [JSON]", file=sys.stderr)
        return 2
    _guard()
    args = json.loads(argv[2]) if len(argv) > 2 else {}
    result = STEPS[argv[1]](args)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
