"""The inbox on a phone and on a desk, kept current without a reload, with a quiet console.

At 390x844 (a phone) and 1440x900 no reviewer page is wider than the window; on a phone the
list and a request are one column each, a tap opens the request and the back gesture returns
to the list. A request created through the API shows up on its own. No page logs an error or
a Content-Security-Policy violation.
"""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any

import pytest

from approvals.inbox.deeplinks import make_token
from approvals.models import ApprovalRequest
from approvals.services.tokens import api_token_create

pytestmark = pytest.mark.browser

DESK = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}

# Collected in the page: CSP violations and uncaught errors (console errors come from Playwright).
WATCH = """
window.__problems = [];
document.addEventListener("securitypolicyviolation",
  (e) => window.__problems.push(`CSP ${e.violatedDirective} ${e.blockedURI}`));
window.addEventListener("error", (e) => window.__problems.push(`error ${e.message}`));
"""


@pytest.fixture
def morning(playbook: Any, member: Any, request_for: Any) -> dict[str, Any]:
    """alice in support leads and marketing, with long titles, ids and a long draft."""
    from approvals.models import ReviewerGroup

    playbook("refund-approval")
    playbook("ai-outbound-review")
    # A shared queue: every new refund is alice's to do (round robin could give it to bob).
    ReviewerGroup.objects.filter(slug="support-leads").update(strategy="pull")
    alice = member("alice", "support-leads", "marketing-reviewers")
    member("bob", "support-leads")
    first = None
    for i, (amount, due) in enumerate([(511.2, -90), (320000, 45), (129.0, 300)]):
        approval = request_for(
            "refund-approval",
            title=f"Refund for order #44{i}1 — damaged on arrival, customer asks for a full "
            "refund including shipping and the gift wrapping",
            external_id=f"demo-refund-approval-000{i}-with-a-rather-long-external-identifier",
            payload={"amount": amount, "currency": "USD", "customer": "acme", "order_id": "A-1"},
            due_in=due,
        )
        first = first or approval
    request_for(
        "ai-outbound-review",
        title="Follow-up email to Northwind after the demo",
        external_id="draft-881",
        payload={
            "recipient": "jane.doe.with.a.long.address@northwind-traders.example",
            "channel": "email",
            "subject": "Next steps after Tuesday's demo",
            "draft": "Hi Jane,\n\n" + "A long line of the draft without many breaks. " * 30,
            "model": "gpt-4o",
        },
        due_in=70,
    )
    assert first is not None
    return {"alice": alice, "first": first}


def sideways(page: Any) -> int:
    """How many pixels the page is wider than the window (0: no sideways scroll)."""
    return int(page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))


def reviewer_pages(morning: dict[str, Any]) -> list[str]:
    first: ApprovalRequest = morning["first"]
    token = make_token(reviewer=morning["alice"], approval=first, option_key="approve")
    return ["/inbox/", f"/inbox/{first.pk}/", "/settings/", f"/d/{token}/"]


ENTRANCE_PAGES = ["/accounts/login/", "/accounts/password/reset/", "/accounts/signup/"]


@pytest.mark.parametrize("viewport", [DESK, PHONE], ids=["1440", "390"])
def test_no_reviewer_page_scrolls_sideways(
    new_page: Any, login: Any, morning: dict[str, Any], viewport: dict[str, int]
) -> None:
    anonymous = new_page()
    anonymous.set_viewport_size(viewport)
    for url in ENTRANCE_PAGES:
        anonymous.goto(url)
        assert sideways(anonymous) <= 0, url
        assert anonymous.get_by_role("link", name="Sign up").count() == 0, url
    page = new_page()
    login(page, morning["alice"])
    page.set_viewport_size(viewport)
    for url in reviewer_pages(morning):
        page.goto(url)
        assert sideways(page) <= 0, (url, sideways(page))
        if url.startswith("/inbox/") or url == "/settings/":
            sign_out = page.get_by_role("button", name="Sign out")
            box = sign_out.bounding_box()
            assert box is not None and box["x"] + box["width"] <= viewport["width"], url


