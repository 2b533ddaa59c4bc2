"""/inbox/ and /inbox/<id>/: views, counts, filters, search, pages, fragments, deciding."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from approvals.models import ApprovalRequest, AuditEntry, Decision, Membership, ReviewerGroup
from approvals.services import approval_claim, approval_decide, approval_submit
from playbooks.installer import install_playbook
from tests.inbox.conftest import hx

Status = ApprovalRequest.Status


def titles(response: Any) -> list[str]:
    return re.findall(r'<span class="row-title">([^<]*)</span>', response.content.decode())


def state(approval: ApprovalRequest) -> tuple[Any, ...]:
    approval.refresh_from_db()
    return (
        approval.status,
        approval.assignee_id,
        approval.payload,
        Decision.objects.filter(approval=approval).count(),
        AuditEntry.objects.filter(approval=approval).count(),
    )


@pytest.fixture
def three(submit: Any, reviewer: Any, other_reviewer: Any) -> list[ApprovalRequest]:
    now = timezone.now()
    return [
        submit(title="Late refund", due_at=now + timedelta(hours=9)),
        submit(title="Urgent refund", due_at=now + timedelta(hours=1)),
        submit(title="Overdue refund", due_at=now - timedelta(minutes=5)),
    ]


# --- the list ---------------------------------------------------------------------------------


def test_it_lists_my_groups_work_ordered_by_due_time(alice: Client, three: Any) -> None:
    response = alice.get("/inbox/")
    assert response.status_code == 200
    assert titles(response) == ["Overdue refund", "Urgent refund", "Late refund"]


def test_each_view_shows_its_requests_and_its_count(
    alice: Client, three: list[ApprovalRequest], reviewer: Any, other_reviewer: Any
) -> None:
    late, urgent, overdue = three
    approval_claim(approval=urgent, reviewer=reviewer)
    approval_claim(approval=late, reviewer=other_reviewer)  # bob's: not my work
    decided = approval_decide(approval=overdue, reviewer=reviewer, option="approve").approval
    expected = {
        "todo": ["Urgent refund"],
        "assigned": ["Urgent refund"],
        "queue": [],
        "due_soon": ["Urgent refund"],
        "overdue": [],
        "decided": [decided.title],
    }
    for view, wanted in expected.items():
        response = alice.get(f"/inbox/?view={view}")
        assert titles(response) == wanted, view
        assert response.context["view_count"] == str(len(wanted)), view


def test_the_overdue_view_and_the_group_queue(alice: Client, three: Any) -> None:
    assert titles(alice.get("/inbox/?view=overdue")) == ["Overdue refund"]
    assert titles(alice.get("/inbox/?view=queue")) == [
        "Overdue refund",
        "Urgent refund",
        "Late refund",
    ]
    counts = {v["key"]: v["count"] for v in alice.get("/inbox/").context["views"]}
    assert counts == {
        "todo": 3,
        "assigned": 0,
        "queue": 3,
        "due_soon": 1,
        "overdue": 1,
        "decided": 0,
    }


def test_it_filters_by_policy_and_group_and_searches_title_and_external_id(
    alice: Client, submit: Any, reviewer: Any, support: ReviewerGroup
) -> None:
    from tests.factories import make_policy

    other_policy = make_policy(slug="credit-note", group=support, name="Credit note")
    submit(title="Refund for Acme", external_id="ticket-1")
    submit(title="Credit for Globex", external_id="ticket-2", policy=other_policy)
    assert titles(alice.get("/inbox/?policy=credit-note")) == ["Credit for Globex"]
    assert titles(alice.get("/inbox/?group=support-leads&q=for acme")) == ["Refund for Acme"]
    assert titles(alice.get("/inbox/?q=ticket-2")) == ["Credit for Globex"]
    assert titles(alice.get("/inbox/?q=nothing-like-it")) == []


def test_the_filter_menus_follow_policy_and_group_changes_at_once(
    alice: Client, policy: Any, reviewer: Any, support: ReviewerGroup
) -> None:
    """The menus come from the shared cache; a change to a policy, a stage or a group shows on
    the next page all the same."""
    from tests.factories import make_policy

    assert '<option value="refund-approval">Refund Approval</option>' in page(alice)
    policy.name = "Refunds over 50"
    policy.save()
    assert '<option value="refund-approval">Refunds over 50</option>' in page(alice)
    make_policy(slug="credit-note", group=support, name="Credit note")
    assert '<option value="credit-note">Credit note</option>' in page(alice)
    support.name = "Support desk"
    support.save()
    assert '<option value="support-leads">Support desk</option>' in page(alice)


def test_a_cache_outage_costs_the_menus_their_cache_not_the_page(
    alice: Client, policy: Any, settings: Any
) -> None:
    """Redis down (nothing listens on port 1): the menus are read from the database and a
    policy still saves."""
    settings.CACHES = {
        "default": {
            "BACKEND": "approvals.cache.KeptRedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.2},
        }
    }
    assert '<option value="refund-approval">Refund Approval</option>' in page(alice)
    policy.name = "Refunds over 50"
    policy.save()
    assert '<option value="refund-approval">Refunds over 50</option>' in page(alice)


def page(client: Client) -> str:
    return client.get("/inbox/").content.decode()


def test_it_pages_by_due_time_without_repeats_or_gaps(alice: Client, submit: Any) -> None:
    now = timezone.now()
    for n in range(30):
        # A few share one due time: the page boundary must break the tie by id.
        submit(title=f"Refund {n:02d}", due_at=now + timedelta(minutes=n // 3))
    submit(title="No due time", due_at=None)
    ApprovalRequest.objects.filter(title="No due time").update(due_at=None)
    first = alice.get("/inbox/")
    assert len(titles(first)) == 25
    next_query = first.context["next_query"]
    second = alice.get(f"/inbox/?{next_query}")
    assert second.status_code == 200
    seen = titles(first) + titles(second)
    assert seen == [f"Refund {n:02d}" for n in range(30)] + ["No due time"]
    assert second.context["next_query"] == ""


@pytest.mark.parametrize(
    "query",
    ["view=everything", "after=not-a-cursor", "after=2026-01-01T00:00:00~nope", "policy=nope"],
)
def test_bad_list_parameters_are_a_400_that_says_why(
    alice: Client, pending: ApprovalRequest, query: str
) -> None:
    response = alice.get(f"/inbox/?{query}")
    assert response.status_code == 400
    assert 'class="form-error"' in response.content.decode()


def test_htmx_gets_the_queue_fragment_or_the_counters(alice: Client, pending: Any) -> None:
    page = alice.get("/inbox/")
    assert "<html" in page.content.decode()
    queue = alice.get("/inbox/?view=queue", headers=hx(target="queue"))
    body = queue.content.decode()
    assert "<html" not in body and 'id="queue"' in body
    assert 'hx-swap-oob="true"' in body  # a view switch redraws the counters too
    refresh = alice.get("/inbox/", headers=hx(target="queue", trigger="queue"))
    assert 'hx-swap-oob="true"' not in refresh.content.decode()
    counters = alice.get("/inbox/", headers=hx(target="views"))
    body = counters.content.decode()
    assert body.lstrip().startswith('<ul id="views"') and 'id="queue"' not in body
    assert 'hx-trigger="approval-decided from:body' in body


def test_every_htmx_link_also_works_without_javascript(
    alice: Client, pending: ApprovalRequest
) -> None:
    for url in ("/inbox/", "/inbox/?view=queue", f"/inbox/{pending.pk}/"):
        html = alice.get(url).content.decode()
        for tag in re.findall(r"<a\s[^>]*hx-get[^>]*>", html):
            assert "href=" in tag, tag
        for tag in re.findall(r"<form\s[^>]*hx-post[^>]*>", html):
            assert 'method="post"' in tag and "action=" in tag, tag
        assert "hx-headers" in html and "X-CSRFToken" in html


# --- the detail page ------------------------------------------------------------------------


def test_the_detail_shows_only_the_fields_the_policy_makes_visible(
    alice: Client, submit: Any, policy: Any
) -> None:
    policy.visible_fields = ["amount", "customer"]
    policy.save()
    approval = submit(
        title="Refund",
        summary="Damaged item.",
        payload={"amount": 120, "customer": "acme", "card_number": "4111-SECRET-1111"},
    )
    html = alice.get(f"/inbox/{approval.pk}/").content.decode()
    assert "acme" in html and "120" in html and "Damaged item." in html
    assert "SECRET" not in html and "card_number" not in html
    assert policy.summary in html


def test_the_detail_is_a_fragment_for_htmx_and_a_page_otherwise(
    alice: Client, pending: ApprovalRequest
) -> None:
    page = alice.get(f"/inbox/{pending.pk}/")
    assert page.status_code == 200 and "<html" in page.content.decode()
    assert pending.title in page.content.decode()
    fragment = alice.get(f"/inbox/{pending.pk}/", headers=hx(target="detail"))
    body = fragment.content.decode()
    assert fragment.status_code == 200 and "<html" not in body
    assert body.lstrip().startswith("<article") and pending.title in body


def test_the_buttons_and_the_comment_box_carry_the_options_labels(
    alice: Client, pending: ApprovalRequest
) -> None:
    html = alice.get(f"/inbox/{pending.pk}/").content.decode()
    detail = html[html.index("data-detail") :]  # the list's bulk bar has buttons of its own
    labels = re.findall(
        r'<button type="submit" name="option" value="[^"]+"[^>]*>([^<]+)</button>', detail
    )
    assert labels == ["Approve", "Reject", "Request changes"]
    assert '<label for="decide-comment">Comment</label>' in html


def test_the_timeline_tells_who_did_what_in_which_stage(
    alice: Client, pending: ApprovalRequest, other_reviewer: Any, reviewer: Any
) -> None:
    ApprovalRequest.objects.filter(pk=pending.pk).update(
        stage_plan=[{**pending.stage_plan[0], "quorum": "count", "quorum_count": 2}]
    )
    approval_decide(approval=pending, reviewer=other_reviewer, option="approve", comment="fine")
    response = alice.get(f"/inbox/{pending.pk}/")
    timeline = [
        (item["verb"], item["actor"], item["text"]) for item in response.context["timeline"]
    ]
    verbs = [verb for verb, _, _ in timeline]
    assert verbs[:3] == ["Created", "Routed", "Assigned"]
    assert ("Decided", "bob", "Approve in stage 1: “fine”") in timeline


def test_a_resubmission_shows_the_previous_revision_and_its_diff(
    alice: Client, submit: Any, reviewer: Any
) -> None:
    first = submit(title="Refund", payload={"amount": 120, "customer": "acme"}, external_id="t-1")
    approval_decide(approval=first, reviewer=reviewer, option="request_changes", comment="proof?")
    first.refresh_from_db()
    second = submit(
        title="Refund with proof",
        payload={"amount": 95, "customer": "acme"},
        external_id="t-1",
        previous=first,
    )
    response = alice.get(f"/inbox/{second.pk}/")
    diff = {row["field"]: (row["before"], row["after"]) for row in response.context["diff"]}
    assert diff == {"Title": ("Refund", "Refund with proof"), "Amount": ("120", "95")}
    html = response.content.decode()
    assert f"/inbox/{first.pk}/" in html
    # The asker's comment and the diff come first, above the request's details.
    top = html[html.index('id="detail-title"') : html.index('id="fields-title"')]
    assert "alice asked for changes" in top and "“proof?”" in top and 'class="diff"' in top


def test_it_shows_recent_decisions_of_the_same_policy(
    alice: Client, submit: Any, reviewer: Any
) -> None:
    old = submit(title="Earlier refund")
    approval_decide(approval=old, reviewer=reviewer, option="reject", comment="no receipt")
    current = submit(title="Current refund")
    html = alice.get(f"/inbox/{current.pk}/").content.decode()
    recent = html[html.index('id="recent-title"') :]
    assert "Earlier refund" in recent and "no receipt" in recent


# --- deciding ---------------------------------------------------------------------------------


def test_approving_with_a_comment_records_it_and_the_next_item_slides_in(
    alice: Client, three: list[ApprovalRequest]
) -> None:
    _late, urgent, overdue = three
    response = alice.post(
        f"/inbox/{overdue.pk}/decide",
        {"option": "approve", "comment": "Receipt checked."},
        headers=hx(),
    )
    assert response.status_code == 200
    assert '"approval-decided"' in response["HX-Trigger"]
    assert response["HX-Push-Url"] == f"/inbox/{urgent.pk}/"
    assert "Urgent refund" in response.content.decode()  # the next item, by due time
    decision = Decision.objects.get(approval=overdue)
    assert (decision.outcome, decision.comment, decision.channel, decision.decided_by_name) == (
        "approve",
        "Receipt checked.",
        "web",
        "alice",
    )


def test_without_javascript_a_decision_redirects_to_the_next_item(
    alice: Client, three: list[ApprovalRequest]
) -> None:
    _late, urgent, overdue = three
    response = alice.post(f"/inbox/{overdue.pk}/decide", {"option": "reject"})
    assert response.status_code == 302 and response["Location"] == f"/inbox/{urgent.pk}/"


def test_the_last_decision_leaves_an_empty_state(alice: Client, pending: ApprovalRequest) -> None:
    response = alice.post(f"/inbox/{pending.pk}/decide", {"option": "approve"}, headers=hx())
    assert response.status_code == 200
    assert "All clear." in response.content.decode()
    assert response["HX-Push-Url"] == "/inbox/"


def test_a_request_for_changes_without_a_comment_is_refused_politely(
    alice: Client, pending: ApprovalRequest
) -> None:
    before = state(pending)
    response = alice.post(
        f"/inbox/{pending.pk}/decide", {"option": "request_changes"}, headers=hx()
    )
    assert response.status_code == 422
    assert "needs a comment" in response.content.decode()
    assert state(pending) == before


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"option": "teleport"},
        {"option": "approve", "comment": "x" * 10_001},
        {"option": "approve", "value": "v" * 2_001},
    ],
)
def test_malformed_decisions_are_a_422_that_change_nothing(
    alice: Client, pending: ApprovalRequest, data: dict[str, Any]
) -> None:
    before = state(pending)
    response = alice.post(f"/inbox/{pending.pk}/decide", data, headers=hx())
    assert response.status_code == 422
    assert state(pending) == before


def test_the_second_decider_is_told_who_decided_and_when(
    alice: Client, pending: ApprovalRequest, other_reviewer: Any
) -> None:
    approval_decide(approval=pending, reviewer=other_reviewer, option="approve")
    before = state(pending)
    response = alice.post(f"/inbox/{pending.pk}/decide", {"option": "reject"}, headers=hx())
    assert response.status_code == 409
    assert re.search(
        r"Already decided by bob at \d{4}-\d\d-\d\d \d\d:\d\d", response.content.decode()
    )
    assert state(pending) == before


def test_the_requester_cannot_approve_their_own_request(
    alice: Client, submit: Any, reviewer: Any
) -> None:
    approval = submit(requested_by="alice@example.com")
    before = state(approval)
    response = alice.post(f"/inbox/{approval.pk}/decide", {"option": "approve"}, headers=hx())
    assert response.status_code == 403
    assert "someone else has to approve it" in response.content.decode()
    assert state(approval) == before


def test_a_get_on_the_decide_endpoint_is_refused(alice: Client, pending: ApprovalRequest) -> None:
    assert alice.get(f"/inbox/{pending.pk}/decide").status_code == 405


@pytest.fixture
def revops_reviewer(reviewer: Any) -> Any:
    install_playbook("data-sync-conflict")
    Membership.objects.create(group=ReviewerGroup.objects.get(slug="revops"), user=reviewer)
    return reviewer


def sync_conflict() -> ApprovalRequest:
    from approvals.models import Policy

    return approval_submit(
        policy=Policy.objects.get(slug="data-sync-conflict"),
        title="Billing city differs",
        payload={"record": "acct/42", "field": "city", "crm_value": "Lyon", "erp_value": "Paris"},
    )


def test_custom_needs_a_value_and_records_it(alice: Client, revops_reviewer: Any) -> None:
    approval = sync_conflict()
    html = alice.get(f"/inbox/{approval.pk}/").content.decode()
    assert ">Use CRM</button>" in html and ">Custom</button>" in html
    assert '<label for="decide-value">Value</label>' in html
    before = state(approval)
    refused = alice.post(f"/inbox/{approval.pk}/decide", {"option": "custom"}, headers=hx())
    assert refused.status_code == 422 and "needs a value" in refused.content.decode()
    assert state(approval) == before
    done = alice.post(
        f"/inbox/{approval.pk}/decide", {"option": "custom", "value": "Villeurbanne"}, headers=hx()
    )
    assert done.status_code == 200
    assert Decision.objects.get(approval=approval).value == "Villeurbanne"


@pytest.fixture
def marketing_reviewer(reviewer: Any) -> Any:
    install_playbook("ai-outbound-review")
    group = ReviewerGroup.objects.get(slug="marketing-reviewers")
    Membership.objects.create(group=group, user=reviewer)
    return reviewer


def draft_request() -> ApprovalRequest:
    from approvals.models import Policy

    return approval_submit(
        policy=Policy.objects.get(slug="ai-outbound-review"),
        title="Outbound email",
        payload={"draft": "Hi Jane, we promise 50% off forever.", "recipient": "jane@x.example"},
    )


def test_an_edited_draft_is_approved_with_the_diff_on_the_decision(
    alice: Client, marketing_reviewer: Any
) -> None:
    approval = draft_request()
    html = alice.get(f"/inbox/{approval.pk}/").content.decode()
    assert 'name="edit:draft"' in html
    response = alice.post(
        f"/inbox/{approval.pk}/decide",
        {"option": "approve", "edit:draft": "Hi Jane, here is the offer we discussed."},
        headers=hx(),
    )
    assert response.status_code == 200
    decision = Decision.objects.get(approval=approval)
    assert decision.payload_changes == {
        "draft": {
            "from": "Hi Jane, we promise 50% off forever.",
            "to": "Hi Jane, here is the offer we discussed.",
        }
    }
    approval.refresh_from_db()
    assert approval.payload["draft"] == "Hi Jane, here is the offer we discussed."


def test_an_unchanged_draft_records_no_changes_and_a_reject_ignores_edits(
    alice: Client, marketing_reviewer: Any
) -> None:
    unchanged = draft_request()
    alice.post(
        f"/inbox/{unchanged.pk}/decide",
        {"option": "approve", "edit:draft": unchanged.payload["draft"]},
    )
    assert Decision.objects.get(approval=unchanged).payload_changes == {}
    edited = approval_submit(
        policy=unchanged.policy, title="Another", payload={"draft": "Hello", "recipient": "r"}
    )
    alice.post(f"/inbox/{edited.pk}/decide", {"option": "reject", "edit:draft": "Bye"})
    edited.refresh_from_db()
    assert edited.status == Status.REJECTED and edited.payload["draft"] == "Hello"


# --- claim and release ----------------------------------------------------------------------------


def test_claim_and_release_move_a_request_between_me_and_the_queue(
    alice: Client, pending: ApprovalRequest, reviewer: Any
) -> None:
    response = alice.post(f"/inbox/{pending.pk}/claim", headers=hx())
    assert response.status_code == 200 and '"approval-claimed"' in response["HX-Trigger"]
    pending.refresh_from_db()
    assert pending.assignee == reviewer
    assert titles(alice.get("/inbox/?view=assigned")) == [pending.title]
    response = alice.post(f"/inbox/{pending.pk}/release")
    assert response.status_code == 302
    pending.refresh_from_db()
    assert pending.assignee is None
    assert titles(alice.get("/inbox/?view=queue")) == [pending.title]


def test_claiming_what_a_colleague_claimed_is_a_polite_409(
    alice: Client, pending: ApprovalRequest, other_reviewer: Any
) -> None:
    approval_claim(approval=pending, reviewer=other_reviewer)
    before = state(pending)
    response = alice.post(f"/inbox/{pending.pk}/claim", headers=hx())
    assert response.status_code == 409
    assert "Already claimed by bob" in response.content.decode()
    assert state(pending) == before


def test_releasing_what_is_not_mine_is_a_403(
    alice: Client, pending: ApprovalRequest, other_reviewer: Any
) -> None:
    approval_claim(approval=pending, reviewer=other_reviewer)
    before = state(pending)
    assert alice.post(f"/inbox/{pending.pk}/release", headers=hx()).status_code == 403
    assert state(pending) == before
