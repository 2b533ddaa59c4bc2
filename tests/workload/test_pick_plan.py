"""The assignment statement's reads (PostgreSQL): picking a member reads the group's members,
not the whole user table once per member (docs/performance.md "The pick"). Counted in buffers
touched, which do not depend on the machine's speed; the tables are vacuumed first, so rows
that other tests rolled back do not count."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from approvals.foureyes import Requester
from approvals.models import ApprovalRequest, Membership, ReviewerGroup, ReviewerProfile
from approvals.workload.assignment import claim_member
from tests.conftest import requires_postgres

pytestmark = requires_postgres

MEMBERS = 50


def _pick_buffers(group: ReviewerGroup) -> int:
    """Shared buffers the pick statement touches, run once more under EXPLAIN ANALYZE."""
    with CaptureQueriesContext(connection) as queries:
        claim_member(group, at=timezone.now(), requester=Requester(names=("zendesk",)))
    (statement,) = queries.captured_queries
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement["sql"])
        plan: Any = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    top = plan[0]["Plan"]
    return int(top["Shared Hit Blocks"]) + int(top["Shared Read Blocks"])


@pytest.mark.parametrize("other_users", [0, 5_000])
@pytest.mark.parametrize(
    ("strategy", "per_member"),
    [
        (ReviewerGroup.Strategy.ROUND_ROBIN, 0),
        # least loaded also counts each member's pending requests: an index probe each
        (ReviewerGroup.Strategy.LEAST_LOADED, 4),
    ],
)
def test_the_pick_reads_the_group_not_the_user_table(
    transactional_db: Any, support: ReviewerGroup, strategy: str, per_member: int, other_users: int
) -> None:
    user_model = get_user_model()
    Membership.objects.filter(group=support).delete()
    support.strategy = strategy
    support.save()
    members = user_model.objects.bulk_create(
        user_model(username=f"member{n}", email=f"member{n}@example.com") for n in range(MEMBERS)
    )
    Membership.objects.bulk_create(Membership(group=support, user=user) for user in members)
    user_model.objects.bulk_create(
        user_model(username=f"outsider{n}", email=f"outsider{n}@example.com")
        for n in range(other_users)
    )
    tables = (user_model, Membership, ReviewerProfile, ApprovalRequest)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE " + ", ".join(m._meta.db_table for m in tables))

    buffers = _pick_buffers(support)

    # With the joins, round robin's plan scanned the users once per member: 103 buffers with 50
    # members and 50 users (4 now).
    assert buffers <= 20 + per_member * MEMBERS, buffers
