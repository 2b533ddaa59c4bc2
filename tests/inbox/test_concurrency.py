"""Two reviewers press a button on the same request at the same moment (PostgreSQL, threads)."""

from __future__ import annotations

import re
import threading
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from approvals.models import ApprovalRequest, Decision, OutboxEvent
from tests.conftest import requires_postgres
from tests.inbox.conftest import hx


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_reviewers_deciding_at_once_make_exactly_one_decision(
    pending: ApprovalRequest, reviewer: Any, other_reviewer: Any
) -> None:
    barrier = threading.Barrier(2)
    responses: dict[str, Any] = {}

    def decide(user: Any, option: str) -> None:
        client = Client()
        client.force_login(user)
        try:
            barrier.wait(timeout=10)
            responses[user.get_username()] = client.post(
                f"/inbox/{pending.pk}/decide", {"option": option, "comment": "mine"}, headers=hx()
            )
        finally:
            connection.close()

    threads = [
        threading.Thread(target=decide, args=(reviewer, "approve")),
        threading.Thread(target=decide, args=(other_reviewer, "reject")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(r.status_code for r in responses.values()) == [200, 409]
    decision = Decision.objects.get(approval=pending)
    loser = next(r for r in responses.values() if r.status_code == 409)
    assert re.search(
        rf"Already decided by {decision.decided_by_name} at \d{{4}}-\d\d-\d\d \d\d:\d\d",
        loser.content.decode(),
    )
    assert OutboxEvent.objects.filter(approval=pending).count() == 1
