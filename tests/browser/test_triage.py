"""Bulk triage, partial search and the resubmission's page in Chromium (issue 13, items 3, 4, 7)."""

from __future__ import annotations

from typing import Any

import pytest

from approvals.models import ApprovalRequest, ReviewerGroup
from approvals.services import approval_decide

pytestmark = pytest.mark.browser

Status = ApprovalRequest.Status
WIDE = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def support_queue(playbook: Any, member: Any, request_for: Any) -> dict[str, Any]:
    """refund-approval with a shared (pull) queue of three refunds; alice and bob review it."""
    playbook("refund-approval")
    ReviewerGroup.objects.filter(slug="support-leads").update(strategy="pull")
    alice = member("alice", "support-leads")
    bob = member("bob", "support-leads")
    rows = [
        request_for(
            "refund-approval",
            title=title,
            external_id=f"demo-refund-approval-{number}",
            payload={"amount": amount, "currency": "USD", "customer": customer},
            due_in=due,
        )
        for title, number, amount, customer, due in [
            ("Refund for order #4411 — damaged on arrival", "0249", 129.0, "acme", 30),
            ("Refund for order #4398 — charged twice", "0250", 89.5, "globex", 90),
            ("Refund for order #4420 — late delivery", "0251", 240.0, "initech", 150),
        ]
    ]
    return {"alice": alice, "bob": bob, "rows": rows}


def selected_count(page: Any) -> str:
    return page.locator("[data-selected-count]").inner_text()


def test_bulk_approve_of_three_where_one_was_decided_meanwhile(
    page: Any, login: Any, settle: Any, screenshot: Any, support_queue: dict[str, Any]
) -> None:
    alice, bob, rows = support_queue["alice"], support_queue["bob"], support_queue["rows"]
    page.set_viewport_size(WIDE)
    login(page, alice)
    boxes = page.locator("#queue .row-check")
    boxes.nth(2).wait_for()

    # x toggles the current row; "Select all on this page" takes every row, and back.
    page.keyboard.press("j")
    page.keyboard.press("x")
    assert selected_count(page) == "1"
    page.keyboard.press("x")
    assert selected_count(page) == "0"
    page.get_by_label("Select all on this page").check()
    assert selected_count(page) == "3"
    page.get_by_label("Select all on this page").uncheck()
    assert selected_count(page) == "0"
    # Shift-click selects the range between the last box and this one.
    boxes.nth(0).click()
    boxes.nth(2).click(modifiers=["Shift"])
    assert selected_count(page) == "3"
    assert boxes.nth(1).is_checked()

    page.get_by_label("Comment for the selected requests").fill("Receipts checked.")
    screenshot(page, "bulk-1440")
    # Meanwhile bob approves the second one from his own inbox.
    approval_decide(approval=rows[1], reviewer=bob, option="approve", comment="done")

    page.get_by_role("button", name="Approve selected").click()
    result = page.locator("[data-bulk-result]")
    result.wait_for()
    text = result.inner_text()
    assert "2 approved." in text and "1 was already decided by bob." in text, text
    settle(page)
    screenshot(page, "bulk-result-1440")

    for row in rows:
        row.refresh_from_db()
        assert row.status == Status.APPROVED
    decided_by = [row.decisions.get().decided_by_name for row in rows]
    assert decided_by == ["alice", "bob", "alice"]
    assert rows[0].decisions.get().comment == "Receipts checked."
    # The list redrew without them and the selection is empty again.
    page.wait_for_function("() => document.querySelectorAll('#queue [data-row]').length === 0")
    assert selected_count(page) == "0"


def test_the_bulk_bar_on_a_phone(
    page: Any, login: Any, screenshot: Any, support_queue: dict[str, Any]
) -> None:
    page.set_viewport_size(PHONE)
    login(page, support_queue["alice"])
    page.locator("#queue .row-check").nth(0).click()
    page.get_by_role("button", name="Approve selected").wait_for()
    screenshot(page, "bulk-390")


def test_a_partial_search_finds_the_row_and_esc_keeps_the_query(
    page: Any, login: Any, settle: Any, screenshot: Any, support_queue: dict[str, Any]
) -> None:
    page.set_viewport_size(WIDE)
    login(page, support_queue["alice"])
    page.locator("#queue [data-row]").nth(2).wait_for()

    page.keyboard.press("/")
    page.keyboard.type("0249")
    page.wait_for_function("() => document.querySelectorAll('#queue [data-row]').length === 1")
    settle(page)
    assert "damaged on arrival" in page.locator("#queue .row-title").inner_text()
    assert page.locator("#list-title .count").inner_text() == "1"
    screenshot(page, "search-1440")

    page.keyboard.press("Escape")  # leaves the box, keeps the query and the filtered list
    settle(page)
    assert page.locator("#q").input_value() == "0249"
    assert page.evaluate("() => document.activeElement.id") != "q"
    assert page.locator("#queue [data-row]").count() == 1
    page.keyboard.press("j")  # the shortcuts work again
    assert page.locator("#queue [data-row].is-current").count() == 1

    page.get_by_role("link", name="Clear filters").click()
    page.wait_for_function("() => document.querySelectorAll('#queue [data-row]').length === 3")
    assert page.locator("#q").input_value() == ""

    page.set_viewport_size(PHONE)
    page.locator("#q").fill("globex")
    page.wait_for_function("() => document.querySelectorAll('#queue [data-row]').length === 1")
    settle(page)
    screenshot(page, "search-390")


def test_a_resubmission_opens_with_the_askers_comment_and_the_diff(
    page: Any,
    login: Any,
    live_server: Any,
    screenshot: Any,
    support_queue: dict[str, Any],
    request_for: Any,
) -> None:
    alice, bob, rows = support_queue["alice"], support_queue["bob"], support_queue["rows"]
    approval_decide(
        approval=rows[0],
        reviewer=bob,
        option="request_changes",
        comment="Please attach the photo of the damaged parcel.",
    )
    rows[0].refresh_from_db()
    again = request_for(
        "refund-approval",
        title="Refund for order #4411 — damaged on arrival (photo attached)",
        external_id="demo-refund-approval-0249",
        payload={"amount": 20.0, "currency": "USD", "customer": "acme"},
        previous=rows[0],
    )
    assert (again.status, again.assignee_id) == (Status.PENDING, bob.pk)
    page.set_viewport_size(WIDE)
    login(page, bob)
    page.goto(live_server.url + f"/inbox/{again.pk}/")
    card = page.locator(".revision")
    card.wait_for()
    assert "bob asked for changes" in card.inner_text()
    assert "photo of the damaged parcel" in card.inner_text()
    # Above the fold, above the details.
    assert card.bounding_box()["y"] < page.locator("#fields-title").bounding_box()["y"]
    assert card.bounding_box()["y"] < 900
    screenshot(page, "resubmission-1440")
    page.set_viewport_size(PHONE)
    screenshot(page, "resubmission-390")
    del alice
