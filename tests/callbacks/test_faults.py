"""Fault drills with real parts: PostgreSQL, a Redis broker, a Celery worker subprocess and an
HTTP receiver verifying Standard Webhooks signatures. Skipped on SQLite / without a broker."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any

import pytest

from approvals.models import ApprovalRequest, OutboxEvent
from approvals.services import approval_decide
from approvals.tasks import deliver_webhooks
from tests.conftest import requires_broker
from tests.fixtures.celery_worker import RedisServer, Worker
from tests.fixtures.receiver import Receiver

pytestmark = requires_broker

Status = OutboxEvent.Status


@pytest.fixture(autouse=True)
def _private_ok(settings: Any) -> None:
    settings.CALLBACK_ALLOW_PRIVATE_NETWORKS = True


def event_of(approval: ApprovalRequest) -> OutboxEvent:
    return OutboxEvent.objects.get(approval=approval, event_type="request.decided")


def until(predicate: Callable[[], bool], *, timeout: float, pump: bool = False) -> float:
    """Wait for `predicate`; with `pump`, play beat: send deliver_webhooks every 0.3 s."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return time.monotonic() - started
        if pump:
            with contextlib.suppress(Exception):  # the broker may still be coming back
                deliver_webhooks.delay()
        time.sleep(0.3)
    pytest.fail(f"not within {timeout} s")


def delivered(event: OutboxEvent) -> Callable[[], bool]:
    return lambda: OutboxEvent.objects.filter(pk=event.pk, status=Status.DELIVERED).exists()


def decide_with_callback(submit: Any, reviewer: Any, receiver: Receiver) -> OutboxEvent:
    approval = submit(callback_url=receiver.url)
    receiver.secrets = approval.policy.signing_secrets()
    approval_decide(approval=approval, reviewer=reviewer, option="approve")  # commits, kicks
    return event_of(approval)


def test_the_on_commit_kick_reaches_the_receiver_in_a_second_or_two(
    celery_worker: Callable[..., Worker], submit: Any, reviewer: Any, receiver: Receiver
) -> None:
    celery_worker()
    deliver_webhooks.delay()  # warm the worker up (imports, database connection), as in production
    time.sleep(1.0)
    started = time.monotonic()
    event = decide_with_callback(submit, reviewer, receiver)
    (got,) = receiver.wait_for(1, timeout=3)
    latency = time.monotonic() - started
    assert got.verified and got.webhook_id == event.webhook_id
    print(f"on-commit kick: decision to verified callback in {latency:.3f} s")
    assert latency < 2.5, f"callback took {latency:.2f} s"
    until(delivered(event), timeout=3)
    # The periodic run afterwards finds nothing: one event, one request.
    deliver_webhooks.delay()
    deliver_webhooks.delay()
    time.sleep(1.0)
    assert len(receiver.requests) == 1


def test_a_receiver_that_fails_twice_gets_it_again_with_the_same_webhook_id(
    celery_worker: Callable[..., Worker], submit: Any, reviewer: Any, receiver: Receiver
) -> None:
    celery_worker(env={"WEBHOOK_RETRY_SCHEDULE": "0.2,0.2,0.2"})
    receiver.respond(500, 500)
    event = decide_with_callback(submit, reviewer, receiver)
    until(delivered(event), timeout=15, pump=True)
    got = receiver.requests
    assert [r.status for r in got] == [500, 500, 200]
    assert {r.webhook_id for r in got} == {event.webhook_id}
    assert all(r.verified for r in got)
    event.refresh_from_db()
    assert event.attempts == 3
    assert list(event.delivery_attempts.values_list("status_code", flat=True)) == [500, 500, 200]


def test_a_decision_commits_while_redis_is_down_and_its_callback_follows_when_it_is_back(
    celery_worker: Callable[..., Worker],
    own_redis: RedisServer,
    submit: Any,
    reviewer: Any,
    receiver: Receiver,
) -> None:
    celery_worker(broker_url=own_redis.url)
    approval = submit(callback_url=receiver.url)
    receiver.secrets = approval.policy.signing_secrets()
    own_redis.stop()
    started = time.monotonic()
    approval_decide(approval=approval, reviewer=reviewer, option="approve")
    took = time.monotonic() - started
    approval.refresh_from_db()
    assert approval.status == ApprovalRequest.Status.APPROVED  # committed despite the broker
    event = event_of(approval)
    assert event.status == Status.PENDING
    print(f"decision with the broker down took {took:.3f} s")
    assert took < 5, f"the decision waited {took:.1f} s on the dead broker"
    time.sleep(0.5)
    assert receiver.requests == []

    own_redis.start()
    back = until(delivered(event), timeout=30, pump=True)
    print(f"callback delivered {back:.2f} s after Redis came back")
    (got,) = receiver.wait_for(1)
    assert got.verified and got.json["data"]["id"] == str(approval.pk)


def test_a_worker_killed_mid_delivery_does_not_lose_the_event(
    celery_worker: Callable[..., Worker], submit: Any, reviewer: Any, receiver: Receiver
) -> None:
    lease = {"WEBHOOK_LEASE_SECONDS": "2"}
    first = celery_worker(env=lease)
    receiver.respond(("hang", 4.0))  # the first POST hangs: the worker is inside it
    event = decide_with_callback(submit, reviewer, receiver)
    assert receiver.started.wait(5), "the worker never started the delivery"
    first.kill()
    event.refresh_from_db()
    assert event.status == Status.PENDING and event.leased_until is not None
    assert not event.delivery_attempts.exists()  # nothing recorded: it died mid-request

    celery_worker(env=lease)
    until(delivered(event), timeout=20, pump=True)
    verified = [r for r in receiver.requests if r.verified and r.status == 200]
    assert verified and {r.webhook_id for r in verified} == {event.webhook_id}


def test_the_kick_and_concurrent_sweeps_send_one_event_once(
    celery_worker: Callable[..., Worker], submit: Any, reviewer: Any, receiver: Receiver
) -> None:
    celery_worker(concurrency=6)
    receiver.respond(("hang", 0.5))  # keep the first delivery in flight while sweeps run
    event = decide_with_callback(submit, reviewer, receiver)
    for _ in range(5):
        deliver_webhooks.delay()
    until(delivered(event), timeout=10)
    time.sleep(1.0)
    assert len(receiver.requests) == 1
