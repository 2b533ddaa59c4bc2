"""Four-eyes by identity in the reviewers' channels (docs/security.md "Four-eyes"): the
requester cannot approve in the inbox or by an email link whatever `requested_by` says, and a
`requested_by` that matches nobody is shown as unverified."""

from __future__ import annotations

from typing import Any

from allauth.account.models import EmailAddress
from django.test import Client

from approvals.inbox.deeplinks import make_token
from approvals.models import ApprovalRequest, Decision
from tests.inbox.conftest import hx


def _unchanged(approval: ApprovalRequest) -> None:
    approval.refresh_from_db()
    assert approval.status == ApprovalRequest.Status.PENDING
    assert not Decision.objects.filter(approval=approval).exists()


def test_the_token_user_cannot_approve_in_the_inbox_with_blank_requested_by(
    alice: Client, submit: Any, reviewer: Any
) -> None:
    approval = submit(requester_id=reviewer.pk, requested_by="")
    page = alice.get(f"/inbox/{approval.pk}/").content.decode()
    assert "You asked for this request" in page
    response = alice.post(f"/inbox/{approval.pk}/decide", {"option": "approve"}, headers=hx())
    assert response.status_code == 403
    assert "someone else has to approve it" in response.content.decode()
    _unchanged(approval)


def test_a_verified_address_at_the_requester_field_cannot_approve_by_email_link(
    client: Client, submit: Any, reviewer: Any, policy: Any
) -> None:
    EmailAddress.objects.create(user=reviewer, email="a.smith@corp.example", verified=True)
    policy.requester_field = "requested_by_email"
    policy.save()
    approval = submit(
        payload={"amount": 120.0, "requested_by_email": "A.Smith@corp.example"},
        requested_by="some-bot",
    )
    token = make_token(reviewer=reviewer, approval=approval, option_key="approve")
    response = client.post(f"/d/{token}/", {"approval": str(approval.pk)})
    assert response.status_code == 403
    _unchanged(approval)


def test_a_requested_by_that_matches_nobody_is_shown_as_unverified(
    alice: Client, submit: Any, other_reviewer: Any
) -> None:
    nobody = submit(requested_by="zendesk")
    page = alice.get(f"/inbox/{nobody.pk}/").content.decode()
    assert "zendesk" in page and "unverified" in page
    known = submit(requested_by="bob@example.com")
    page = alice.get(f"/inbox/{known.pk}/").content.decode()
    assert "from bob" in page and "unverified" not in page


def test_the_requester_by_token_is_named_on_the_page(
    alice: Client, submit: Any, other_reviewer: Any
) -> None:
    approval = submit(requester_id=other_reviewer.pk, requested_by="agent-7")
    page = alice.get(f"/inbox/{approval.pk}/").content.decode()
    assert "from bob (agent-7)" in page and "unverified" not in page
