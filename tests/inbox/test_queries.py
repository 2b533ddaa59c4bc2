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
    # session, user, groups with the away state, page keys, page rows, counts (see below);
    # the filter choices come from the shared cache after the first page.
    assert max(many.values()) <= 8, many
    for url in URLS:
        assert count_queries(alice, url, **hx(target="queue")) <= many[url]


def test_the_inbox_page_runs_these_queries(
    alice: Client, submit: Any, reviewer: Any, other_reviewer: Any
) -> None:
    fill(submit, reviewer, other_reviewer, 3)
    alice.get("/inbox/")  # the filter menus into the shared cache
    keys = ["the page's keys: my assignments and each group's queue, one UNION ALL"]
    if connection.vendor != "postgresql":
        keys = ["the page's keys: my assignments", "the page's keys: the group's queue"]
    expected = [
        "the session",
        "the user",
        "my groups and my away state, one query (approvals/inbox/selectors.py reviewer_state)",
        *keys,
        "the page's rows with their policy, group and assignee names",
        "the counters, one statement",
    ]
    with CaptureQueriesContext(connection) as captured:
        assert alice.get("/inbox/").status_code == 200
    assert len(captured.captured_queries) == len(expected), "\n".join(
        q["sql"][:120] for q in captured.captured_queries
    )


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


# A decision through the inbox (HTMX: decide, then the next item's pane), sealing after commit
# as in production (docs/architecture.md "The audit chain: sealed after commit"):
DECIDE_VIEW_QUERIES = [
    "SELECT",  # the session
    "SELECT",  # the user
    "SELECT",  # my groups
    "SELECT",  # the request, if mine to see, with its policy: only what the form reads
    "SAVEPOINT",  # approval_decide's transaction
    "SELECT",  # the request again, locked (FOR UPDATE), with its policy
    "SELECT",  # my standing: member of the group? voted already? (one query)
    "INSERT",  # the Decision, final from the start
    "UPDATE",  # the request: approved
    "INSERT",  # its history row
    "INSERT",  # decided + approved: the audit entries, one INSERT
    "INSERT",  # the outbox event for the callback
    "SELECT",  # a HubSpot workflow action waiting on this request?
    "RELEASE",  # commit
    "SELECT",  # the next item of the view, found and loaded in one query
    "SELECT",  # its timeline (audit entries with their decisions)
    "SELECT",  # who asked for it (four-eyes)
    "SELECT",  # recent decisions of its policy
]


def decide_statements(client: Client, approval: ApprovalRequest) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.post(
            f"/inbox/{approval.pk}/decide", {"option": "approve", "comment": "ok"}, headers=hx()
        )
    assert response.status_code == 200
    assert b"recorded for" in response.content and b"data-detail" in response.content
    return [query["sql"].lstrip().split()[0].upper() for query in captured.captured_queries]


def test_a_decision_through_the_inbox_runs_a_fixed_number_of_queries(
    alice: Client, submit: Any, reviewer: Any, other_reviewer: Any, settings: Any
) -> None:
    settings.AUDIT_SEAL_INLINE = False
    fill(submit, reviewer, other_reviewer, 2)
    mine = ApprovalRequest.objects.filter(assignee=reviewer, status="pending")
    few = decide_statements(alice, mine.earliest("due_at", "id"))
    fill(submit, reviewer, other_reviewer, 48)  # 50 of each
    many = decide_statements(alice, mine.earliest("due_at", "id"))
    assert few == many == DECIDE_VIEW_QUERIES, "\n".join(many)
