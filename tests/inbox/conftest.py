from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

HX = {"HX-Request": "true"}


@pytest.fixture
def alice(client: Client, reviewer: Any) -> Client:
    """The test client, signed in as `reviewer` (alice, support-leads)."""
    client.force_login(reviewer)
    return client


def hx(target: str = "", trigger: str = "") -> dict[str, str]:
    headers = dict(HX)
    if target:
        headers["HX-Target"] = target
    if trigger:
        headers["HX-Trigger"] = trigger
    return headers
