"""Email deep links /d/<token>/: GET shows, POST (with CSRF) decides, dead tokens change nothing."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.sessions.models import Session
from django.core import signing
from django.test import Client
from django.utils import timezone

from approvals.inbox.deeplinks import SALT, make_token
from approvals.models import (
    ApprovalRequest,
    AuditEntry,
    Decision,
    DecisionOption,
    DeepLink,
    Membership,
    Notification,
    OutboxEvent,
)
from approvals.services import approval_decide


def snapshot(approval: ApprovalRequest) -> tuple[Any, ...]:
    """Everything a deep link could change."""
    approval.refresh_from_db()
    return (
        approval.status,
        approval.stage,
        approval.updated_at,
        Decision.objects.count(),
        AuditEntry.objects.count(),
        OutboxEvent.objects.count(),
        Notification.objects.count(),
        Session.objects.count(),
    )


def link(token: str) -> str:
    return f"/d/{token}/"


@pytest.fixture
def token(pending: ApprovalRequest, reviewer: Any) -> str:
    return make_token(reviewer=reviewer, approval=pending, option_key="approve")


def post(client: Client, token: str, approval: ApprovalRequest, **data: Any) -> Any:
    return client.post(link(token), {"approval": str(approval.pk), **data})


# --- GET / HEAD --------------------------------------------------------------------------------


def test_get_shows_the_request_and_a_confirm_button_and_changes_nothing(
    client: Client, pending: ApprovalRequest, token: str
) -> None:
    before = snapshot(pending)
    response = client.get(link(token))
    assert response.status_code == 200
    page = response.content.decode()
    assert pending.title in page
    assert "Confirm: Approve" in page
    assert "Check the amount against the order" in page  # the policy summary
    assert "Amount" in page and "120" in page
    assert response["Referrer-Policy"] == "no-referrer"
    assert "no-store" in response["Cache-Control"]
    assert snapshot(pending) == before
    # Not even the token changed: the same link still decides afterwards.
    assert post(client, token, pending).status_code == 200


def test_head_changes_nothing(client: Client, pending: ApprovalRequest, token: str) -> None:
    before = snapshot(pending)
    for _ in range(3):  # a scanner may probe several times
        assert client.head(link(token)).status_code == 200
    assert snapshot(pending) == before


def test_the_page_loads_nothing_from_other_hosts(client: Client, token: str) -> None:
    page = client.get(link(token)).content.decode()
    assert "http://" not in page and "https://" not in page and "//" not in page.replace("<!--", "")


def test_get_does_not_log_the_reviewer_in(
    client: Client, token: str, pending: ApprovalRequest
) -> None:
    client.get(link(token))
    post(client, token, pending)
    assert "_auth_user_id" not in client.session
    assert client.get("/inbox/").status_code in (302, 404)


# --- POST ----------------------------------------------------------------------------------------


def test_post_decides_with_the_email_channel(
    client: Client, pending: ApprovalRequest, token: str, reviewer: Any
) -> None:
    response = post(client, token, pending, comment="fine by me")
    assert response.status_code == 200
    assert "Decision recorded" in response.content.decode()
    pending.refresh_from_db()
    assert pending.status == ApprovalRequest.Status.APPROVED
    decision = Decision.objects.get(approval=pending)
    assert (decision.channel, decision.decided_by, decision.comment) == (
        "email",
        reviewer,
        "fine by me",
    )
    assert OutboxEvent.objects.filter(approval=pending, event_type="request.decided").count() == 1


def test_post_without_csrf_is_refused(pending: ApprovalRequest, token: str) -> None:
    client = Client(enforce_csrf_checks=True)
    before = snapshot(pending)
    response = client.post(link(token), {"approval": str(pending.pk)})
    assert response.status_code == 403
    assert snapshot(pending) == before


def test_post_with_the_csrf_token_from_the_page_decides(
    pending: ApprovalRequest, token: str
) -> None:
    client = Client(enforce_csrf_checks=True)
    page = client.get(link(token))
    csrf = page.context["csrf_token"]
    response = client.post(link(token), {"approval": str(pending.pk), "csrfmiddlewaretoken": csrf})
    assert response.status_code == 200
    pending.refresh_from_db()
    assert pending.status == ApprovalRequest.Status.APPROVED


def test_a_browser_post_with_origin_null_and_the_csrf_token_decides(
    pending: ApprovalRequest, token: str
) -> None:
    # Referrer-Policy: no-referrer makes Chromium send `Origin: null` with the form (found by
    # the end-to-end test); the CSRF token still protects the POST.
    client = Client(enforce_csrf_checks=True)
    csrf = client.get(link(token)).context["csrf_token"]
    response = client.post(
        link(token), {"approval": str(pending.pk), "csrfmiddlewaretoken": csrf}, HTTP_ORIGIN="null"
    )
    assert response.status_code == 200
    pending.refresh_from_db()
    assert pending.status == ApprovalRequest.Status.APPROVED


@pytest.mark.parametrize(
    ("origin", "with_token"), [("null", False), ("https://evil.example", True)]
)
def test_a_post_with_a_null_origin_and_no_token_or_a_foreign_origin_is_refused(
    pending: ApprovalRequest, token: str, origin: str, with_token: bool
) -> None:
    client = Client(enforce_csrf_checks=True)
    csrf = client.get(link(token)).context["csrf_token"]
    data = {"approval": str(pending.pk), **({"csrfmiddlewaretoken": csrf} if with_token else {})}
    before = snapshot(pending)
    assert client.post(link(token), data, HTTP_ORIGIN=origin).status_code == 403
    assert snapshot(pending) == before


def test_an_option_that_needs_a_comment_asks_for_it(
    client: Client, pending: ApprovalRequest, reviewer: Any
) -> None:
    token = make_token(reviewer=reviewer, approval=pending, option_key="request_changes")
    assert 'name="comment"' in client.get(link(token)).content.decode()
    before = snapshot(pending)
    response = post(client, token, pending, comment="  ")
    assert response.status_code == 422
    assert "This field is required" in response.content.decode()
    assert snapshot(pending) == before
    assert post(client, token, pending, comment="Add the receipt").status_code == 200
    pending.refresh_from_db()
    assert pending.status == ApprovalRequest.Status.CHANGES_REQUESTED


def test_an_option_that_needs_a_value_asks_for_it(
    client: Client, pending: ApprovalRequest, reviewer: Any
) -> None:
    DecisionOption.objects.create(
        policy=pending.policy,
        key="custom",
        label="Custom",
        outcome="approve",
        needs_value=True,
        position=9,
    )
    token = make_token(reviewer=reviewer, approval=pending, option_key="custom")
    assert 'name="value"' in client.get(link(token)).content.decode()
    assert post(client, token, pending).status_code == 422
    assert post(client, token, pending, value="ERP wins").status_code == 200
    assert Decision.objects.get(approval=pending).value == "ERP wins"


# --- dead tokens: a clear page, a 4xx, nothing changed ---------------------------------------------


def assert_dead(
    client: Client, token: str, approval: ApprovalRequest, status: int, text: str
) -> None:
    before = snapshot(approval)
    for response in (client.get(link(token)), post(client, token, approval, comment="x")):
        assert response.status_code == status, response.content
        body = response.content.decode()
        assert text in body, body
        assert "Nothing was changed" in body or "nothing was changed" in body
        assert response["Referrer-Policy"] == "no-referrer"
    assert snapshot(approval) == before


def test_an_expired_token(
    client: Client,
    pending: ApprovalRequest,
    reviewer: Any,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert settings.DEEP_LINK_HOURS == 24  # the default
    issued = time.time() - 25 * 3600
    monkeypatch.setattr(signing.time, "time", lambda: issued)  # type: ignore[attr-defined]
    token = make_token(reviewer=reviewer, approval=pending, option_key="approve")
    monkeypatch.undo()
    assert_dead(client, token, pending, 410, "expired")


def test_a_link_whose_record_expired(client: Client, pending: ApprovalRequest, token: str) -> None:
    DeepLink.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert_dead(client, token, pending, 410, "expired")


def test_a_token_within_its_age_still_works(
    client: Client, pending: ApprovalRequest, reviewer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    issued = time.time() - 23 * 3600
    monkeypatch.setattr(signing.time, "time", lambda: issued)  # type: ignore[attr-defined]
    token = make_token(reviewer=reviewer, approval=pending, option_key="approve")
    monkeypatch.undo()
    assert client.get(link(token)).status_code == 200


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # signature changed
        lambda t: "x" + t[1:],  # data changed
        lambda t: t.split(":")[0],  # cut short
        lambda t: "nonsense",
        lambda t: "%00",
    ],
)
def test_a_tampered_token(
    client: Client, pending: ApprovalRequest, token: str, mangle: Any
) -> None:
    assert_dead(client, mangle(token), pending, 400, "not valid")


def test_a_token_signed_for_something_else(
    client: Client, pending: ApprovalRequest, reviewer: Any
) -> None:
    other_salt = signing.dumps(
        {"r": reviewer.pk, "a": str(pending.pk), "s": 1, "o": "approve"}, salt="elsewhere"
    )
    assert_dead(client, other_salt, pending, 400, "not valid")
    wrong_shape = signing.dumps({"hello": 1}, salt=SALT)
    assert_dead(client, wrong_shape, pending, 400, "not valid")


def test_a_reused_token_after_the_decision(
    client: Client, pending: ApprovalRequest, token: str
) -> None:
    assert post(client, token, pending).status_code == 200
    assert_dead(client, token, pending, 410, "already used")


def test_a_token_of_a_request_someone_else_decided(
    client: Client, pending: ApprovalRequest, token: str, other_reviewer: Any
) -> None:
    approval_decide(approval=pending, reviewer=other_reviewer, option="reject")
    assert_dead(client, token, pending, 410, "Already decided by bob at")


def test_a_token_for_a_request_that_does_not_exist(
    client: Client, pending: ApprovalRequest, reviewer: Any
) -> None:
    ghost = "0190d5f0-0000-7000-8000-000000000000"
    data = {"l": 10**9, "r": reviewer.pk, "a": ghost, "s": 1, "o": "approve"}
    token = signing.dumps(data, salt=SALT, compress=True)
    assert_dead(client, token, pending, 404, "does not exist")


def test_a_form_posted_for_another_request(
    client: Client, pending: ApprovalRequest, token: str, submit: Any
) -> None:
    other = submit()
    before = snapshot(pending)
    response = client.post(link(token), {"approval": str(other.pk)})
    assert response.status_code == 400
    assert "does not match" in response.content.decode()
    assert snapshot(pending) == before
    assert snapshot(other)[0] == ApprovalRequest.Status.PENDING


def test_a_token_of_an_outsider(client: Client, pending: ApprovalRequest, outsider: Any) -> None:
    token = make_token(reviewer=outsider, approval=pending, option_key="approve")
    assert_dead(client, token, pending, 403, "no longer a reviewer")


def test_a_token_of_a_reviewer_who_left_the_group(
    client: Client, pending: ApprovalRequest, token: str, reviewer: Any
) -> None:
    Membership.objects.filter(user=reviewer).delete()
    assert_dead(client, token, pending, 403, "revoked")


def test_a_token_of_a_deactivated_reviewer(
    client: Client, pending: ApprovalRequest, token: str, reviewer: Any
) -> None:
    reviewer.is_active = False
    reviewer.save()
    assert_dead(client, token, pending, 403, "revoked")


def test_a_token_of_a_past_stage(client: Client, pending: ApprovalRequest, token: str) -> None:
    ApprovalRequest.objects.filter(pk=pending.pk).update(stage=2)
    assert_dead(client, token, pending, 410, "moved on")


def test_a_token_for_an_option_that_was_removed(
    client: Client, pending: ApprovalRequest, reviewer: Any
) -> None:
    token = make_token(reviewer=reviewer, approval=pending, option_key="escalate-to-ceo")
    assert_dead(client, token, pending, 410, "no longer exists")


def test_the_requester_cannot_approve_their_own_request_by_link(
    client: Client, submit: Any, reviewer: Any
) -> None:
    approval = submit(requested_by="alice")
    token = make_token(reviewer=reviewer, approval=approval, option_key="approve")
    before = snapshot(approval)
    response = post(client, token, approval)
    assert response.status_code == 403
    assert snapshot(approval) == before


def test_other_methods_are_refused(client: Client, token: str) -> None:
    assert client.put(link(token)).status_code == 405
    assert client.delete(link(token)).status_code == 405


def test_an_anonymous_visitor_without_a_token_gets_404(client: Client, db: Any) -> None:
    assert client.get("/d/").status_code == 404
