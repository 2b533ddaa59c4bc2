"""Peak Python memory of the audit CSV export at two sizes (issue 7: memory stays flat).

    DEBUG=1 CHECKPOINT_DEMO=1 DATABASE_URL=postgres://… .venv/bin/python bench/export_memory.py [SMALL LARGE]

Seeds SMALL then LARGE decisions with one INSERT … SELECT generate_series (PostgreSQL only),
streams the whole export through `csv_lines` under tracemalloc, and prints the peaks. Used by
tests/exports/test_memory.py too. It writes into the database it is given: use a scratch one.
"""

from __future__ import annotations

import os
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

# The decisions fan out over this many requests: submitting through the service is the slow
# part of seeding, and the export's cost is per decision row.
REQUESTS = 100


def seed_decisions(*, approval_ids: list[Any], count: int, policy_version: int = 1) -> None:
    """Insert `count` decisions spread over the given requests, one SQL statement."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO approvals_decision (
                approval_id, stage, outcome, option, option_label, value, comment,
                decided_by_id, decided_by_name, channel, decided_at, payload_changes,
                policy_version, rule, is_final, entry_hash)
            SELECT (%(ids)s::uuid[])[1 + n %% cardinality(%(ids)s::uuid[])], 1, 'approve',
                   'approve', 'Approve', '', 'Looks fine to me, order ' || n, NULL, 'alice',
                   'web', now() - interval '30 days' + n * interval '1 second', '{}'::jsonb,
                   %(version)s, '', false, md5(n::text) || md5((n + 1)::text)
            FROM generate_series(1, %(count)s) AS n
            """,
            {"ids": [str(i) for i in approval_ids], "count": count, "version": policy_version},
        )


def measure_export_peak(*, page_size: int | None = None) -> tuple[int, int]:
    """(rows, peak bytes) of streaming the whole export, the CSV text discarded as it goes."""
    from approvals.audit.csv_export import PAGE_SIZE, ExportFilter, csv_lines

    tracemalloc.start()
    tracemalloc.reset_peak()
    rows = -1
    for _line in csv_lines(ExportFilter(), page_size=page_size or PAGE_SIZE):
        rows += 1
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return rows, peak


def main(small: int, large: int) -> None:
    import django

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from django.db import connection, transaction

    from approvals.models import ApprovalRequest, Decision
    from approvals.services import approval_submit
    from tests.factories import GroupFactory, make_policy

    if connection.vendor != "postgresql":
        sys.exit("export_memory: needs PostgreSQL (DATABASE_URL=postgres://…)")
    with transaction.atomic():
        # Everything is rolled back at the end: the database is left as it was.
        group = GroupFactory.create(slug="bench-export-memory")
        policy = make_policy(slug="bench-export-memory", group=group)
        approvals = [
            approval_submit(
                policy=policy, title=f"Refund {n}", payload={"amount": 500, "notes": "x" * 20_000}
            )
            for n in range(REQUESTS)
        ]
        ids = [a.pk for a in approvals]
        seeded = 0
        for size in (small, large):
            started = time.perf_counter()
            seed_decisions(approval_ids=ids, count=size - seeded)
            seeded = size
            seed_seconds = time.perf_counter() - started
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE approvals_decision")
            started = time.perf_counter()
            rows, peak = measure_export_peak()
            print(
                f"{rows:>9,} rows  peak {peak / 1024 / 1024:6.2f} MiB  "
                f"export {time.perf_counter() - started:5.1f} s  seed {seed_seconds:4.1f} s"
            )
        assert Decision.objects.count() >= large and ApprovalRequest.objects.exists()
        transaction.set_rollback(True)


if __name__ == "__main__":
    sizes = [int(a) for a in sys.argv[1:3]] or [10_000, 100_000]
    main(*sizes) if len(sizes) == 2 else sys.exit("usage: export_memory.py [SMALL LARGE]")
