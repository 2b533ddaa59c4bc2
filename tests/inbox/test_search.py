"""Search, filters and sorting of /inbox/ (issue 13, item 4): substrings of the title, the
external id and the visible payload fields; the heading and counters follow the filters; sorts
by due time, age and a numeric field page without repeats or gaps."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.db.models import F
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from approvals.models import ApprovalRequest, Policy, ReviewerGroup
from approvals.services import approval_decide
from tests.conftest import requires_postgres
from tests.factories import make_policy
from tests.inbox.conftest import hx

pytestmark = pytest.mark.django_db


def titles(response: Any) -> list[str]:
    assert response.status_code == 200, response.content[:500]
    return re.findall(r'<span class="row-title">([^<]*)</span>', response.content.decode())


def heading_count(response: Any) -> str:
    html = response.content.decode()
    found = re.search(r'id="list-title"[^>]*>[^<]*<span class="count">([^<]*)</span>', html)
    assert found, html[:2000]
    return found.group(1)


@pytest.fixture(autouse=True)
def schema(policy: Policy) -> None:
    """The refund schema's shape: `amount` a number (what the list can sort by)."""
    policy.payload_schema = {
        "type": "object",
        "properties": {"amount": {"type": "number"}, "customer": {"type": "string"}},
    }
    policy.save()


@pytest.fixture
def demo(submit: Any, reviewer: Any) -> list[ApprovalRequest]:
    return [
        submit(title="Refund for a broken kettle", external_id="demo-refund-approval-0249"),
        submit(title="Refund for late delivery", external_id="demo-refund-approval-1250"),
        submit(
            title="Refund for Globex",
            external_id="demo-refund-approval-0007",
            payload={"amount": 320, "currency": "EUR", "customer": "Globex Corp"},
        ),
    ]


def test_part_of_an_external_id_finds_the_request(alice: Client, demo: Any) -> None:
    assert titles(alice.get("/inbox/?q=0249")) == ["Refund for a broken kettle"]
    assert titles(alice.get("/inbox/?q=REFUND-APPROVAL-12")) == ["Refund for late delivery"]


def test_a_visible_payload_value_finds_the_request(alice: Client, demo: Any) -> None:
    assert titles(alice.get("/inbox/?q=globex corp")) == ["Refund for Globex"]
    assert titles(alice.get("/inbox/?q=eur")) == ["Refund for Globex"]


def test_a_hidden_payload_field_is_not_searched(
    alice: Client, submit: Any, policy: Policy, reviewer: Any
) -> None:
    policy.visible_fields = ["amount"]
    policy.save()
    submit(title="Refund", payload={"amount": 120, "customer": "secret-customer"})
    assert titles(alice.get("/inbox/?q=secret-customer")) == []
    assert titles(alice.get("/inbox/?q=refund")) == ["Refund"]


def test_wildcards_are_searched_for_literally(alice: Client, submit: Any, reviewer: Any) -> None:
    submit(title="Refund 100% of order")
    submit(title="Refund for order_9")
    assert titles(alice.get("/inbox/?q=100%")) == ["Refund 100% of order"]
    assert titles(alice.get("/inbox/?q=r_9")) == ["Refund for order_9"]
    assert titles(alice.get("/inbox/?q=%25")) == ["Refund 100% of order"]
    # The counters count with the same escaping.
    assert heading_count(alice.get("/inbox/?q=_")) == "1"


def test_an_edited_payload_is_searched_as_edited(
    alice: Client, submit: Any, reviewer: Any, support: ReviewerGroup
) -> None:
    from approvals.models import DecisionOption

    policy = make_policy(slug="outbound", group=support, threshold=None)
    policy.editable_fields = ["draft"]
    policy.save()
    DecisionOption.objects.filter(policy=policy, key="approve").update(
        may_edit_payload=True, outcome="approve"
    )
    policy.version += 1
    policy.save()
    approval = submit(policy=policy, title="Mail", payload={"draft": "hello old text"})
    approval_decide(
        approval=approval,
        reviewer=reviewer,
        option="approve",
        payload_edits={"draft": "Hello NEW text"},
    )
    approval.refresh_from_db()
    assert "hello new text" in approval.search_text and "old" not in approval.search_text


