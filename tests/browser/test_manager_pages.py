"""The managers' pages in Chromium: the rule builder saves a rule the what-if then replays; the
admin tables and the policy page fit 1440 px; screenshots of the builder and the dashboard."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from approvals.models import ApprovalRequest, Policy
from tests.factories import PASSWORD, UserFactory, enrol_totp, totp_code

pytestmark = pytest.mark.browser

WIDE = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def boss(transactional_db: Any) -> Any:
    user = UserFactory.create(
        username="maria", email="maria@example.com", is_staff=True, is_superuser=True
    )
    user.totp_secret = enrol_totp(user)  # type: ignore[attr-defined]
    return user


@pytest.fixture
def refunds(playbook: Any, member: Any, request_for: Any) -> Policy:
    """The refund playbook and a few requests: two small (auto), three over 50."""
    policy = playbook("refund-approval")
    member("alice", "support-leads")
    for n, amount in enumerate([20, 35, 55, 58, 140]):
        request_for(
            "refund-approval",
            title=f"Refund for order #{4400 + n}",
            external_id=f"ticket-{4400 + n}",
            payload={"amount": amount, "currency": "USD", "customer": "acme"},
        )
    return policy


def sign_in(page: Any, live_server: Any, user: Any, next: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/?next={next}")
    page.get_by_label("Email or username").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/accounts/2fa/authenticate/*")
    page.get_by_label("Code").fill(totp_code(user.totp_secret))
    page.locator("form button[type=submit]").first.click()
    page.wait_for_url(f"**{next}")


def fits(page: Any) -> tuple[int, int]:
    return page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")


def test_a_rule_saved_in_the_builder_is_what_the_what_if_replays(
    page: Any, live_server: Any, boss: Any, refunds: Policy, screenshot: Any
) -> None:
    page.set_viewport_size(WIDE)
    change = reverse("admin:approvals_policy_change", args=[refunds.pk])
    sign_in(page, live_server, boss, change)
    rule = page.locator("#rules-group")
    assert rule.get_by_text("Approve automatically when amount is under 50").count() == 1
    # The operators narrow to the field's type (the script), and the server agrees.
    page.select_option('select[name="rules-0-condition_f0"]', "currency")
    assert page.locator('select[name="rules-0-condition_o0"] option[value="lt"]').is_disabled()
    page.select_option('select[name="rules-0-condition_f0"]', "amount")
    page.select_option('select[name="rules-0-condition_o0"]', "lt")
    page.fill('input[name="rules-0-condition_v0"]', "60")
    width, inner = fits(page)
    assert width <= inner, f"the policy page is {width} px wide at {inner}"
    page.get_by_role("button", name="Save and continue editing").click()
    page.wait_for_url(f"**{change}")
    assert page.get_by_text("the summary did not").count() == 1
    assert rule.get_by_text("Approve automatically when amount is under 60").count() == 1
    rule.evaluate("element => element.scrollIntoView()")
    screenshot(page, "rule-builder-1440")
    refunds.refresh_from_db()
    assert refunds.version == 2
    assert refunds.rules.get().condition == {"field": "amount", "op": "lt", "value": 60}

    page.goto(f"{live_server.url}{reverse('admin:approvals_whatif')}?policy={refunds.pk}")
    assert page.get_by_text("Approve automatically when amount is under 60").count() == 1
    page.get_by_role("button", name="Replay").click()
    page.wait_for_url("**condition=*")
    assert page.get_by_text("Replayed 5 requests").count() == 1
    # 55 and 58 went to a person under the old rule; the saved rule decides them.
    assert page.locator(".cp-verdict strong").first.inner_text() == "2 more"
    # Apply offers to update the summary, which still speaks of the old rule.
    assert "Refunds under 50" in page.locator("#id_apply_summary").input_value()
    assert page.get_by_text("Rewrite it if it describes the old rule").count() == 1


def test_admin_tables_and_the_policy_page_fit_1440(
    page: Any, live_server: Any, boss: Any, refunds: Policy
) -> None:
    from approvals.services import approval_decide

    approval = ApprovalRequest.objects.filter(status="pending").first()
    assert approval is not None
    alice = approval.assigned_group.memberships.get().user  # type: ignore[union-attr]
    approval_decide(approval=approval, reviewer=alice, option="approve", comment="fine")
    page.set_viewport_size(WIDE)
    sign_in(page, live_server, boss, "/admin/")
    for name in (
        "admin:approvals_outboxevent_changelist",
        "admin:approvals_decision_changelist",
        "admin:approvals_approvalrequest_changelist",
        "admin:approvals_auditentry_changelist",
    ):
        page.goto(live_server.url + reverse(name))
        width, inner = fits(page)
        assert width <= inner, f"{name} is {width} px wide at {inner}"
    page.goto(live_server.url + reverse("admin:approvals_policy_change", args=[refunds.pk]))
    width, inner = fits(page)
    assert width <= inner, f"the policy page is {width} px wide at {inner}"


def test_the_dashboard_at_both_sizes(
    page: Any, live_server: Any, boss: Any, transactional_db: Any, screenshot: Any
) -> None:
    from django.contrib.auth.models import Group

    from playbooks.demo import seed_demo

    Group.objects.get_or_create(name="Managers")  # made by a migration; flushed by this test's db
    seed_demo(requests=120, seed=3)
    page.set_viewport_size(WIDE)
    sign_in(page, live_server, boss, reverse("admin:approvals_dashboard"))
    page.reload()  # past the "signed in" message, for the screenshot
    width, inner = fits(page)
    assert width <= inner, f"the dashboard is {width} px wide at {inner}"
    screenshot(page, "dashboard-1440")
    page.set_viewport_size(PHONE)
    page.reload()
    width, inner = fits(page)
    assert width <= inner, f"the dashboard is {width} px wide at {inner}"
    screenshot(page, "dashboard-390")


def test_the_invite_and_what_if_pages_at_both_sizes(
    page: Any, live_server: Any, boss: Any, refunds: Policy, screenshot: Any
) -> None:
    invite = reverse("admin:approvals_invite")
    whatif = f"{reverse('admin:approvals_whatif')}?policy={refunds.pk}&days=30"
    sign_in(page, live_server, boss, invite)
    for size, suffix in ((WIDE, "1440"), (PHONE, "390")):
        page.set_viewport_size(size)
        page.goto(live_server.url + invite)
        width, inner = fits(page)
        assert width <= inner, f"the invite page is {width} px wide at {inner}"
        screenshot(page, f"invite-{suffix}")
        page.goto(live_server.url + whatif)
        page.get_by_role("button", name="Replay").click()
        page.wait_for_url("**condition=*")
        screenshot(page, f"whatif-apply-{suffix}")
    page.set_viewport_size(WIDE)
    page.goto(live_server.url + invite)
    page.get_by_label("Email").fill("dana@example.com")
    page.get_by_label("Support leads").check()
    page.get_by_role("button", name="Send the invitation").click()
    assert page.get_by_text("Invited dana (dana@example.com), added to support-leads").count() == 1
