"""What one "a request waits on you" notice costs in queries (docs/notifications.md)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from approvals.models import ApprovalRequest, DeepLink, Notification, Policy
from approvals.notifications.email import notify
from approvals.services import approval_decide
from approvals.services.approvals import first_vote_ends_stage
from approvals.services.policies import policy_specs


def _statements(captured: CaptureQueriesContext) -> list[str]:
    return [query["sql"].split()[0].upper() for query in captured.captured_queries]


def test_an_assigned_notice_reads_two_rows_and_writes_three(
    pending: ApprovalRequest, reviewer: Any
) -> None:
    ApprovalRequest.objects.filter(pk=pending.pk).update(assignee=reviewer)
    policy_specs(pending.policy)  # the options are cached per policy version, as in a worker
    with CaptureQueriesContext(connection) as captured:
        assert notify(approval_id=str(pending.pk), kind="assigned", stage=pending.stage) == 1
    assert _statements(captured) == [
        # The request with its policy and group, only the columns a notice reads (fixed SQL,
        # NOTICE_REQUEST_SQL).
        "SELECT",
        # The recipient with their profile (fixed SQL, RECIPIENTS_SQL); four-eyes'
        # verified-address test is an EXISTS in it (the request names an email), and no votes
        # subquery: at a first stage that any vote ends, no one can have voted.
        "SELECT",
        # One transaction (a savepoint inside the test's), committed before the email goes out:
        # the claim (at most once: INSERT … ON CONFLICT DO NOTHING) and one deep link per
        # option, one INSERT.
        "SAVEPOINT",
        "INSERT",
        "INSERT",
        "RELEASE",
        # Marked sent.
        "UPDATE",
    ]
    recipients_sql = captured.captured_queries[1]["sql"].upper()
    assert "EXISTS" in recipients_sql
    assert "DECIDED_BY_ID" not in recipients_sql
    (message,) = mail.outbox
    assert message.to == [reviewer.email]
    assert Notification.objects.get().sent_at is not None
    assert DeepLink.objects.filter(reviewer=reviewer).count() == 3


@pytest.mark.parametrize("option", ["approve", "reject", "request_changes"])
def test_a_vote_at_a_first_stage_of_quorum_one_leaves_that_stage(
    pending: ApprovalRequest, reviewer: Any, policy: Policy, option: str
) -> None:
    """What lets a notice skip the votes subquery (`first_vote_ends_stage`): every option ends
    the stage (the default policy has one stage, so an approval approves)."""
    assert first_vote_ends_stage(pending)
    approval_decide(approval=pending, reviewer=reviewer, option=option, comment="because")
    pending.refresh_from_db()
    assert not (pending.status == ApprovalRequest.Status.PENDING and pending.stage == 1)


def test_a_stage_that_counts_votes_still_reads_them(
    pending: ApprovalRequest, reviewer: Any, other_reviewer: Any
) -> None:
    pending.stage_plan[0]["quorum"] = "all"
    ApprovalRequest.objects.filter(pk=pending.pk).update(stage_plan=pending.stage_plan)
    pending.refresh_from_db()
    assert not first_vote_ends_stage(pending)
    approval_decide(approval=pending, reviewer=other_reviewer, option="approve")
    assert notify(approval_id=str(pending.pk), kind="assigned", stage=pending.stage) == 1
    assert [m.to for m in mail.outbox] == [[reviewer.email]]


def test_links_past_the_fixed_statements_are_minted_all_the_same(
    pending: ApprovalRequest, reviewer: Any
) -> None:
    """The deep links' INSERT is fixed SQL for up to MAX_LINKS options; more go through the
    ORM, with the same tokens."""
    from django.core import signing

    from approvals.inbox.deeplinks import SALT, issue_tokens
    from approvals.services.deeplinks import MAX_LINKS

    for count in (1, 3, MAX_LINKS + 1):
        keys = [f"option-{n}" for n in range(count)]
        tokens = issue_tokens(
            reviewer_id=reviewer.pk, approval_id=pending.pk, stage=pending.stage, option_keys=keys
        )
        assert list(tokens) == keys
        for key, token in tokens.items():
            data = signing.loads(token, salt=SALT)
            link = DeepLink.objects.get(pk=data["l"])
            assert (link.option_key, link.reviewer_id, link.approval_id, link.stage) == (
                key,
                reviewer.pk,
                pending.pk,
                pending.stage,
            )
            assert data == {
                "l": link.pk,
                "r": reviewer.pk,
                "a": str(pending.pk),
                "s": pending.stage,
                "o": key,
            }
    assert DeepLink.objects.count() == 1 + 3 + MAX_LINKS + 1
