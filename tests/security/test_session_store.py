"""The session engine (approvals/security/sessions.py) reads sessions as Django's database
engine does, by a statement built once: same data, same expiry, sessions made before stay."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore as DjangoStore
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from approvals.security.sessions import SessionStore

pytestmark = pytest.mark.django_db


def test_it_is_the_configured_engine() -> None:
    assert settings.SESSION_ENGINE == "approvals.security.sessions"


def test_a_session_saved_by_django_loads_in_one_query() -> None:
    old = DjangoStore()
    old["greeting"], old["n"] = "hello", 7
    old.save()
    store = SessionStore(old.session_key)
    with CaptureQueriesContext(connection) as captured:
        assert dict(store.items()) == {"greeting": "hello", "n": 7}
    assert len(captured) == 1
    assert store.session_key == old.session_key


def test_an_expired_or_unknown_session_starts_afresh() -> None:
    store = SessionStore()
    store["x"] = 1
    store.save()
    Session.objects.filter(pk=store.session_key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    expired = SessionStore(store.session_key)
    assert dict(expired.items()) == {}
    assert expired.session_key is None
    unknown = SessionStore("x" * 32)
    assert dict(unknown.items()) == {} and unknown.session_key is None


def test_signing_in_and_out_goes_through_it(client: Any, reviewer: Any) -> None:
    client.force_login(reviewer)
    assert client.get("/inbox/").status_code == 200
    client.logout()
    assert client.get("/inbox/").status_code == 302
