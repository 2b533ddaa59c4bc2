"""What reviewers read around a request: expired requests, the keyboard hints, relative times,
the sign-in family of pages, error pages and the favicon."""

from __future__ import annotations

import re
from typing import Any

from django.template.loader import render_to_string
from django.test import Client

from approvals.models import ApprovalRequest, DecisionOption
from approvals.services import approval_decide, approval_expire


def test_an_expired_request_reads_expired_not_a_red_reject_by_the_system(
    alice: Client, submit: Any, reviewer: Any
) -> None:
    expired = approval_expire(approval=submit(title="Ran out of time"))
    assert expired.status == ApprovalRequest.Status.EXPIRED
    page = alice.get(f"/inbox/{expired.pk}/").content.decode()
    assert "Expired" in page and "No decision</strong> before its deadline" in page
    assert "Reject in stage" not in page
    # Beside another request of the same policy, among the recent decisions.
    other = alice.get(f"/inbox/{submit(title='Next one').pk}/").content.decode()
    recent = other[other.index('id="recent-title"') :]
    assert '<span class="pill outcome-expired">Expired</span>' in recent
    assert "outcome-reject" not in recent


def test_a_rejection_still_reads_as_the_options_label(
    alice: Client, submit: Any, other_reviewer: Any
) -> None:
    approval_decide(
        approval=submit(title="No"), reviewer=other_reviewer, option="reject", comment="dup"
    )
    page = alice.get(f"/inbox/{submit().pk}/").content.decode()
    assert '<span class="pill outcome-reject">Reject</span>' in page


def test_the_keyboard_hints_use_the_policys_own_labels(
    alice: Client, pending: ApprovalRequest
) -> None:
    # Saved one by one, as the admin does: options are read from the policy's cached specs,
    # which a saved option empties (approvals/services/policies.py).
    for option in DecisionOption.objects.filter(policy=pending.policy, outcome="request_changes"):
        option.label = "Revise"
        option.save()
    page = alice.get(f"/inbox/{pending.pk}/").content.decode()
    hints = re.search(r'<p class="hint keys"[^>]*>(.*?)</p>', page, re.S)
    assert hints is not None
    assert "<kbd>c</kbd> Revise" in hints.group(1)
    assert "<kbd>a</kbd> Approve" in hints.group(1)
    assert "request changes" not in hints.group(1)


def test_times_are_relative_with_the_exact_time_on_hover(
    alice: Client, pending: ApprovalRequest
) -> None:
    page = alice.get(f"/inbox/{pending.pk}/").content.decode()
    assert re.search(r'<time datetime="[^"]+"\s+title="\w{3} \d+ \w{3} \d{4}, \d\d:\d\d', page)
    assert "ago" in page or "now" in page


def test_the_favicon_is_served_to_anyone(client: Client) -> None:
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/vnd.microsoft.icon"
    assert response.content[:4] == b"\x00\x00\x01\x00"
    assert client.head("/favicon.ico").status_code == 200
    assert client.post("/favicon.ico").status_code == 405


def test_a_missing_page_is_the_apps_own_404(alice: Client) -> None:
    response = alice.get("/inbox/not-a-request/")
    assert response.status_code == 404
    page = response.content.decode()
    assert "Nothing here" in page and "css/app.css" in page and "Sign out" in page


def test_the_403_and_500_pages_are_styled_and_the_500_needs_no_context(rf: Any) -> None:
    forbidden = render_to_string("403.html", request=rf.get("/"))
    assert "Not allowed" in forbidden and "css/app.css" in forbidden
    broken = render_to_string("500.html")
    assert "Something went wrong" in broken and "css/app.css" in broken


def test_the_allauth_pages_wear_the_app_and_never_offer_a_sign_up(client: Client, db: Any) -> None:
    for url in ("/accounts/password/reset/", "/accounts/signup/", "/accounts/login/"):
        response = client.get(url, follow=True)
        assert response.status_code == 200, url
        page = response.content.decode()
        assert "css/app.css" in page and "entrance-card" in page, url
        assert "Sign Up</a>" not in page and "/accounts/signup/" not in page, url
    closed = client.get("/accounts/signup/").content.decode()
    assert "Sign Up Closed" in closed and "Ask a manager" in closed


def test_the_signed_in_account_pages_wear_the_app_too(alice: Client) -> None:
    for url in ("/accounts/2fa/", "/accounts/2fa/totp/activate/", "/accounts/password/change/"):
        response = alice.get(url, follow=True)
        assert response.status_code == 200, url
        page = response.content.decode()
        assert "entrance-card" in page and "Sign out" in page, url
        assert "Menu:" not in page, url