def test_the_heading_and_counters_follow_the_filters(
    alice: Client, demo: list[ApprovalRequest]
) -> None:
    everything = alice.get("/inbox/")
    assert heading_count(everything) == "3"
    assert "Clear filters" not in everything.content.decode()

    response = alice.get("/inbox/?q=0249")
    html = response.content.decode()
    assert heading_count(response) == "1"
    assert {v["key"]: v["count"] for v in response.context["views"]}["queue"] == 1
    assert "Clear filters" in html and "<mark>0249</mark>" in html
    # The fragment the search box fetches has the same heading, and the counters out of band.
    fragment = alice.get("/inbox/?q=0249", headers=hx(target="queue")).content.decode()
    assert 'hx-swap-oob="true"' in fragment and "Clear filters" in fragment


def test_clear_filters_keeps_the_view(alice: Client, demo: Any) -> None:
    html = alice.get("/inbox/?view=queue&q=0249").content.decode()
    link = re.search(r'<a href="([^"]*)" data-clear-filters>', html)
    assert link and link.group(1) == "/inbox/?view=queue"


def test_decided_view_searches_too(
    alice: Client, demo: list[ApprovalRequest], reviewer: Any
) -> None:
    approval_decide(approval=demo[0], reviewer=reviewer, option="approve")
    response = alice.get("/inbox/?view=decided&q=0249")
    assert titles(response) == ["Refund for a broken kettle"]
    assert heading_count(response) == "1"
    assert titles(alice.get("/inbox/?view=decided&q=1250")) == []


# --- sorting --------------------------------------------------------------------------------


def test_it_sorts_by_age_and_by_the_largest_amount(
    alice: Client, submit: Any, reviewer: Any
) -> None:
    now = timezone.now()
    submit(title="Old, small", payload={"amount": 60}, due_at=now + timedelta(hours=5))
    submit(title="Middle, big", payload={"amount": 900}, due_at=now + timedelta(hours=1))
    submit(title="New, no amount", payload={"note": "?"}, due_at=now + timedelta(hours=3))
    assert titles(alice.get("/inbox/")) == ["Middle, big", "New, no amount", "Old, small"]
    assert titles(alice.get("/inbox/?sort=age")) == ["Old, small", "Middle, big", "New, no amount"]
    assert titles(alice.get("/inbox/?sort=field:amount")) == [
        "Middle, big",
        "Old, small",
        "New, no amount",
    ]
    html = alice.get("/inbox/").content.decode()
    assert '<option value="field:amount">Largest amount</option>' in html


