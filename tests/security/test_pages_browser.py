"""The pages this hardening changed, in Chromium: the Settings security card, a link opened by
the wrong person, a link that needs sign-in, and allauth's two-factor page in our frame."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from approvals.inbox.deeplinks import make_token
from approvals.models import ApprovalRequest
from tests.factories import enrol_totp
from tests.fixtures.browser import SCREENSHOT_DIR

pytestmark = pytest.mark.browser

WIDTHS = (1440, 390)


def shoot(page: Any, name: str) -> None:
    """docs/screenshots/<name>-<width>.png at each width, whole page (SCREENSHOTS=1 only)."""
    if os.environ.get("SCREENSHOTS") != "1":
        return
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(Path(SCREENSHOT_DIR) / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 800})


def test_the_settings_page_links_two_factor_and_sessions(
    transactional_db: Any,
    page: Any,
    login: Callable[..., None],
    axe_violations: Callable[..., list[dict[str, Any]]],
    reviewer: Any,
) -> None:
    login(page, reviewer)
    page.goto("/settings/")
    card = page.get_by_role("region", name="Sign-in and security")
    card.get_by_role("link", name="Set up two-factor authentication").wait_for()
    assert axe_violations(page) == []
    shoot(page, "settings-security")
    card.get_by_role("link", name="Your signed-in sessions").click()
    page.wait_for_url("**/accounts/sessions/")
    assert axe_violations(page) == []
    shoot(page, "sessions")


def test_a_link_opened_by_another_reviewer_and_one_that_needs_sign_in(
    transactional_db: Any,
    new_page: Callable[[], Any],
    login: Callable[..., None],
    axe_violations: Callable[..., list[dict[str, Any]]],
    pending: ApprovalRequest,
    reviewer: Any,
    other_reviewer: Any,
) -> None:
    token = make_token(reviewer=reviewer, approval=pending, option_key="approve")
    bob = new_page()
    login(bob, other_reviewer)
    response = bob.goto(f"/d/{token}/")
    assert response is not None and response.status == 403
    bob.get_by_text(
        "This link belongs to another reviewer; sign out or open your inbox."
    ).wait_for()
    assert axe_violations(bob) == []
    shoot(bob, "deeplink-not-yours")
    bob.get_by_role("article").get_by_role("button", name="Sign out").click()
    bob.wait_for_load_state()

    enrol_totp(reviewer)
    stranger = new_page()
    stranger.goto(f"/d/{token}/")
    stranger.get_by_role("heading", name="Sign in to decide").wait_for()
    assert axe_violations(stranger) == []
    shoot(stranger, "deeplink-sign-in")
    stranger.get_by_role("link", name="Sign in to approve").click()
    stranger.wait_for_url("**/accounts/login/?next=*")
