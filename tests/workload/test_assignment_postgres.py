"""Assignment under concurrent intake (PostgreSQL): caps hold when submits race."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

from django.db import connections

from approvals.models import ApprovalRequest, ReviewerGroup
from tests.conftest import requires_postgres
from tests.factories import MembershipFactory, UserFactory


@requires_postgres
def test_concurrent_submits_never_pass_a_cap(
    transactional_db: Any,
    support: ReviewerGroup,
    reviewer: Any,
    other_reviewer: Any,
    submit: Callable[..., ApprovalRequest],
) -> None:
    MembershipFactory.create(group=support, user=UserFactory.create(username="carol"))
    support.strategy, support.default_wip_cap = ReviewerGroup.Strategy.LEAST_LOADED, 3
    support.save()
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def intake() -> None:
        try:
            barrier.wait()
            for _ in range(4):
                submit()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=intake) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert not errors, errors
    held = Counter(
        ApprovalRequest.objects.filter(assignee__isnull=False).values_list(
            "assignee__username", flat=True
        )
    )
    assert held == {"alice": 3, "bob": 3, "carol": 3}
    assert ApprovalRequest.objects.filter(assignee__isnull=True).count() == 7
