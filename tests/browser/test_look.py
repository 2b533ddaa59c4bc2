"""The inbox as a reviewer sees it: axe-core finds nothing serious; screenshots for the README."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

pytestmark = pytest.mark.browser


@pytest.fixture
def busy_inbox(playbook: Any, member: Any, request_for: Any) -> Any:
    """A support lead with a realistic morning: refunds, one resubmission, a few decided."""
    for slug in ("refund-approval", "ai-outbound-review", "data-sync-conflict"):
        playbook(slug)
    alice = member("alice", "support-leads", "marketing-reviewers", "revops")
    member("bob", "support-leads")
    titles = [
        ("Refund for order #4411 — damaged on arrival", 129.0, "acme", -25),
        ("Refund for order #4398 — charged twice", 89.5, "globex", 35),
        ("Refund for order #4420 — late delivery", 240.0, "initech", 150),
        ("Refund for order #4431 — wrong size", 64.0, "umbrella", 400),
    ]
    for title, amount, customer, due in titles:
        request_for(
            "refund-approval",
            title=title,
            summary=f"Customer {customer} asks for a refund of {amount:.2f} USD.",
            external_id=f"ticket-{title[18:22]}",
            payload={"amount": amount, "currency": "USD", "customer": customer},
            due_in=due,
        )
    request_for(
        "ai-outbound-review",
        title="Follow-up email to Northwind after the demo",
        summary="Drafted by the sales agent from the call notes.",
        external_id="draft-881",
        payload={
            "recipient": "jane@northwind.example",
            "channel": "email",
            "subject": "Next steps after Tuesday's demo",
            "draft": "Hi Jane,\n\nThanks for your time on Tuesday. As promised, here is a summary "
            "of the pricing we discussed and the rollout plan for your team. We can start the "
            "pilot on the 1st.\n\nBest,\nSam",
            "model": "gpt-4o",
        },
        due_in=70,
    )
    request_for(
        "data-sync-conflict",
        title="Billing city differs for account 0042",
        external_id="sync-0042-city",
        payload={
            "record": "account/0042",
            "field": "billing_city",
            "crm_value": "Lyon",
            "erp_value": "Villeurbanne",
            "crm_updated_at": "2026-11-23T16:02:00Z",
            "erp_updated_at": "2026-11-24T05:40:00Z",
        },
        due_in=300,
    )
    return alice


def test_the_inbox_and_the_detail_have_no_serious_accessibility_violations(
    page: Any,
    login: Any,
    busy_inbox: Any,
    axe_violations: Callable[..., list[dict[str, Any]]],
    screenshot: Any,
) -> None:
    login(page, busy_inbox)
    page.reload()  # past the "signed in" message, for the screenshot
    assert page.get_by_role("link", name="Refund for order #4411").count() == 1
    found = axe_violations(page)
    assert found == [], [(v["id"], v["impact"], v["nodes"][0]["html"]) for v in found]
    screenshot(page, "inbox")

    page.get_by_role("link", name="Follow-up email to Northwind").click()
    page.get_by_role("heading", name="Follow-up email to Northwind after the demo").wait_for()
    found = axe_violations(page)
    assert found == [], [(v["id"], v["impact"], v["nodes"][0]["html"]) for v in found]
    screenshot(page, "detail")

    page.get_by_role("link", name="Refund for order #4411").click()
    page.get_by_role("heading", name="Refund for order #4411 — damaged on arrival").wait_for()
    screenshot(page, "detail-refund")


def test_the_empty_inbox_and_the_sign_in_page_read_well(
    page: Any,
    login: Any,
    live_server: Any,
    member: Any,
    playbook: Any,
    axe_violations: Callable[..., list[dict[str, Any]]],
    screenshot: Any,
) -> None:
    playbook("refund-approval")
    carol = member("carol", "support-leads")
    page.goto(live_server.url + "/accounts/login/")
    assert axe_violations(page) == []
    screenshot(page, "sign-in")
    login(page, carol)
    page.reload()
    page.get_by_text("Inbox zero.").wait_for()
    assert axe_violations(page) == []
    screenshot(page, "empty")
