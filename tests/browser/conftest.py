"""Data for the inbox browser tests: the real playbooks, their reviewer groups, a few requests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from approvals.models import ApprovalRequest, Policy, ReviewerGroup
from approvals.services import approval_submit
from playbooks.installer import install_playbook
from tests.factories import MembershipFactory, UserFactory


@pytest.fixture
def playbook(transactional_db: Any) -> Callable[[str], Policy]:
    return install_playbook


@pytest.fixture
def member(transactional_db: Any) -> Callable[..., Any]:
    """member("dana", "revops") -> a user in that group (created by the playbook)."""

    def _member(username: str, *slugs: str) -> Any:
        user = UserFactory.create(username=username, email=f"{username}@example.com")
        for slug in slugs:
            MembershipFactory.create(group=ReviewerGroup.objects.get(slug=slug), user=user)
        return user

    return _member


@pytest.fixture
def request_for(transactional_db: Any) -> Callable[..., ApprovalRequest]:
    """request_for("refund-approval", title=…, payload=…, due_in=minutes) via the service."""

    def _request_for(slug: str, *, due_in: int | None = None, **kwargs: Any) -> ApprovalRequest:
        if due_in is not None:
            kwargs["due_at"] = timezone.now() + timedelta(minutes=due_in)
        kwargs.setdefault("requested_by", "zendesk")
        return approval_submit(policy=Policy.objects.get(slug=slug), **kwargs)

    return _request_for
