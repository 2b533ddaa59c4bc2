"""The hot pages run a fixed number of queries whether a reviewer has 1 or 50 requests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from approvals.models import ApprovalRequest
from approvals.services import approval_claim, approval_decide
from tests.inbox.conftest import hx


def count_queries(client: Client, url: str, **headers: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, headers=headers)
    assert response.status_code == 200
    return len(captured.captured_queries)


def fill(
    submit: Callable[..., ApprovalRequest], reviewer: Any, other: Any, n: int
) -> ApprovalRequest:
    """n rounds of: one open request of mine, one in the queue, one decided (with history)."""
    last = None
    for i in range(n):
        approval_claim(approval=submit(title=f"Mine {i}"), reviewer=reviewer)
        approval = submit(title=f"Open {i}")
        done = submit(title=f"Done {i}")
        approval_decide(
            approval=done, reviewer=reviewer if i % 2 else other, option="approve", comment="ok"
        )
        last = approval
    assert last is not None
    return last


URLS = [
    "/inbox/",
    "/inbox/?view=assigned",
    "/inbox/?view=queue",
    "/inbox/?view=overdue",
    "/inbox/?view=decided",
    "/inbox/?q=o&policy=refund-approval&group=support-leads",
]


def test_the_inbox_queries_stay_flat_from_1_to_50_requests(
    alice: Client, submit: Any, reviewer: Any, other_reviewer: Any
) -> None:
    fill(submit, reviewer, other_reviewer, 1)
    alice.get("/inbox/")  # the first page reads the filter menus into the shared cache
    few = {url: count_queries(alice, url) for url in URLS}
    fill(submit, reviewer, other_reviewer, 49)  # 50 of each
    many = {url: count_queries(alice, url) for url in URLS}
    assert many == few
    # user, session, groups, page keys per part, page rows, counts (2), the away state (full
    # page only); the filter choices come from the shared cache after the first page.
    assert max(many.values()) <= 10, many
    for url in URLS:
        assert count_queries(alice, url, **hx(target="queue")) <= many[url]


def test_the_detail_queries_stay_flat_from_1_to_50_requests(
    alice: Client, submit: Any, reviewer: Any, other_reviewer: Any
) -> None:
    one = fill(submit, reviewer, other_reviewer, 1)
    alice.get("/inbox/")  # the first page reads the filter menus into the shared cache
    few_page = count_queries(alice, f"/inbox/{one.pk}/")
    few_fragment = count_queries(alice, f"/inbox/{one.pk}/", **hx(target="detail"))
    last = fill(submit, reviewer, other_reviewer, 49)
    assert count_queries(alice, f"/inbox/{last.pk}/") == few_page
    assert count_queries(alice, f"/inbox/{last.pk}/", **hx(target="detail")) == few_fragment
    assert few_fragment <= 8, few_fragment
