"""/settings/ in Chromium: a reviewer sets out of office with a delegate; errors are readable."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from approvals.models import ReviewerProfile

pytestmark = pytest.mark.browser


def test_a_reviewer_sets_out_of_office_in_the_browser(
    transactional_db: Any,
    page: Any,
    login: Callable[..., None],
    screenshot: Callable[[Any, str], Any],
    axe_violations: Callable[..., list[dict[str, Any]]],
    reviewer: Any,
    other_reviewer: Any,
) -> None:
    login(page, reviewer)
    page.get_by_role("link", name="Settings").click()
    page.wait_for_url("**/settings/")
    assert axe_violations(page) == []

    # The day back before the day away: refused, with the message next to the field.
    page.get_by_label("Away from").fill("2026-12-10T09:00")
    page.get_by_label("Back on").fill("2026-12-01T09:00")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("The day you are back must be after the day you leave.").wait_for()
    screenshot(page, "settings-error")
    assert ReviewerProfile.objects.filter(user=reviewer).count() == 0

    page.get_by_label("Back on").fill("2026-12-17T09:00")
    page.get_by_label("Delegate").select_option(label="bob")
    page.get_by_label("Email me a daily digest of my pending work").check()
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Away from Thu 10 Dec 2026, 09:00 UTC").wait_for()
    screenshot(page, "settings")
    assert axe_violations(page) == []
    profile = ReviewerProfile.objects.get(user=reviewer)
    assert profile.delegate == other_reviewer and profile.daily_digest
