"""The outbox sender in-process against a real HTTP receiver (SQLite and PostgreSQL)."""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from approvals.callbacks import delivery as webhooks
from approvals.models import ApprovalRequest, AuditEntry, DeliveryAttempt, OutboxEvent
from approvals.services import approval_decide
from approvals.services.delivery import event_redeliver, retry_delay
from approvals.services.policies import policy_rotate_secret
from approvals.tasks import deliver_event, deliver_webhooks
from tests.fixtures.receiver import Receiver

Status = OutboxEvent.Status


@pytest.fixture(autouse=True)
def _private_ok(settings: Any) -> None:
    settings.CALLBACK_ALLOW_PRIVATE_NETWORKS = True
    settings.WEBHOOK_RETRY_SCHEDULE = [0.0, 0.0, 0.0]


@pytest.fixture
def decided(submit: Any, reviewer: Any, receiver: Receiver) -> OutboxEvent:
    approval = submit(callback_url=receiver.url)
    approval_decide(approval=approval, reviewer=reviewer, option="approve", comment="ok")
    receiver.secrets = approval.policy.signing_secrets()
    return OutboxEvent.objects.get(approval=approval, event_type="request.decided")


def test_it_delivers_a_decision_signed_with_the_policy_secret(
    decided: OutboxEvent, receiver: Receiver
) -> None:
    assert webhooks.deliver_one(str(decided.pk)) is True
    (got,) = receiver.wait_for(1)
    assert got.verified, got.error
    assert got.webhook_id == decided.webhook_id
    assert got.json["type"] == "request.decided"
    assert got.json["data"]["status"] == "approved"
    assert got.json["data"]["decided_by"] == "alice"
    decided.refresh_from_db()
    assert decided.status == Status.DELIVERED and decided.delivered_at is not None
    assert decided.leased_until is None
    assert list(decided.delivery_attempts.values_list("number", "status_code")) == [(1, 200)]
    assert (
        AuditEntry.objects.filter(action="callback_delivered", approval=decided.approval).count()
        == 1
    )


def test_it_retries_after_500s_with_the_same_webhook_id(
    decided: OutboxEvent, receiver: Receiver
) -> None:
    receiver.respond(500, 500)
    assert webhooks.deliver_one(str(decided.pk)) is False
    decided.refresh_from_db()
    assert decided.status == Status.PENDING and decided.attempts == 1
    assert "HTTP 500" in decided.last_error
    assert webhooks.deliver_due() == 1
    assert webhooks.deliver_due() == 1
    assert webhooks.deliver_due() == 0
    got = receiver.wait_for(3)
    assert [r.status for r in got] == [500, 500, 200]
    assert {r.webhook_id for r in got} == {decided.webhook_id}
    assert all(r.verified for r in got)
    decided.refresh_from_db()
    assert decided.status == Status.DELIVERED
    assert list(decided.delivery_attempts.values_list("status_code", flat=True)) == [500, 500, 200]


def test_it_marks_the_event_dead_after_the_last_retry(
    decided: OutboxEvent, receiver: Receiver
) -> None:
    receiver.default_status = 503
    webhooks.deliver_one(str(decided.pk))
    while webhooks.deliver_due():
        pass
    decided.refresh_from_db()
    assert decided.status == Status.DEAD
    assert decided.attempts == 4  # the first try and the three retries of the schedule
    assert len(receiver.requests) == 4
    assert AuditEntry.objects.filter(action="callback_dead", approval=decided.approval).count() == 1
    assert webhooks.deliver_due() == 0


def test_retry_delays_follow_the_contract_schedule_with_jitter(settings: Any) -> None:
    settings.WEBHOOK_RETRY_SCHEDULE = [5, 60, 300, 1800, 7200, 21600, 43200, 86400]
    for attempt, base in enumerate(settings.WEBHOOK_RETRY_SCHEDULE, start=1):
        for _ in range(20):
            delay = retry_delay(attempt)
            assert delay is not None
            assert base * 0.8 <= delay.total_seconds() <= base * 1.2
    assert retry_delay(9) is None


def test_it_does_not_follow_redirects(decided: OutboxEvent, receiver: Receiver) -> None:
    receiver.respond((302, receiver.url + "/elsewhere"))
    assert webhooks.deliver_one(str(decided.pk)) is False
    assert len(receiver.wait_for(1)) == 1
    decided.refresh_from_db()
    assert decided.status == Status.PENDING
    assert "HTTP 302" in decided.last_error and "redirect" in decided.last_error


