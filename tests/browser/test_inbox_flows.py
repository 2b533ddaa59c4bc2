"""A reviewer's morning in Chromium: sign in, clear the queue from the keyboard, decide well."""

from __future__ import annotations

from typing import Any

import pytest

from approvals.models import ApprovalRequest, Decision

pytestmark = pytest.mark.browser

Status = ApprovalRequest.Status


def refunds(request_for: Any, n: int) -> list[ApprovalRequest]:
    return [
        request_for(
            "refund-approval",
            title=f"Refund for order #{4400 + i}",
            external_id=f"ticket-{4400 + i}",
            payload={"amount": 120.0 + i, "currency": "USD", "customer": "acme"},
            due_in=30 + 60 * i,
        )
        for i in range(n)
    ]


@pytest.fixture
def pull_support(playbook: Any) -> Any:
    """refund-approval, with support-leads switched to pull so the queue is shared."""
    from approvals.models import ReviewerGroup

    policy = playbook("refund-approval")
    ReviewerGroup.objects.filter(slug="support-leads").update(strategy="pull")
    return policy


def test_a_reviewer_signs_in_and_clears_three_requests_from_the_keyboard(
    page: Any, login: Any, settle: Any, pull_support: Any, member: Any, request_for: Any
) -> None:
    alice = member("alice", "support-leads")
    first, second, third = refunds(request_for, 3)
    login(page, alice)  # the real /accounts/login/ page, by email

    # Typing in the search box is not a shortcut.
    page.keyboard.press("/")
    page.keyboard.type("ar")
    assert page.locator("#confirm-dialog[open]").count() == 0
    page.keyboard.press("Escape")
    page.keyboard.press("Control+a")  # not a shortcut either (a modifier is held)
    page.locator("#q").fill("")
    page.locator("#q").press("Escape")
    settle(page)  # the unfiltered list is back
    page.locator("#queue [data-row]").nth(2).wait_for()

    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("k")  # back to the first (most urgent) one
    page.keyboard.press("Enter")
    page.get_by_role("heading", name=first.title).wait_for()
    for approval in (first, second, third):
        page.get_by_role("heading", name=approval.title).wait_for()
        page.keyboard.press("a")
        dialog = page.get_by_role("dialog", name="Approve")
        dialog.wait_for()
        page.keyboard.press("Enter")  # Confirm has the focus
        page.wait_for_function(
            "id => !document.querySelector(`#detail [data-id='${id}']`)", arg=str(approval.pk)
        )
    page.get_by_text("All clear.").first.wait_for()
    settle(page)
    for approval in (first, second, third):
        approval.refresh_from_db()
        assert approval.status == Status.APPROVED
        decision = approval.decisions.get()
        assert (decision.decided_by_name, decision.channel) == ("alice", "web")
    page.wait_for_function(
        "() => document.querySelector('#views a[aria-current=page] .count').textContent === '0'"
    )


def test_a_confirm_can_be_cancelled_and_the_shortcuts_are_listed(
    page: Any, login: Any, settle: Any, pull_support: Any, member: Any, request_for: Any
) -> None:
    alice = member("alice", "support-leads")
    (approval,) = refunds(request_for, 1)
    login(page, alice)
    page.keyboard.press("?")
    shortcuts = page.get_by_role("dialog", name="Keyboard shortcuts")
    shortcuts.wait_for()
    page.keyboard.press("Escape")
    page.keyboard.press("j")
    page.keyboard.press("Enter")
    page.get_by_role("heading", name=approval.title).wait_for()
    page.keyboard.press("r")
    page.get_by_role("dialog", name="Reject").wait_for()
    page.get_by_role("button", name="Cancel").click()
    settle(page)
    approval.refresh_from_db()
    assert approval.status == Status.PENDING and not approval.decisions.exists()


def test_approve_with_a_comment(
    page: Any, login: Any, settle: Any, pull_support: Any, member: Any, request_for: Any
) -> None:
    alice = member("alice", "support-leads")
    (approval,) = refunds(request_for, 1)
    login(page, alice)
    page.get_by_role("link", name=approval.title).click()
    page.get_by_label("Comment", exact=True).fill("Receipt and photos checked.")
    page.get_by_role("button", name="Approve", exact=True).click()
    page.get_by_text(f"Approve recorded for “{approval.title}”.").wait_for()
    settle(page)
    decision = Decision.objects.get(approval=approval)
    assert (decision.outcome, decision.comment) == ("approve", "Receipt and photos checked.")