def test_on_a_phone_a_tap_opens_the_request_and_back_returns_to_the_list(
    page: Any, login: Any, morning: dict[str, Any], screenshot: Any
) -> None:
    login(page, morning["alice"])
    page.set_viewport_size(PHONE)
    page.goto("/inbox/")
    assert page.locator("#queue").is_visible()
    assert not page.locator("#detail").is_visible()
    screenshot(page, "inbox-390")
    page.locator("#queue .row-link").first.click()
    page.wait_for_url("**/inbox/*/")
    detail = page.locator("#detail [data-detail]")
    detail.wait_for()
    assert not page.locator("#queue").is_visible()  # one column: the request alone
    assert sideways(page) <= 0
    # The decision buttons sit in a bar at the bottom of the screen, under the thumb.
    approve = page.get_by_role("button", name="Approve", exact=True)
    box = approve.bounding_box()
    assert box is not None and PHONE["height"] - 90 <= box["y"] <= PHONE["height"]
    assert "USD 511.20" in detail.inner_text() or "USD 320,000" in detail.inner_text()
    screenshot(page, "detail-390")
    page.go_back()
    page.wait_for_url("**/inbox/")
    page.locator("#queue .row-link").first.wait_for()
    assert page.locator("#queue").is_visible()
    assert not page.locator("#detail").is_visible()
    assert sideways(page) <= 0


def test_a_request_created_through_the_api_appears_without_a_reload(
    page: Any, login: Any, morning: dict[str, Any], live_server: Any, settings: Any,
    screenshot: Any,
) -> None:  # fmt: skip
    settings.INBOX_REFRESH_SECONDS = 1
    login(page, morning["alice"])
    page.set_viewport_size(DESK)
    page.goto("/inbox/")
    count = int(page.title().split(")")[0].lstrip("("))
    assert page.title() == f"({count}) Inbox · Checkpoint"
    screenshot(page, "inbox-1440")
    page.keyboard.press("j")
    page.keyboard.press("j")  # the keyboard is on the second row
    selected = page.locator("#queue .row.is-current").get_attribute("data-id")
    loads = page.evaluate("performance.getEntriesByType('navigation').length")
    page.evaluate("window.__marker = 'still the same page'")

    _, raw = api_token_create(name="browser-test")
    body = {
        "policy": "refund-approval",
        "external_id": "api-live-1",
        "title": "Refund arriving through the API",
        "payload": {"amount": 80.0, "currency": "USD", "customer": "initech"},
    }
    api = urllib.request.Request(
        live_server.url + "/api/v1/requests",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {raw}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(api, timeout=10) as response:
        assert response.status == 201

    page.get_by_role("link", name="Refund arriving through the API").wait_for(timeout=15_000)
    assert page.evaluate("window.__marker") == "still the same page"  # no reload
    assert page.evaluate("performance.getEntriesByType('navigation').length") == loads
    assert page.locator("#queue .row.is-current").get_attribute("data-id") == selected
    deadline = time.monotonic() + 10
    while page.title() != f"({count + 1}) Inbox · Checkpoint" and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    assert page.title() == f"({count + 1}) Inbox · Checkpoint"


def test_no_console_errors_or_csp_violations_on_any_reviewer_page(
    new_page: Any, login: Any, morning: dict[str, Any]
) -> None:
    problems: list[str] = []

    def watched() -> Any:
        page = new_page()
        page.add_init_script(WATCH)
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        return page

    anonymous = watched()
    for url in ENTRANCE_PAGES:
        anonymous.goto(url)
        anonymous.wait_for_load_state("networkidle")
        problems += anonymous.evaluate("window.__problems")
    page = watched()
    login(page, morning["alice"])
    for url in reviewer_pages(morning):
        page.goto(url)
        page.wait_for_load_state("networkidle")
        problems += page.evaluate("window.__problems")
    # A tap into a request (an htmx swap) and the favicon too.
    page.goto("/inbox/")
    page.locator("#queue .row-link").first.click()
    page.locator("#detail [data-detail]").wait_for()
    page.wait_for_load_state("networkidle")
    problems += page.evaluate("window.__problems")
    assert page.request.get("/favicon.ico").status == 200
    assert problems == []
