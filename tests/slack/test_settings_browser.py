"""/settings/ in Chromium: the Slack switch, at desk and phone widths."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from approvals.models import ReviewerProfile
from tests.fixtures.slack import FakeSlack

pytestmark = pytest.mark.browser


def test_a_reviewer_turns_slack_off_in_the_browser(
    transactional_db: Any,
    fake_slack: FakeSlack,
    page: Any,
    login: Callable[..., None],
    screenshot: Callable[[Any, str], Any],
    axe_violations: Callable[..., list[dict[str, Any]]],
    reviewer: Any,
) -> None:
    login(page, reviewer)
    page.goto("/settings/")
    switch = page.get_by_label("Send me my requests in Slack")
    assert switch.is_checked()
    found = axe_violations(page)  # at the fixtures' 1280 px, like the other settings test
    assert found == [], [(v["id"], [n["html"] for n in v["nodes"]]) for v in found]
    for width, height in ((1440, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.get_by_role("heading", name="Slack").scroll_into_view_if_needed()
        screenshot(page, f"settings-slack-{width}")

    switch.uncheck()
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Your settings are saved.").wait_for()
    assert not page.get_by_label("Send me my requests in Slack").is_checked()
    assert ReviewerProfile.objects.get(user=reviewer).slack_enabled is False
