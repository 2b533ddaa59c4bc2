"""Email links are bound to their reviewer (docs/security.md "Email links").

Single use, revocable, refused when someone else is signed in, and sign-in (with the second
factor) for policies that ask for it and for reviewers who have one. Every refusal changes
nothing, and no log line carries a live token.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from approvals.inbox.deeplinks import make_token
from approvals.models import ApprovalRequest, DeepLink, Policy
from approvals.services.approvals import approval_claim
from approvals.services.deeplinks import LinkAlreadyUsed, deeplink_decide
from tests.factories import enrol_totp
from tests.inbox.test_deeplink import link, post, snapshot

pytestmark = pytest.mark.django_db

OTHERS_LINK = "This link belongs to another reviewer; sign out or open your inbox."


@pytest.fixture
def token(pending: ApprovalRequest, reviewer: Any) -> str:
    return make_token(reviewer=reviewer, approval=pending, option_key="approve")


def the_link() -> DeepLink:
    return DeepLink.objects.get()


# --- someone else is signed in ----------------------------------------------------------------


@pytest.mark.parametrize("who", ["other_reviewer", "outsider", "manager"])
def test_a_signed_in_other_person_is_refused_and_nothing_changes(
    client: Client, pending: ApprovalRequest, token: str, who: str, request: Any
) -> None:
    client.force_login(request.getfixturevalue(who))
    before = snapshot(pending)
    for response in (client.get(link(token)), post(client, token, pending)):
        assert response.status_code == 403
        page = response.content.decode()
        assert OTHERS_LINK in page
        assert "alice" not in page  # whose link it is stays unsaid
        assert pending.title not in page  # and so does the request
        assert 'action="/accounts/logout/"' in page and 'href="/inbox/"' in page
    assert client.head(link(token)).status_code == 403
    assert snapshot(pending) == before
    assert the_link().used_at is None


def test_the_links_own_reviewer_signed_in_decides(
    client: Client, pending: ApprovalRequest, token: str, reviewer: Any
) -> None:
    client.force_login(reviewer)
    assert post(client, token, pending).status_code == 200
    pending.refresh_from_db()
    assert pending.status == ApprovalRequest.Status.APPROVED


# --- single use, revocation ---------------------------------------------------------------------


def test_a_link_decides_once(client: Client, pending: ApprovalRequest, token: str) -> None:
    assert post(client, token, pending).status_code == 200
    assert the_link().used_at is not None
    response = post(client, token, pending)
    assert response.status_code == 410
    assert "already used" in response.content.decode()


def test_a_spent_link_is_refused_even_while_the_request_waits(
    client: Client, pending: ApprovalRequest, token: str
) -> None:
    DeepLink.objects.update(used_at=timezone.now())  # spent by a POST that another tab won
    before = snapshot(pending)
    for response in (client.get(link(token)), post(client, token, pending)):
        assert response.status_code == 410
        assert "already used" in response.content.decode()
    assert snapshot(pending) == before


def test_of_two_posts_with_one_link_one_decides(
    pending: ApprovalRequest, token: str, reviewer: Any
) -> None:
    spent = the_link()
    deeplink_decide(link=spent, approval=pending, reviewer=reviewer)
    with pytest.raises(LinkAlreadyUsed):
        deeplink_decide(link=spent, approval=pending, reviewer=reviewer)


def test_a_refused_decision_leaves_the_link_unspent(
    client: Client, submit: Any, requester: Any, support: Any
) -> None:
    from tests.factories import MembershipFactory

    MembershipFactory.create(group=support, user=requester)
    own = submit(requested_by=requester.email)
    own_token = make_token(reviewer=requester, approval=own, option_key="approve")
    assert post(client, own_token, own).status_code == 403
    assert DeepLink.objects.get(approval=own).used_at is None


def test_an_admin_revokes_a_link(
    client: Client,
    manager: Any,
    pending: ApprovalRequest,
    token: str,
    sign_in: Callable[..., Client],
) -> None:
    response = sign_in(client, manager).post(
        "/admin/approvals/deeplink/",
        {"action": "revoke", "_selected_action": [the_link().pk]},
    )
    assert response.status_code == 302
    assert the_link().revoked_at is not None
    anonymous = Client()
    before = snapshot(pending)
    for response in (anonymous.get(link(token)), post(anonymous, token, pending)):
        assert response.status_code == 403
        assert "revoked" in response.content.decode()
    assert snapshot(pending) == before


def test_the_links_admin_is_for_managers_only(
    client: Client, outsider: Any, token: str, manager: Any
) -> None:
    assert client.get("/admin/approvals/deeplink/")["Location"].startswith("/admin/login/")
    client.force_login(outsider)
    assert client.get("/admin/approvals/deeplink/").status_code == 302  # not staff
    client.force_login(manager)
    page = client.get("/admin/approvals/deeplink/")
    assert page.status_code == 200
    assert token not in page.content.decode()  # tokens are never stored or shown


def test_a_request_handed_to_someone_else_withdraws_the_link(
    client: Client, pending: ApprovalRequest, token: str, other_reviewer: Any
) -> None:
    approval_claim(approval=pending, reviewer=other_reviewer)
    before = snapshot(pending)
    for response in (client.get(link(token)), post(client, token, pending)):
        assert response.status_code == 410
        assert "handed to another reviewer" in response.content.decode()
    assert snapshot(pending) == before


# --- sign-in needed -----------------------------------------------------------------------------


def test_an_anonymous_holder_cannot_decide_for_a_reviewer_with_a_second_factor(
    client: Client,
    pending: ApprovalRequest,
    token: str,
    reviewer: Any,
    sign_in: Callable[..., Client],
) -> None:
    reviewer.totp_secret = enrol_totp(reviewer)
    page = client.get(link(token))
    assert page.status_code == 200
    body = page.content.decode()
    assert pending.title in body and "Sign in to decide" in body
    assert "Confirm: Approve" not in body
    assert f'href="/accounts/login/?{urlencode({"next": link(token)})}"' in body
    before = snapshot(pending)
    response = post(client, token, pending)
    assert response.status_code == 403
    assert "Sign in to decide" in response.content.decode()
    assert snapshot(pending) == before
    assert the_link().used_at is None
    # Signed in with the password and the code, the same link decides.
    sign_in(client, reviewer)
    assert post(client, token, pending).status_code == 200


def test_a_policy_can_require_sign_in_for_email_decisions(
    client: Client, pending: ApprovalRequest, token: str, reviewer: Any
) -> None:
    Policy.objects.filter(pk=pending.policy_id).update(email_decisions_need_sign_in=True)
    assert "Sign in to decide" in client.get(link(token)).content.decode()
    before = snapshot(pending)
    assert post(client, token, pending).status_code == 403
    assert snapshot(pending) == before
    client.force_login(reviewer)
    page = client.get(link(token)).content.decode()
    assert "Confirm: Approve" in page
    assert post(client, token, pending).status_code == 200


def test_the_policy_setting_is_in_the_admin(
    client: Client, manager: Any, pending: ApprovalRequest
) -> None:
    client.force_login(manager)
    page = client.get(f"/admin/approvals/policy/{pending.policy_id}/change/")
    assert 'name="email_decisions_need_sign_in"' in page.content.decode()


# --- logs ---------------------------------------------------------------------------------------


def test_no_log_line_carries_a_live_token(
    client: Client,
    pending: ApprovalRequest,
    reviewer: Any,
    other_reviewer: Any,
    submit: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    tokens = {
        key: make_token(reviewer=reviewer, approval=pending, option_key=key)
        for key in ("approve", "request_changes")
    }
    caplog.set_level(logging.INFO)
    post(client, tokens["request_changes"], pending)  # 422: a comment is needed
    client.post(link(tokens["approve"]), {"approval": str(submit().pk)})  # 400: another request
    client.post(link(tokens["approve"] + "x"), {})  # 400: tampered
    other = Client()
    other.force_login(other_reviewer)
    post(other, tokens["approve"], pending)  # 403: someone else signed in
    strict = Client(enforce_csrf_checks=True)
    strict.post(link(tokens["approve"]), {"approval": str(pending.pk)})  # 403: no CSRF token
    client.get("/accounts/login/?next=" + link(tokens["approve"]))
    statuses = {getattr(r, "status_code", None) for r in caplog.records}
    assert {422, 400, 403} <= statuses, statuses
    handler = logging.getLogger().handlers[0]
    for record in caplog.records:
        seen = " ".join(
            [record.getMessage(), repr(record.args), repr(getattr(record, "request", ""))]
        )
        formatted = handler.format(record)
        for token in tokens.values():
            assert token not in seen and token not in formatted, seen
            assert token.split(":")[0] not in seen  # not even the data part
    assert any("/d/[redacted]/" in r.getMessage() for r in caplog.records)


# --- cost ---------------------------------------------------------------------------------------


def test_the_link_page_costs_the_same_however_many_links_and_requests_exist(
    client: Client, pending: ApprovalRequest, reviewer: Any, submit: Any
) -> None:
    first = make_token(reviewer=reviewer, approval=pending, option_key="approve")
    client.get(link(first))  # warm the session and caches
    with CaptureQueriesContext(connection) as few:
        assert client.get(link(first)).status_code == 200
    for _ in range(20):
        other = submit()
        for key in ("approve", "reject"):
            make_token(reviewer=reviewer, approval=other, option_key=key)
    last = make_token(reviewer=reviewer, approval=other, option_key="reject")
    client.get(link(last))
    with CaptureQueriesContext(connection) as many:
        assert client.get(link(last)).status_code == 200
    assert len(many) == len(few), [q["sql"][:100] for q in many.captured_queries]
    assert len(few) <= 8
