"""/healthz (docs/api.md "Reviewer pages and email links"): 200 when the database and the broker answer, 503 naming what is down."""

from __future__ import annotations

from typing import Any

import pytest
from django.db.utils import OperationalError
from django.test import Client

from approvals import health


@pytest.mark.django_db
def test_it_is_ok_when_both_answer(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    # The embedded broker is a folder: it answers without any service running.
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "broker": "ok"}


@pytest.mark.django_db
def test_it_names_the_database_when_the_database_is_down(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("connection refused")

    monkeypatch.setattr(health.connection, "cursor", refuse)
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["database"] != "ok"
    assert body["broker"] == "ok"


@pytest.mark.django_db
def test_it_names_the_broker_when_the_broker_is_unreachable(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Nothing listens on port 1: a real connection attempt that fails at once, whatever
    # broker the run is configured with.
    connect = health.celery_app.connection_for_write
    monkeypatch.setattr(
        health.celery_app,
        "connection_for_write",
        lambda *args, **kwargs: connect(url="redis://127.0.0.1:1/0"),
    )
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["broker"] != "ok"
    assert body["database"] == "ok"
