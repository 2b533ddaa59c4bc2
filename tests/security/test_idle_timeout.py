"""SESSION_IDLE_MINUTES: a session that saw no request for that long is signed out."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.test import Client

from approvals.security.middleware import LAST_SEEN_KEY

pytestmark = pytest.mark.django_db


def set_last_seen(client: Client, seconds_ago: int) -> None:
    session = client.session
    session[LAST_SEEN_KEY] = int(time.time()) - seconds_ago
    session.save()


def test_sign_in_stamps_the_session(client: Client, reviewer: Any) -> None:
    client.force_login(reviewer)
    assert abs(client.session[LAST_SEEN_KEY] - time.time()) < 5


def test_an_idle_session_is_signed_out_and_sent_to_the_login_page(
    client: Client, reviewer: Any, settings: Any
) -> None:
    settings.SESSION_IDLE_MINUTES = 60
    client.force_login(reviewer)
    set_last_seen(client, 61 * 60)
    response = client.get("/inbox/?view=queue")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/inbox/%3Fview%3Dqueue"
    assert "_auth_user_id" not in client.session
    assert client.get("/inbox/").status_code == 302  # still signed out
    login = client.get("/accounts/login/").content.decode()
    assert "signed out after 60 minutes without activity" in login


def test_an_idle_post_changes_nothing(
    client: Client, reviewer: Any, pending: Any, settings: Any
) -> None:
    client.force_login(reviewer)
    set_last_seen(client, settings.SESSION_IDLE_MINUTES * 60 + 1)
    response = client.post(f"/inbox/{pending.pk}/decide", {"option": "approve"})
    assert response.status_code == 302
    pending.refresh_from_db()
    assert pending.status == "pending"


def test_an_htmx_request_of_an_idle_session_redirects_the_page(
    client: Client, reviewer: Any, settings: Any
) -> None:
    client.force_login(reviewer)
    set_last_seen(client, settings.SESSION_IDLE_MINUTES * 60 + 1)
    response = client.get("/inbox/", headers={"HX-Request": "true"})
    assert response["HX-Redirect"].startswith("/accounts/login/")


def test_an_active_session_stays_and_is_written_at_most_once_a_minute(
    client: Client, reviewer: Any, settings: Any
) -> None:
    client.force_login(reviewer)
    set_last_seen(client, 59 * 60)  # just inside the hour
    assert client.get("/inbox/").status_code == 200
    stamped = client.session[LAST_SEEN_KEY]
    assert abs(stamped - time.time()) < 5  # moved forward
    set_last_seen(client, 10)
    before = client.session[LAST_SEEN_KEY]
    assert client.get("/inbox/").status_code == 200
    assert client.session[LAST_SEEN_KEY] == before  # 10 s ago: not rewritten
