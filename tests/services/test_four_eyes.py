"""Four-eyes by identity (docs/security.md "Four-eyes"): the requester, known by the token's
user, the policy's requester field matched to a verified email, or `requested_by`, is never
assigned their own request, is not asked to decide it, and cannot approve it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from allauth.account.models import EmailAddress

from approvals.exceptions import NotAllowed
from approvals.models import ApprovalRequest, Decision, Policy, ReviewerGroup
from approvals.notifications.email import _recipients
from approvals.services import approval_decide
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(support: ReviewerGroup, requester: Any) -> list[Any]:
    """A round-robin group of four with the requester (rita) in it."""
    support.strategy = ReviewerGroup.Strategy.ROUND_ROBIN
    support.save()
    others = [UserFactory.create(username=name) for name in ("ann", "ben", "cat")]
    for user in [requester, *others]:
        MembershipFactory.create(group=support, user=user)
    return others


def _by_token_user(requester: Any, policy: Policy) -> dict[str, Any]:
    return {"requester_id": requester.pk, "requested_by": ""}


def _by_requester_field(requester: Any, policy: Policy) -> dict[str, Any]:
    policy.requester_field = "requested_by_email"
    policy.save()
    payload = {"amount": 120.0, "requested_by_email": "  RITA@Example.com"}
    return {"payload": payload, "requested_by": "zendesk-bot"}


def _by_verified_address(requester: Any, policy: Policy) -> dict[str, Any]:
    EmailAddress.objects.create(user=requester, email="r.hayes@corp.example", verified=True)
    policy.requester_field = "who.email"
    policy.save()
    return {"payload": {"amount": 120.0, "who": {"email": "R.Hayes@corp.example"}}}


def _by_requested_by(requester: Any, policy: Policy) -> dict[str, Any]:
    return {"requested_by": "Rita"}  # the username, any case (the old rule, kept)


IDENTITIES = [
    pytest.param(_by_token_user, id="token-user"),
    pytest.param(_by_requester_field, id="requester-field"),
    pytest.param(_by_verified_address, id="verified-address"),
    pytest.param(_by_requested_by, id="requested-by"),
]


@pytest.mark.parametrize("identity", IDENTITIES)
@pytest.mark.parametrize(
    "strategy", [ReviewerGroup.Strategy.ROUND_ROBIN, ReviewerGroup.Strategy.LEAST_LOADED]
)
def test_the_requester_is_never_assigned_their_own_request(
    team: list[Any],
    requester: Any,
    policy: Policy,
    support: ReviewerGroup,
    submit: Callable[..., ApprovalRequest],
    identity: Callable[..., dict[str, Any]],
    strategy: str,
) -> None:
    support.strategy = strategy
    support.save()
    kwargs = identity(requester, policy)
    assignees = Counter(submit(**kwargs).assignee.get_username() for _ in range(12))  # type: ignore[union-attr]
    assert "rita" not in assignees
    assert assignees == {"ann": 4, "ben": 4, "cat": 4}
    # Other people's requests still reach rita.
    assert submit(requested_by="zendesk").assignee_id == requester.pk


@pytest.mark.parametrize("identity", IDENTITIES)
def test_the_requester_cannot_approve_whatever_requested_by_says(
    team: list[Any],
    requester: Any,
    policy: Policy,
    submit: Callable[..., ApprovalRequest],
    identity: Callable[..., dict[str, Any]],
) -> None:
    kwargs = identity(requester, policy)
    if identity is not _by_requested_by:
        kwargs["requested_by"] = ""  # blank or odd text no longer lets rita through
    approval = submit(**kwargs)
    with pytest.raises(NotAllowed, match="someone else has to approve it"):
        approval_decide(approval=approval, reviewer=requester, option="approve")
    assert not Decision.objects.filter(approval=approval).exists()
    approval.refresh_from_db()
    assert approval.status == ApprovalRequest.Status.PENDING
    # Rejecting their own request stays allowed.
    approval_decide(approval=approval, reviewer=requester, option="reject", comment="wrong")
    approval.refresh_from_db()
    assert approval.status == ApprovalRequest.Status.REJECTED


@pytest.mark.parametrize("odd", ["", "   ", "rita ", "R I T A", "zendesk"])
def test_odd_requested_by_text_does_not_help_the_token_user(
    team: list[Any], requester: Any, submit: Callable[..., ApprovalRequest], odd: str
) -> None:
    approval = submit(requester_id=requester.pk, requested_by=odd)
    with pytest.raises(NotAllowed):
        approval_decide(approval=approval, reviewer=requester, option="approve")


def test_an_unverified_address_is_not_an_identity(
    team: list[Any], requester: Any, policy: Policy, submit: Callable[..., ApprovalRequest]
) -> None:
    """Only verified addresses count: claiming an address in one's account proves nothing."""
    other = team[0]
    EmailAddress.objects.create(user=other, email="boss@corp.example", verified=False)
    policy.requester_field = "email"
    policy.save()
    approval = submit(payload={"amount": 120.0, "email": "boss@corp.example"}, requested_by="")
    assert approval.requester_email == "boss@corp.example"
    decision = approval_decide(approval=approval, reviewer=other, option="approve")
    assert decision.is_final


def test_an_edited_payload_does_not_change_the_requester(
    team: list[Any], requester: Any, policy: Policy, submit: Callable[..., ApprovalRequest]
) -> None:
    """The identity is fixed at intake from the submitted payload."""
    _by_requester_field(requester, policy)
    approval = submit(payload={"amount": 120.0, "requested_by_email": "rita@example.com"})
    ApprovalRequest.objects.filter(pk=approval.pk).update(
        payload={"amount": 120.0, "requested_by_email": "nobody@example.com"}
    )
    approval.refresh_from_db()
    with pytest.raises(NotAllowed):
        approval_decide(approval=approval, reviewer=requester, option="approve")


def test_a_pull_group_does_not_email_the_requester(
    team: list[Any], requester: Any, support: ReviewerGroup, submit: Callable[..., ApprovalRequest]
) -> None:
    support.strategy = ReviewerGroup.Strategy.PULL
    support.save()
    approval = submit(requester_id=requester.pk, requested_by="")
    assert sorted(u.username for u in _recipients(approval)) == ["ann", "ben", "cat"]


def test_quorum_all_does_not_wait_for_the_requester(
    team: list[Any], requester: Any, policy: Policy, submit: Callable[..., ApprovalRequest]
) -> None:
    stage = policy.stages.get()
    stage.quorum = "all"
    stage.save()
    policy.save()  # a new version: the cached stage specs are read again
    approval = submit(requester_id=requester.pk, requested_by="")
    for user in team:
        approval_decide(approval=approval, reviewer=user, option="approve")
    approval.refresh_from_db()
    assert approval.status == ApprovalRequest.Status.APPROVED
