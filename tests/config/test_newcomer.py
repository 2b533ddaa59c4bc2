"""The newcomer path: API docs from local static files, managers land on the dashboard, the
demo's links follow its port."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

from django.conf import settings
from django.test import Client
from django.urls import reverse

from tests.factories import PASSWORD, totp_code


def test_the_interactive_api_docs_load_only_local_files(client: Client) -> None:
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources and all(source.startswith("/static/") for source in sources), sources
    assert "cdn" not in html.lower()
    assert "/api/v1/openapi.json" in html
    assert client.get("/api/v1/openapi.json").status_code == 200


def test_the_docs_assets_ship_with_the_app() -> None:
    from django.contrib.staticfiles import finders

    for name in ("ninja/swagger-ui-bundle.js", "ninja/swagger-ui.css", "ninja/swagger-ui-init.js"):
        assert finders.find(name), name


def test_a_manager_lands_on_the_dashboard_and_a_reviewer_in_the_inbox(
    client: Client, manager: Any, reviewer: Any
) -> None:
    login = reverse("account_login")
    to = client.post(login, {"login": manager.username, "password": PASSWORD})
    # Staff have a second factor (docs/security.md): the code step comes before the landing.
    assert to.status_code == 302 and to["Location"] == "/accounts/2fa/authenticate/"
    to = client.post(to["Location"], {"code": totp_code(manager.totp_secret)})
    assert to.status_code == 302 and to["Location"] == reverse("admin:approvals_dashboard")
    client.logout()
    to = client.post(login, {"login": reviewer.username, "password": PASSWORD})
    assert to.status_code == 302 and to["Location"] == reverse("inbox")


def test_a_wrong_password_changes_nothing_and_says_so(client: Client, manager: Any) -> None:
    page = client.post(reverse("account_login"), {"login": manager.username, "password": "nope"})
    assert page.status_code == 200 and "_auth_user_id" not in client.session


def test_the_demo_points_its_links_at_its_own_port() -> None:
    path = Path(settings.BASE_DIR) / "scripts" / "demo.py"
    spec = importlib.util.spec_from_file_location("demo_script", path)
    assert spec and spec.loader
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    assert demo.demo_environment("8111", {}) == {"SITE_URL": "http://127.0.0.1:8111"}
    assert demo.demo_environment("8111", {"SITE_URL": "https://x.test"}) == {
        "SITE_URL": "https://x.test"
    }
    makefile = (Path(settings.BASE_DIR) / "Makefile").read_text()
    assert "demo: export SITE_URL ?= http://127.0.0.1:$(PORT)" in makefile
