"""The inbound source pages in Chromium, at a desk and a phone width (screenshots with
SCREENSHOTS=1 go to docs/screenshots/)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Permission

from approvals.models import ApprovalRequest, InboundSource
from tests.inbound.conftest import deal_body


@pytest.mark.parametrize("width", [1440, 390])
def test_a_manager_tests_a_mapping_with_a_sample_body(
    width: int,
    page: Any,
    live_server: Any,
    login: Callable[..., None],
    screenshot: Callable[[Any, str], Any],
    manager: Any,
    source_for: Callable[..., InboundSource],
) -> None:
    # The live server flushes the database between tests, and the Managers group's permissions
    # with it (they come from a migration): grant them again.
    manager.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_inboundsource", "change_inboundsource"])
    )
    source = source_for("hubspot", slug="hubspot-deals")
    page.set_viewport_size({"width": width, "height": 900})
    login(page, manager, next="/admin/")
    page.goto(f"{live_server.url}/admin/approvals/inboundsource/{source.pk}/change/")
    page.get_by_text("secret set").wait_for()
    screenshot(page, f"inbound-source-{width}")
    page.get_by_role("link", name="Test with a sample body").click()
    page.get_by_label("Sample body (JSON)").fill(json.dumps(deal_body(), indent=2))
    page.get_by_role("button", name="Render the request").click()
    page.get_by_role("heading", name="The request it would create").wait_for()
    assert "Discount for Acme renewal" in page.content()
    screenshot(page, f"inbound-sample-{width}")
    assert not ApprovalRequest.objects.exists()
