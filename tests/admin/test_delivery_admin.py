"""The outbox in the admin: dead letters, the delivery log, redeliver."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from approvals.callbacks import delivery as webhooks
from approvals.models import AuditEntry, OutboxEvent
from approvals.services import approval_decide
from tests.fixtures.receiver import Receiver

Status = OutboxEvent.Status


@pytest.fixture
def dead(submit: Any, reviewer: Any, receiver: Receiver, settings: Any) -> OutboxEvent:
    settings.CALLBACK_ALLOW_PRIVATE_NETWORKS = True
    settings.WEBHOOK_RETRY_SCHEDULE = [0.0]
    approval = submit(callback_url=receiver.url)
    approval_decide(approval=approval, reviewer=reviewer, option="approve")
    receiver.respond(500, 500)
    event = OutboxEvent.objects.get(approval=approval)
    webhooks.deliver_one(str(event.pk))
    webhooks.deliver_due()
    event.refresh_from_db()
    assert event.status == Status.DEAD
    return event


@pytest.fixture
def manager_client(client: Client, manager: Any) -> Client:
    client.force_login(manager)
    return client


def test_the_dead_letter_list_shows_dead_events(manager_client: Client, dead: OutboxEvent) -> None:
    response = manager_client.get("/admin/approvals/outboxevent/?dead=yes")
    assert response.status_code == 200
    assert dead.webhook_id in response.content.decode()


def test_an_event_page_shows_its_attempts(manager_client: Client, dead: OutboxEvent) -> None:
    response = manager_client.get(f"/admin/approvals/outboxevent/{dead.pk}/change/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "HTTP 500" in page and "request.decided" in page


def test_the_request_page_has_the_delivery_log(manager_client: Client, dead: OutboxEvent) -> None:
    response = manager_client.get(f"/admin/approvals/approvalrequest/{dead.approval_id}/change/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "delivery log" in page.lower() and dead.webhook_id in page


def test_redeliver_sends_a_dead_letter_again(
    manager_client: Client,
    dead: OutboxEvent,
    receiver: Receiver,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = manager_client.post(
            "/admin/approvals/outboxevent/",
            {"action": "redeliver", "_selected_action": [str(dead.pk)]},
            follow=True,
        )
    assert "queued for redelivery" in response.content.decode()
    dead.refresh_from_db()
    assert dead.status == Status.DELIVERED
    assert receiver.requests[-1].webhook_id == dead.webhook_id
    assert AuditEntry.objects.filter(action="callback_redelivered", actor="maria").exists()


def test_the_outbox_is_read_only(manager_client: Client, dead: OutboxEvent) -> None:
    assert manager_client.get("/admin/approvals/outboxevent/add/").status_code == 403
    assert manager_client.post(f"/admin/approvals/outboxevent/{dead.pk}/delete/").status_code == 403


def test_an_anonymous_visitor_and_a_reviewer_cannot_see_the_outbox(
    client: Client, reviewer: Any, dead: OutboxEvent
) -> None:
    assert client.get("/admin/approvals/outboxevent/").status_code == 302
    client.force_login(reviewer)
    assert client.get("/admin/approvals/outboxevent/").status_code == 302
    assert (
        client.post(
            "/admin/approvals/outboxevent/",
            {"action": "redeliver", "_selected_action": [str(dead.pk)]},
        ).status_code
        == 302
    )
    dead.refresh_from_db()
    assert dead.status == Status.DEAD


def test_the_dead_letter_list_stays_flat(
    manager_client: Client,
    dead: OutboxEvent,
    django_assert_max_num_queries: Any,
    submit: Any,
    reviewer: Any,
) -> None:
    with django_assert_max_num_queries(12):
        manager_client.get("/admin/approvals/outboxevent/")
    for _ in range(20):
        approval = submit(callback_url="http://127.0.0.1:9/")
        approval_decide(approval=approval, reviewer=reviewer, option="approve")
    with django_assert_max_num_queries(12):
        manager_client.get("/admin/approvals/outboxevent/")
