"""The pages four-eyes and scoped tokens changed, in Chromium at desktop and phone widths: the
request page marks an unverified `requested_by` and tells the requester they cannot approve;
the admin's token form shows the limits. Screenshots with SCREENSHOTS=1."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.factories import UserFactory, enrol_totp

pytestmark = pytest.mark.browser

WIDTHS = {"1440": (1440, 900), "390": (390, 844)}


def test_the_request_page_marks_unverified_requesters_and_the_requester(
    page: Any,
    login: Any,
    playbook: Any,
    member: Any,
    request_for: Any,
    axe_violations: Callable[..., list[dict[str, Any]]],
    screenshot: Any,
) -> None:
    playbook("refund-approval")
    alice = member("alice", "support-leads")
    unverified = request_for(
        "refund-approval",
        title="Refund for order #4411 — damaged on arrival",
        payload={"amount": 129.0, "currency": "USD", "customer": "acme"},
        requested_by="zendesk-macro-17",
    )
    own = request_for(
        "refund-approval",
        title="Refund for order #4420 — late delivery",
        payload={"amount": 240.0, "currency": "USD", "customer": "initech"},
        requested_by="",
        requester_id=alice.pk,
    )
    login(page, alice)
    page.goto(f"/inbox/{unverified.pk}/")
    assert page.get_by_text("unverified", exact=True).count() == 1
    found = axe_violations(page)
    assert found == [], [(v["id"], v["impact"], v["nodes"][0]["html"]) for v in found]
    for width, size in WIDTHS.items():
        page.set_viewport_size({"width": size[0], "height": size[1]})
        screenshot(page, f"four-eyes-unverified-{width}")
    page.goto(f"/inbox/{own.pk}/")
    assert page.get_by_text("You asked for this request").count() == 1
    for width, size in WIDTHS.items():
        page.set_viewport_size({"width": size[0], "height": size[1]})
        screenshot(page, f"four-eyes-own-{width}")


def test_the_admin_token_form_shows_every_limit(
    page: Any, login: Any, playbook: Any, screenshot: Any
) -> None:
    playbook("refund-approval")
    admin = UserFactory.create(
        username="maria", email="maria@example.com", is_staff=True, is_superuser=True
    )
    admin.totp_secret = enrol_totp(admin)  # type: ignore[attr-defined]
    login(page, admin, next="/admin/approvals/apitoken/add/")
    for label in ("Name:", "Caller:", "Scopes:", "Policies:", "Expires days:", "User:"):
        assert page.get_by_text(label, exact=True).count() == 1, label
    for width, size in WIDTHS.items():
        page.set_viewport_size({"width": size[0], "height": size[1]})
        screenshot(page, f"token-create-{width}")
    page.get_by_label("Name:").fill("crm-reader")
    page.get_by_label("Caller:").fill("crm")
    page.get_by_role("button", name="Create the token").click()
    assert page.locator("#raw-token").input_value().startswith("cpk_")
    for width, size in WIDTHS.items():
        page.set_viewport_size({"width": size[0], "height": size[1]})
        screenshot(page, f"token-created-{width}")