@pytest.mark.parametrize("sort", ["", "age", "field:amount"])
def test_every_sort_pages_without_repeats_or_gaps(
    alice: Client, submit: Any, reviewer: Any, sort: str
) -> None:
    now = timezone.now()
    for n in range(33):
        # Ties on every key (and some without an amount) make the id break them.
        payload = {"amount": 100 + float(n // 4)} if n % 5 else {"currency": "USD"}
        submit(title=f"Refund {n:02d}", payload=payload, due_at=now + timedelta(minutes=n // 3))
    seen: list[str] = []
    url = f"/inbox/?sort={sort}"
    while url:
        response = alice.get(url)
        seen += titles(response)
        next_query = response.context["next_query"]
        url = f"/inbox/?{next_query}" if next_query else ""
    assert len(seen) == 33 and len(set(seen)) == 33


def test_the_due_sort_pages_past_the_requests_without_a_due_time(
    alice: Client, submit: Any, reviewer: Any
) -> None:
    now = timezone.now()
    for n in range(30):
        approval = submit(title=f"Refund {n:02d}", due_at=now + timedelta(minutes=n // 3))
        if n % 4 == 0:  # no due time: last, by id (the second page starts among them)
            ApprovalRequest.objects.filter(pk=approval.pk).update(due_at=None)
    expected = list(
        ApprovalRequest.objects.order_by(F("due_at").asc(nulls_last=True), "id").values_list(
            "title", flat=True
        )
    )
    seen: list[str] = []
    url = "/inbox/"
    while url:
        response = alice.get(url)
        seen += titles(response)
        next_query = response.context["next_query"]
        url = f"/inbox/?{next_query}" if next_query else ""
    assert seen == expected


@pytest.mark.parametrize(
    "query",
    [
        "sort=amount",  # not a choice: fields are offered as field:<name>
        "sort=field:customer",  # not a numeric field
        "sort=field:amount&after=2026-01-01T00:00:00%2B00:00~0190f2a0-0000-7000-8000-000000000000",
        "sort=age&after=n12.5~0190f2a0-0000-7000-8000-000000000000",
        "sort=field:amount&after=nnan~0190f2a0-0000-7000-8000-000000000000",
        "q=" + "x" * 201,
    ],
)
def test_a_bad_sort_or_page_link_is_a_400_that_says_so(
    alice: Client, demo: Any, query: str
) -> None:
    response = alice.get(f"/inbox/?{query}")
    assert response.status_code == 400
    assert 'class="form-error"' in response.content.decode()


def test_anonymous_search_is_sent_to_sign_in(client: Client, demo: Any) -> None:
    response = client.get("/inbox/?q=0249")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_an_outsider_finds_nothing_of_another_group(
    client: Client, demo: Any, outsider: Any
) -> None:
    client.force_login(outsider)
    response = client.get("/inbox/?q=0249")
    assert titles(response) == [] and heading_count(response) == "0"


# --- cost -------------------------------------------------------------------------------------


def _count(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries)


SEARCH_URLS = [
    "/inbox/?q=refund",
    "/inbox/?q=0249&policy=refund-approval&group=support-leads",
    "/inbox/?q=refund&sort=age",
    "/inbox/?q=refund&sort=field:amount",
    "/inbox/?view=decided&q=refund",
]


def test_search_and_sort_queries_stay_flat_from_1_to_50_rows(
    alice: Client, submit: Any, reviewer: Any, other_reviewer: Any
) -> None:
    counter = iter(range(1000))

    def fill(n: int) -> None:
        for _ in range(n):
            i = next(counter)
            submit(title=f"Refund {i}", external_id=f"demo-refund-approval-{i:04d}")
            done = submit(title=f"Refund done {i}")
            approval_decide(approval=done, reviewer=reviewer, option="approve")

    fill(1)
    alice.get("/inbox/")  # the first page reads the filter menus into the shared cache
    few = {url: _count(alice, url) for url in SEARCH_URLS}
    fill(49)
    many = {url: _count(alice, url) for url in SEARCH_URLS}
    assert many == few
    assert max(many.values()) <= 12, many


# --- PostgreSQL: the trigram index at 100,000 open requests ----------------------------------


def _explain(sql: str, params: Any = None) -> str:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


@requires_postgres
def test_a_search_over_100000_open_requests_uses_the_trigram_index(
    client: Client, pending: ApprovalRequest, reviewer: Any
) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO approvals_approvalrequest (
                id, policy_id, policy_version, external_id, title, summary, payload,
                submitted_payload, callback_url, requested_by, caller, requester_email, status,
                route, route_reason, matched_rule, stage_plan, stage, assigned_group_id, due_at,
                due_at_overridden, escalated, escalation_count, created_at, updated_at, search_text
            )
            SELECT gen_random_uuid(), %(policy)s, 1, 'scale-' || n, 'Bulk refund ' || n, '',
                   '{"amount": 120}', '{"amount": 120}', '', 'zendesk', 'zendesk', '', 'pending',
                   'human', '',
                   '', '[]', 1, %(group)s, now() + (n %% 5000) * interval '1 minute',
                   false, false, 0, now(), now(),
                   'bulk refund ' || n || E'\\n' || 'scale-' || n || E'\\n120'
            FROM generate_series(1, 100000) AS n
            """,
            {"policy": pending.policy_id, "group": pending.assigned_group_id},
        )
        cursor.execute("ANALYZE approvals_approvalrequest")
    client.force_login(reviewer)
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/inbox/?q=scale-94249")
    assert titles(response) == ["Bulk refund 94249"]
    plans = [
        _explain(query["sql"])
        for query in captured.captured_queries
        if "search_text" in query["sql"] and "approvals_approvalrequest" in query["sql"]
    ]
    assert len(plans) >= 2, captured.captured_queries  # the page's keys and the counters
    for explained in plans:
        assert "req_search_trgm" in explained, explained
        assert "Seq Scan on approvals_approvalrequest" not in explained, explained
