"""A callback URL the network guard refuses, saved in the admin, in Chromium at a desk and a
phone width: a clear form error, nothing saved (screenshots with SCREENSHOTS=1 go to
docs/screenshots/)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Permission

from approvals.models import Policy


@pytest.mark.parametrize("width", [1440, 390])
def test_a_refused_callback_url_is_shown_on_the_form_and_not_saved(
    width: int,
    page: Any,
    live_server: Any,
    login: Callable[..., None],
    screenshot: Callable[[Any, str], Any],
    manager: Any,
    policy: Policy,
    settings: Any,
) -> None:
    settings.CALLBACK_ALLOW_PRIVATE_NETWORKS = False
    # The live server flushes the database between tests, and the Managers group's permissions
    # with it (they come from a migration): grant them again.
    manager.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_policy", "change_policy"])
    )
    page.set_viewport_size({"width": width, "height": 900})
    login(page, manager, next="/admin/")
    page.goto(f"{live_server.url}/admin/approvals/policy/{policy.pk}/change/")
    page.get_by_label("Callback url").fill("https://192.0.0.9/hooks/checkpoint")
    page.get_by_role("button", name="Save", exact=True).click()
    error = page.locator(".errorlist").filter(has_text="callbacks there are refused")
    error.first.wait_for()
    assert "192.0.0.0/24, IETF protocol assignments" in error.first.inner_text()
    page.get_by_label("Callback url").scroll_into_view_if_needed()
    screenshot(page, f"policy-callback-refused-{width}")
    policy.refresh_from_db()
    assert policy.callback_url == "" and policy.version == 1