def test_use_crm_and_custom_with_its_value_enforced_on_a_data_sync_conflict(
    page: Any, login: Any, settle: Any, playbook: Any, member: Any, request_for: Any
) -> None:
    playbook("data-sync-conflict")
    dana = member("dana", "revops")
    payload = {"record": "account/42", "field": "city", "crm_value": "Lyon", "erp_value": "Paris"}
    crm = request_for("data-sync-conflict", title="City differs for 42", payload=payload, due_in=60)
    custom = request_for(
        "data-sync-conflict",
        title="Street differs for 43",
        payload={**payload, "record": "account/43", "field": "street"},
        due_in=120,
    )
    login(page, dana)
    page.get_by_role("link", name=crm.title).click()
    page.get_by_role("button", name="Use CRM", exact=True).click()
    page.get_by_role("heading", name=custom.title).wait_for()  # the next one slides in
    page.get_by_role("button", name="Custom", exact=True).click()
    page.get_by_role("alert").filter(has_text="needs a value").wait_for()
    settle(page)
    assert not Decision.objects.filter(approval=custom).exists()
    page.get_by_label("Value", exact=True).fill("12 Rue de la République")
    page.get_by_role("button", name="Custom", exact=True).click()
    page.get_by_text("All clear.").first.wait_for()
    settle(page)
    assert Decision.objects.get(approval=crm).option == "use_crm"
    decision = Decision.objects.get(approval=custom)
    assert (decision.option, decision.value) == ("custom", "12 Rue de la République")


def test_an_edited_draft_is_approved_and_the_diff_is_stored(
    page: Any, login: Any, settle: Any, playbook: Any, member: Any, request_for: Any
) -> None:
    playbook("ai-outbound-review")
    mia = member("mia", "marketing-reviewers")
    draft = "Hi Jane, we guarantee 50% off forever."
    approval = request_for(
        "ai-outbound-review",
        title="Follow-up to Northwind",
        payload={"draft": draft, "recipient": "jane@northwind.example"},
        due_in=60,
    )
    login(page, mia)
    page.get_by_role("link", name=approval.title).click()
    page.get_by_label("draft").fill("Hi Jane, here is the offer we discussed on Tuesday.")
    page.get_by_role("button", name="Approve", exact=True).click()
    page.get_by_text("All clear.").first.wait_for()
    settle(page)
    decision = Decision.objects.get(approval=approval)
    assert decision.payload_changes == {
        "draft": {"from": draft, "to": "Hi Jane, here is the offer we discussed on Tuesday."}
    }


def test_a_large_discount_moves_on_to_the_finance_reviewer_after_the_sales_manager(
    new_page: Any, login: Any, settle: Any, playbook: Any, member: Any, request_for: Any
) -> None:
    playbook("deal-discount")
    sam = member("sam", "sales-managers")
    fiona = member("fiona", "finance")
    deal = request_for(
        "deal-discount",
        title="Initech renewal at 25% off",
        payload={"deal": "Initech renewal", "discount_percent": 25, "amount": 48000},
    )
    assert (deal.stage, deal.assignee) == (1, sam)  # least loaded: the only sales manager

    finance_page = new_page()
    login(finance_page, fiona)
    settle(finance_page)
    assert finance_page.get_by_role("link", name=deal.title).count() == 0

    sales_page = new_page()
    login(sales_page, sam)
    sales_page.get_by_role("link", name=deal.title).click()
    sales_page.get_by_text("Stage 1 of 2").wait_for()
    sales_page.get_by_role("button", name="Approve", exact=True).click()
    sales_page.get_by_text("All clear.").first.wait_for()
    settle(sales_page)
    deal.refresh_from_db()
    assert (deal.status, deal.stage, deal.assigned_group.slug) == (Status.PENDING, 2, "finance")

    finance_page.reload()
    finance_page.get_by_role("link", name=deal.title).click()
    finance_page.get_by_text("Stage 2 of 2").wait_for()
    finance_page.get_by_role("button", name="Approve", exact=True).click()
    finance_page.get_by_text("All clear.").first.wait_for()
    settle(finance_page)
    deal.refresh_from_db()
    assert deal.status == Status.APPROVED
    assert list(deal.decisions.values_list("stage", "decided_by_name")) == [
        (1, "sam"),
        (2, "fiona"),
    ]