def test_it_gives_up_on_a_receiver_that_does_not_answer_in_time(
    decided: OutboxEvent, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(webhooks, "TIMEOUT_SECONDS", 0.3)
    receiver.respond(("hang", 1.0))
    assert webhooks.deliver_one(str(decided.pk)) is False
    attempt = DeliveryAttempt.objects.get(event=decided)
    assert attempt.status_code is None and "no answer" in attempt.error


def test_it_refuses_a_private_target_at_send_time(
    decided: OutboxEvent, receiver: Receiver, settings: Any
) -> None:
    settings.CALLBACK_ALLOW_PRIVATE_NETWORKS = False
    assert webhooks.deliver_one(str(decided.pk)) is False
    assert receiver.requests == []
    decided.refresh_from_db()
    assert decided.last_error.startswith("refused:") and "127.0.0.1" in decided.last_error


def test_it_signs_with_both_secrets_during_rotation(
    decided: OutboxEvent, receiver: Receiver
) -> None:
    old = decided.approval.policy.signing_secret
    new = policy_rotate_secret(policy=decided.approval.policy).signing_secret
    receiver.secrets = [old, new]
    webhooks.deliver_one(str(decided.pk))
    (got,) = receiver.wait_for(1)
    assert got.verified_with == [old, new]  # each secret alone verifies it
    assert len(got.headers["webhook-signature"].split(" ")) == 2


def test_running_each_delivery_task_twice_sends_once(
    decided: OutboxEvent, receiver: Receiver
) -> None:
    assert deliver_event.delay(str(decided.pk)).get() is True
    assert deliver_event.delay(str(decided.pk)).get() is False
    assert deliver_webhooks.delay().get() == 0
    assert deliver_webhooks.delay().get() == 0
    assert len(receiver.requests) == 1


def test_it_passes_over_an_event_leased_by_a_live_worker(
    decided: OutboxEvent, receiver: Receiver
) -> None:
    OutboxEvent.objects.filter(pk=decided.pk).update(
        leased_until=timezone.now() + timedelta(seconds=30)
    )
    assert webhooks.deliver_due() == 0
    assert webhooks.deliver_one(str(decided.pk)) is False
    # The worker died: its lease runs out and the next sweep takes the event.
    OutboxEvent.objects.filter(pk=decided.pk).update(
        leased_until=timezone.now() - timedelta(seconds=1)
    )
    assert webhooks.deliver_due() == 1
    assert len(receiver.requests) == 1


def test_it_does_not_attempt_a_retry_before_it_is_due(
    decided: OutboxEvent, receiver: Receiver
) -> None:
    OutboxEvent.objects.filter(pk=decided.pk).update(
        next_attempt_at=timezone.now() + timedelta(minutes=1)
    )
    assert webhooks.deliver_due() == 0
    assert webhooks.deliver_one(str(decided.pk)) is False
    assert receiver.requests == []


def test_an_event_without_a_callback_url_is_never_attempted(
    submit: Any, reviewer: Any, receiver: Receiver
) -> None:
    approval = submit()
    approval_decide(approval=approval, reviewer=reviewer, option="approve")
    event = OutboxEvent.objects.get(approval=approval)
    assert event.status == Status.NO_TARGET
    assert webhooks.deliver_due() == 0
    assert webhooks.deliver_one(str(event.pk)) is False
    with pytest.raises(ValueError, match="no callback URL"):
        event_redeliver(event=event, actor="maria")


def test_a_bad_event_id_from_the_queue_is_ignored(db: Any) -> None:
    assert webhooks.deliver_one("not-a-uuid") is False
    assert webhooks.deliver_one("0190d5f0-0000-7000-8000-000000000000") is False


def test_redeliver_sends_a_dead_event_again_with_the_same_id(
    decided: OutboxEvent, receiver: Receiver, django_capture_on_commit_callbacks: Any
) -> None:
    receiver.respond(500, 500, 500, 500)
    webhooks.deliver_one(str(decided.pk))
    while webhooks.deliver_due():
        pass
    decided.refresh_from_db()
    assert decided.status == Status.DEAD
    with django_capture_on_commit_callbacks(execute=True):
        event_redeliver(event=decided, actor="maria")  # the on-commit kick delivers it
    decided.refresh_from_db()
    assert decided.status == Status.DELIVERED
    assert receiver.requests[-1].webhook_id == decided.webhook_id
    assert list(decided.delivery_attempts.values_list("number", flat=True)) == [1, 2, 3, 4, 5]
    assert AuditEntry.objects.filter(action="callback_redelivered").count() == 1


def test_a_decision_kicks_its_delivery_on_commit(
    submit: Any, reviewer: Any, receiver: Receiver, django_capture_on_commit_callbacks: Any
) -> None:
    approval: ApprovalRequest = submit(callback_url=receiver.url)
    receiver.secrets = approval.policy.signing_secrets()
    with django_capture_on_commit_callbacks(execute=True):
        approval_decide(approval=approval, reviewer=reviewer, option="reject")
    (got,) = receiver.wait_for(1)
    assert got.verified and got.json["data"]["outcome"] == "reject"


def test_the_request_goes_to_the_vetted_address_with_host_and_sni_kept() -> None:
    v4 = [ipaddress.ip_address("93.184.215.14")]
    url, headers, ext = webhooks.pinned_request("https://caller.example:8443/h?x=1", v4)
    assert url == "https://93.184.215.14:8443/h?x=1"
    assert headers == {"host": "caller.example:8443"}
    assert ext == {"sni_hostname": "caller.example"}
    v6 = [ipaddress.ip_address("2606:4700::1")]
    url, headers, ext = webhooks.pinned_request("http://caller.example/h", v6)
    assert url == "http://[2606:4700::1]/h" and headers == {"host": "caller.example"} and ext == {}
    assert webhooks.pinned_request("http://x/h", []) == ("http://x/h", {}, {})


def test_one_attempt_costs_a_fixed_number_of_queries(
    submit: Any, reviewer: Any, receiver: Receiver, django_assert_max_num_queries: Any
) -> None:
    for _ in range(10):
        approval = submit(callback_url=receiver.url)
        approval_decide(approval=approval, reviewer=reviewer, option="approve")
    # Per attempt: claim, load, sign, record the attempt, mark delivered with its audit entry
    # (sealed inline in tests) and the HubSpot-kind lookup; a fixed number, not growing with N.
    with django_assert_max_num_queries(10 * 18):
        assert webhooks.deliver_due() == 10
