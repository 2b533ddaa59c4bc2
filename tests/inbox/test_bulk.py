"""POST /inbox/bulk/ (issue 13, item 3): approve or reject a selection with one comment, each
request through approval_decide on its own; partial failures named; bad input refused whole."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from approvals.models import (
    ApprovalRequest,
    AuditEntry,
    Decision,
    DecisionOption,
    OutboxEvent,
)
from approvals.services import approval_decide
from tests.factories import make_policy
from tests.inbox.conftest import hx

pytestmark = pytest.mark.django_db

Status = ApprovalRequest.Status
URL = "/inbox/bulk/"


@pytest.fixture
def three(submit: Any, reviewer: Any, other_reviewer: Any) -> list[ApprovalRequest]:
    return [submit(title=f"Refund {n}") for n in range(3)]


def snapshot() -> tuple[int, int, int, list[str]]:
    return (
        Decision.objects.count(),
        AuditEntry.objects.count(),
        OutboxEvent.objects.count(),
        sorted(ApprovalRequest.objects.values_list("status", flat=True)),
    )


def post(client: Client, ids: list[Any], option: str = "approve", **extra: Any) -> Any:
    data = {"ids": [str(pk) for pk in ids], "option": option, "comment": "Receipts checked."}
    data.update(extra)
    return client.post(URL, data, headers=hx())


def test_it_approves_the_selection_each_with_its_decision_audit_and_outbox_event(
    alice: Client, three: list[ApprovalRequest], reviewer: Any
) -> None:
    response = post(alice, [a.pk for a in three])

    assert response.status_code == 200
    assert "3 approved." in response.content.decode()
    assert json.loads(response["HX-Trigger"])["approval-decided"]["ids"]
    for approval in three:
        approval.refresh_from_db()
        assert approval.status == Status.APPROVED
        decision = Decision.objects.get(approval=approval)
        assert (decision.decided_by, decision.comment, decision.channel) == (
            reviewer,
            "Receipts checked.",
            "web",
        )
        assert AuditEntry.objects.filter(approval=approval, decision=decision).exists()
        assert OutboxEvent.objects.filter(approval=approval, event_type="request.decided").exists()


def test_it_rejects_the_selection(alice: Client, three: list[ApprovalRequest]) -> None:
    response = post(alice, [three[0].pk, three[1].pk], option="reject")
    assert "2 rejected." in response.content.decode()
    statuses = [ApprovalRequest.objects.get(pk=a.pk).status for a in three]
    assert statuses == [Status.REJECTED, Status.REJECTED, Status.PENDING]


def test_partial_failures_are_named(
    alice: Client, three: list[ApprovalRequest], other_reviewer: Any
) -> None:
    approval_decide(approval=three[0], reviewer=other_reviewer, option="approve")
    approval_decide(approval=three[1], reviewer=other_reviewer, option="reject")

    response = post(alice, [a.pk for a in three])

    html = response.content.decode()
    assert response.status_code == 200
    assert "1 approved." in html
    assert "2 were already decided by bob." in html
    assert ApprovalRequest.objects.get(pk=three[2].pk).status == Status.APPROVED


def test_a_request_that_moved_on_or_was_taken_is_no_longer_mine(
    alice: Client, submit: Any, reviewer: Any, other_reviewer: Any, support: Any, finance: Any
) -> None:
    from tests.factories import StageFactory

    two_stage = make_policy(slug="two-stage", group=support, threshold=None)
    StageFactory.create(policy=two_stage, position=2, group=finance)
    moved = submit(policy=two_stage, title="Moved on")
    approval_decide(approval=moved, reviewer=other_reviewer, option="approve")  # now finance's
    taken = submit(title="Taken")
    taken_by_bob = ApprovalRequest.objects.filter(pk=taken.pk)
    taken_by_bob.update(assignee=other_reviewer)
    free = submit(title="Free")
    before = Decision.objects.count()

    html = post(alice, [moved.pk, taken.pk, free.pk]).content.decode()

    assert "1 approved." in html
    assert "1 was no longer yours to decide." in html
    assert "1 was taken by bob." in html
    assert Decision.objects.count() == before + 1
    assert taken_by_bob.get().status == Status.PENDING


def test_the_requester_and_a_missing_comment_are_named(
    alice: Client, submit: Any, reviewer: Any, policy: Any
) -> None:
    DecisionOption.objects.filter(policy=policy, key="reject").update(needs_comment=True)
    policy.version += 1
    policy.save()
    mine = submit(title="Mine", requested_by="alice")
    other = submit(title="Other")

    approve = post(alice, [mine.pk, other.pk], comment="").content.decode()
    assert "1 approved." in approve
    assert "1 was requested by you (someone else has to approve it)." in approve

    third = submit(title="Third")
    reject = post(alice, [third.pk], option="reject", comment="").content.decode()
    assert "Nothing was rejected." in reject and "1 needs a comment" in reject
    assert ApprovalRequest.objects.get(pk=third.pk).status == Status.PENDING


def test_a_policy_with_no_single_plain_option_is_left_for_its_own_page(
    alice: Client, submit: Any, reviewer: Any, support: Any
) -> None:
    sync = make_policy(slug="data-sync", group=support, threshold=None)
    DecisionOption.objects.filter(policy=sync).delete()
    for position, key in enumerate(("use_crm", "use_erp")):
        DecisionOption.objects.create(
            policy=sync, key=key, label=key, outcome="approve", position=position
        )
    sync.version += 1
    sync.save()
    conflict = submit(policy=sync, title="Conflict")
    refund = submit(title="Refund")

    html = post(alice, [conflict.pk, refund.pk]).content.decode()

    assert "1 approved." in html and "1 needs deciding on their own page." in html
    assert ApprovalRequest.objects.get(pk=conflict.pk).status == Status.PENDING


def test_without_htmx_it_goes_back_to_the_list_with_a_message(
    alice: Client, three: list[ApprovalRequest]
) -> None:
    response = alice.post(
        URL, {"ids": [str(three[0].pk)], "option": "approve", "view": "queue"}, follow=True
    )
    assert response.redirect_chain == [("/inbox/?view=queue", 302)]
    assert "1 approved." in response.content.decode()


# --- bad input: a clear 4xx, nothing changes --------------------------------------------------


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        ({"option": "approve"}, 400, "Select at least one request."),
        ({"ids": ["MINE"]}, 400, "Choose Approve or Reject."),
        ({"ids": ["MINE"], "option": "request_changes"}, 400, "Only Approve and Reject"),
        ({"ids": ["MINE"], "option": "use_crm"}, 400, "Only Approve and Reject"),
        ({"ids": ["MINE", "not-a-uuid"], "option": "approve"}, 400, "is not valid"),
        ({"ids": ["MINE"], "option": "approve", "comment": "x" * 10_001}, 400, "10000"),
        ({"ids": ["MINE", str(uuid.uuid4())], "option": "approve"}, 404, "1 of the selected"),
        ({"ids": ["MINE", "THEIRS"], "option": "approve"}, 404, "1 of the selected"),
    ],
)
def test_bad_input_is_refused_whole(
    alice: Client,
    three: list[ApprovalRequest],
    outsider: Any,
    submit: Any,
    finance: Any,
    data: dict[str, Any],
    status: int,
    message: str,
) -> None:
    theirs_policy = make_policy(slug="finance-policy", group=finance, threshold=None)
    theirs = submit(policy=theirs_policy, title="Finance's")
    swap = {"MINE": str(three[0].pk), "THEIRS": str(theirs.pk)}
    if "ids" in data:
        data = {**data, "ids": [swap.get(value, value) for value in data["ids"]]}
    before = snapshot()

    response = alice.post(URL, data, headers=hx())

    assert response.status_code == status
    assert message in response.content.decode()
    assert snapshot() == before


def test_more_than_100_ids_is_a_400(alice: Client, three: list[ApprovalRequest]) -> None:
    ids = [three[0].pk] + [uuid.uuid4() for _ in range(100)]
    before = snapshot()
    response = post(alice, ids)
    assert response.status_code == 400
    assert "at most 100" in response.content.decode()
    assert snapshot() == before


def test_a_bad_post_without_htmx_shows_the_inbox_with_the_error(
    alice: Client, three: list[ApprovalRequest]
) -> None:
    response = alice.post(URL, {"option": "approve"})
    assert response.status_code == 400
    assert "Select at least one request." in response.content.decode()


def test_an_outsider_gets_404_and_nothing_changes(
    client: Client, three: list[ApprovalRequest], outsider: Any
) -> None:
    client.force_login(outsider)
    before = snapshot()
    response = post(client, [a.pk for a in three])
    assert response.status_code == 404
    assert snapshot() == before


def test_anonymous_is_sent_to_sign_in_and_nothing_changes(
    client: Client, three: list[ApprovalRequest]
) -> None:
    before = snapshot()
    response = client.post(URL, {"ids": [str(three[0].pk)], "option": "approve"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert snapshot() == before


def test_get_is_not_allowed(alice: Client) -> None:
    assert alice.get(URL).status_code == 405


# --- cost -------------------------------------------------------------------------------------


def test_the_bulk_queries_grow_only_by_the_cost_of_each_decision(
    alice: Client, submit: Any, reviewer: Any, other_reviewer: Any
) -> None:
    """The view's own work is flat (user, session, groups, the rows in one query, the bar);
    each decision costs what `approval_decide` costs (test_write_path_queries.py's budget, plus
    sealing, which the tests do inline). So total = a + b * n, exactly, from 1 to 50 rows."""

    def cost(n: int) -> int:
        ids = [submit(title=f"Refund {i}").pk for i in range(n)]
        with CaptureQueriesContext(connection) as captured:
            response = post(alice, ids)
        assert f"{n} approved." in response.content.decode()
        return len(captured.captured_queries)

    cost(1)  # warm the policy's specs
    one, two, fifty = cost(1), cost(2), cost(50)
    per_decision = two - one
    assert fifty == one + 49 * per_decision
    fixed = one - per_decision
    assert fixed <= 6, fixed
    assert per_decision <= 16, per_decision
