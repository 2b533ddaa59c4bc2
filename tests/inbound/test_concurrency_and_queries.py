"""One event delivered many times at once creates one request (PostgreSQL); the endpoint's
query count does not grow with the number of requests already there."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from approvals.models import ApprovalRequest, InboundEvent, InboundSource
from tests.conftest import requires_postgres
from tests.inbound.conftest import SECRETS, Sender, deal_body, signed_headers


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_ten_concurrent_deliveries_of_one_event_create_one_request(
    source_for: Callable[..., InboundSource],
) -> None:
    source = source_for("hmac-sha256")
    raw = json.dumps(deal_body("evt-race")).encode()
    uri = f"http://testserver/api/v1/inbound/{source.slug}"
    headers = signed_headers("hmac-sha256", SECRETS["hmac-sha256"], uri, raw)
    start = threading.Barrier(10)
    statuses: list[int] = []
    bodies: list[bytes] = []
    lock = threading.Lock()

    def send() -> None:
        try:
            start.wait(timeout=10)
            response = Client().post(
                f"/api/v1/inbound/{source.slug}",
                data=raw,
                content_type="application/json",
                headers=headers,
            )
            with lock:
                statuses.append(response.status_code)
                bodies.append(response.content)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(statuses) == [200] * 9 + [201], statuses
    assert len(set(bodies)) == 1
    assert ApprovalRequest.objects.count() == 1
    assert InboundEvent.objects.count() == 1


def test_the_query_count_stays_flat(
    sender: Sender, source_for: Callable[..., InboundSource], reviewer: Any
) -> None:
    source = source_for("hmac-sha256")
    counts = []
    for n in range(1, 6):
        with CaptureQueriesContext(connection) as queries:
            response = sender.post(source, deal_body(f"evt-{n}", id=4400 + n))
        assert response.status_code == 201
        counts.append(len(queries))
    # The first may warm caches (content types); after it, every request costs the same.
    assert len(set(counts[1:])) == 1, counts
    with CaptureQueriesContext(connection) as queries:
        assert sender.post(source, deal_body("evt-3", id=4403)).status_code == 200
    assert len(queries) <= 3, [q["sql"] for q in queries.captured_queries]
