"""The write path's query budget (issue 12): an intake (human route, round robin) and a decision
each run a fixed, small number of queries, whatever the group's size or the open work behind
them. Sealing is switched off here (it runs after commit in production: docs/architecture.md
"The audit chain: sealed after commit"), so both databases count the same statements."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from approvals.models import ApprovalRequest, AuditEntry, Policy, ReviewerGroup
from approvals.services import approval_decide
from tests.conftest import requires_postgres
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

# One intake, human route, round robin (the service's atomic block is a savepoint inside the
# test's transaction; in production it is BEGIN … COMMIT):
INTAKE_QUERIES = [
    "SAVEPOINT",  # approval_submit's transaction
    "SELECT",  # the stage's group (strategy, cap, business hours for the SLA)
    # pick and stamp the member in one statement: round robin's turn (a sequence, no lock) on
    # PostgreSQL, an UPDATE … RETURNING on SQLite (approvals/workload/assignment.py)
    "PICK",
    "INSERT",  # the notice email, queued for the worker (approvals/services/notices.py)
    "INSERT",  # the request, complete: route, stage, group, assignee, SLA
    "INSERT",  # its one history row (simple-history)
    "INSERT",  # created + routed + assigned: the intake's audit entries, one INSERT
    "RELEASE SAVEPOINT",
]
# One decision (approve, quorum "one", last stage: the request ends approved):
DECIDE_QUERIES = [
    "SAVEPOINT",  # approval_decide's transaction
    "SELECT",  # the request, locked (FOR UPDATE), with its policy
    "SELECT",  # the reviewer's standing: member of the group? voted already? (one query)
    "INSERT",  # the Decision, final from the start
    "UPDATE",  # the request: approved
    "INSERT",  # its history row
    "INSERT",  # decided + approved: the audit entries, one INSERT
    "INSERT",  # the outbox event for the callback
    "SELECT",  # a HubSpot workflow action waiting on this request? (approvals/inbound/completion.py)
    "RELEASE SAVEPOINT",
]


def _statements(queries: CaptureQueriesContext) -> list[str]:
    kinds = []
    for query in queries.captured_queries:
        sql = query["sql"].lstrip().upper()
        if sql.startswith("RELEASE"):
            kinds.append("RELEASE SAVEPOINT")
        elif sql.startswith(("WITH TURN", "UPDATE APPROVALS_MEMBERSHIP")):
            kinds.append("PICK")
        else:
            kinds.append(sql.split()[0])
    return kinds


@pytest.fixture
def unsealed(settings: Any) -> None:
    settings.AUDIT_SEAL_INLINE = False


@pytest.fixture
def round_robin(support: ReviewerGroup) -> Callable[[int], list[Any]]:
    def make(members: int) -> list[Any]:
        support.strategy = ReviewerGroup.Strategy.ROUND_ROBIN
        support.save()
        users = [UserFactory.create(username=f"member{n}") for n in range(members)]
        for user in users:
            MembershipFactory.create(group=support, user=user)
        return users

    return make


def _seed_open(policy: Policy, group: ReviewerGroup, users: list[Any], count: int) -> None:
    if count <= 1:
        return
    from bench.seed import seed_open_requests

    seed_open_requests(
        policy=policy,
        group=group,
        assignee_ids=[u.pk for u in users],
        count=count,
        tag="queries",
    )


def _sizes() -> list[Any]:
    return [
        pytest.param(1, 1, id="1-member-1-open"),
        pytest.param(50, 1, id="50-members-1-open"),
        pytest.param(1, 100_000, id="1-member-100k-open", marks=requires_postgres),
        pytest.param(50, 100_000, id="50-members-100k-open", marks=requires_postgres),
    ]


@pytest.mark.parametrize(("members", "open_requests"), _sizes())
def test_an_intake_runs_a_fixed_number_of_queries(
    unsealed: None,
    support: ReviewerGroup,
    policy: Policy,
    round_robin: Callable[[int], list[Any]],
    submit: Callable[..., ApprovalRequest],
    members: int,
    open_requests: int,
) -> None:
    users = round_robin(members)
    _seed_open(policy, support, users, open_requests)
    submit()  # loads the policy version's specs into the process cache
    with CaptureQueriesContext(connection) as queries:
        approval = submit()
    assert _statements(queries) == INTAKE_QUERIES, "\n".join(
        q["sql"][:150] for q in queries.captured_queries
    )
    assert approval.assignee in users and approval.due_at is not None
    assert AuditEntry.objects.filter(approval=approval, seq__isnull=True).count() == 3


@pytest.mark.parametrize(("members", "open_requests"), _sizes())
def test_a_decision_runs_a_fixed_number_of_queries(
    unsealed: None,
    support: ReviewerGroup,
    policy: Policy,
    round_robin: Callable[[int], list[Any]],
    submit: Callable[..., ApprovalRequest],
    members: int,
    open_requests: int,
) -> None:
    users = round_robin(members)
    _seed_open(policy, support, users, open_requests)
    approval = submit()
    assignee = next(u for u in users if u.pk == approval.assignee_id)  # as a view has it
    with CaptureQueriesContext(connection) as queries:
        decision = approval_decide(approval=approval, reviewer=assignee, option="approve")
    assert _statements(queries) == DECIDE_QUERIES, "\n".join(
        q["sql"][:150] for q in queries.captured_queries
    )
    assert decision.is_final
    approval.refresh_from_db()
    assert approval.status == ApprovalRequest.Status.APPROVED
