"""Exporting ten times the decisions keeps the export's peak memory flat (keyset pages, no
payloads loaded). 5,000 vs 50,000 rows here to keep the suite quick; `bench/export_memory.py`
runs 10,000 vs 100,000 the same way."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import connection

from approvals.models import ApprovalRequest
from bench.export_memory import measure_export_peak, seed_decisions
from tests.conftest import requires_postgres

pytestmark = [pytest.mark.django_db, requires_postgres]

SMALL, LARGE = 5_000, 50_000
REQUESTS = 50  # submitting is the slow part of seeding; the decisions fan out over these


def test_peak_memory_is_flat_from_5000_to_50000_rows(
    submit: Callable[..., ApprovalRequest],
) -> None:
    # Big payloads on the requests: the export must never load them.
    big = {"amount": 500, "notes": "x" * 20_000}
    ids = [submit(payload=big).pk for _ in range(REQUESTS)]
    seed_decisions(approval_ids=ids, count=SMALL)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE approvals_decision")
    small_rows, small_peak = measure_export_peak()

    seed_decisions(approval_ids=ids, count=LARGE - SMALL)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE approvals_decision")
    large_rows, large_peak = measure_export_peak()

    assert (small_rows, large_rows) == (SMALL, LARGE)
    # Flat: ten times the rows may cost a little more (allocator noise, longer strings), not
    # ten times the memory. One page of 2,000 rows is the working set.
    assert large_peak < small_peak * 1.5, (small_peak, large_peak)
    assert large_peak < 32 * 1024 * 1024
