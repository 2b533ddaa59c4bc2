"""Chromium: a supervisor remembers a Bash call from the inbox (desk and phone widths)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from approvals.models import Policy, StandingApproval
from approvals.services import approval_submit

pytestmark = pytest.mark.browser


@pytest.mark.parametrize(("width", "name"), [(1440, "remember"), (390, "remember-phone")])
def test_a_supervisor_approves_and_remembers_in_chromium(
    page: Any,
    login: Callable[..., None],
    screenshot: Callable[[Any, str], Any],
    axe_violations: Callable[..., list[dict[str, Any]]],
    settle: Callable[[Any], None],
    agent_policy: Policy,
    supervisor: Any,
    width: int,
    name: str,
) -> None:
    call = approval_submit(
        policy=agent_policy,
        title="Bash: make test",
        payload={"tool_name": "Bash", "input": {"command": "make test"}, "agent": "claude-code"},
    )
    page.set_viewport_size({"width": width, "height": 1100})
    login(page, supervisor, next=f"/inbox/{call.pk}/")

    assert page.get_by_role("checkbox", name="tool_name").is_checked()
    assert not page.get_by_role("checkbox", name="input").is_checked()
    page.get_by_label("For how long").select_option("1d")
    page.get_by_role("group", name="Approve and remember").scroll_into_view_if_needed()
    screenshot(page, name)
    # Only the remember box is new here (the phone header's contrast is a known, older issue).
    ours = [
        (v["id"], n["html"][:120])
        for v in axe_violations(page)
        for n in v["nodes"]
        if "remember" in n["html"] or "remember" in " ".join(map(str, n.get("target", [])))
    ]
    assert ours == []
    page.get_by_role("button", name="Approve and remember").click()
    page.get_by_text("Approve and remember recorded for “Bash: make test”.").wait_for()
    settle(page)

    standing = StandingApproval.objects.get()
    assert standing.conditions == {"tool_name": "Bash"}
