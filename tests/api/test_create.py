"""POST /api/v1/requests: routing at intake, strict validation, duplicates and resubmission."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from approvals.models import (
    ApprovalRequest,
    AuditEntry,
    Decision,
    OutboxEvent,
    Policy,
    PolicyRule,
    ReviewerGroup,
)
from approvals.services import approval_decide
from tests.api import assert_problem
from tests.factories import DecisionOption, RuleFactory, StageFactory, make_policy

pytestmark = pytest.mark.django_db

Post = Callable[..., Any]


def nothing_created() -> bool:
    return not ApprovalRequest.objects.exists() and not AuditEntry.objects.exists()


# --- the happy paths ---------------------------------------------------------------------------


def test_it_creates_a_human_request_with_the_contract_shape(
    post: Post, body: dict[str, Any], policy: Policy, reviewer: Any
) -> None:
    response = post(body)

    assert response.status_code == 201, response.content
    assert response["Content-Type"] == "application/json"
    data = response.json()
    approval = ApprovalRequest.objects.get()
    assert data == {
        "id": str(approval.pk),
        "external_id": "ticket-4411",
        "policy": {"slug": "refund-approval", "version": policy.version},
        "status": "pending",
        "route": "human",
        "route_reason": "No rule matched; sent to a human.",
        "stage": 1,
        "assigned_group": "support-leads",
        "assignee": None,
        "due_at": data["due_at"],
        "decision": None,
        "previous_id": None,
        "review_url": f"http://127.0.0.1:8000/inbox/{approval.pk}/",
        "created_at": data["created_at"],
        "escalated": False,
        "escalated_at": None,
    }
    assert data["due_at"].endswith("Z") and data["created_at"].endswith("Z")
    assert approval.requested_by == "zendesk" and approval.summary == body["summary"]


def test_it_decides_a_routine_request_at_once_and_says_why(
    post: Post, body: dict[str, Any], policy: Policy
) -> None:
    body["payload"]["amount"] = 49.99

    data = post(body).json()

    assert (data["status"], data["route"], data["stage"]) == ("approved", "auto", 0)
    assert data["assigned_group"] is None
    decision = data["decision"]
    assert decision["channel"] == "auto" and decision["decided_by"] == "policy"
    assert decision["outcome"] == "approve"
    assert decision["rule"] == "small amounts"
    assert decision["policy_version"] == policy.version
    stored = Decision.objects.get()
    assert (stored.channel, stored.decided_by_name, stored.rule) == (
        "auto",
        "policy",
        "small amounts",
    )
    # The callback event is written with the decision (delivery is another issue's).
    assert OutboxEvent.objects.filter(event_type="request.decided").count() == 1


def test_it_keeps_the_callers_due_at(post: Post, body: dict[str, Any], policy: Policy) -> None:
    body["due_at"] = "2030-11-24T11:00:00+01:00"

    data = post(body).json()

    assert data["due_at"] == "2030-11-24T10:00:00Z"
    assert ApprovalRequest.objects.get().due_at_overridden


def test_it_accepts_null_for_optional_fields(post: Post, policy: Policy) -> None:
    response = post(
        {
            "policy": "refund-approval",
            "title": "t",
            "payload": {"amount": 1},
            "summary": None,
            "external_id": None,
            "callback_url": None,
            "requested_by": None,
            "due_at": None,
        }
    )

    assert response.status_code == 201
    assert response.json()["external_id"] is None


def test_it_accepts_a_public_callback_url(post: Post, body: dict[str, Any], policy: Policy) -> None:
    body["callback_url"] = "https://93.184.215.14/hooks/checkpoint"  # a literal: no DNS here

    assert post(body).status_code == 201
    assert ApprovalRequest.objects.get().callback_url == body["callback_url"]


def test_it_accepts_a_private_callback_url_when_the_setting_allows(
    post: Post, body: dict[str, Any], policy: Policy, settings: Any
) -> None:
    settings.CALLBACK_ALLOW_PRIVATE_NETWORKS = True
    body["callback_url"] = "http://127.0.0.1:9000/hook"

    assert post(body).status_code == 201


# --- duplicates and resubmission ------------------------------------------------------------------


def test_a_second_open_request_for_one_external_id_is_409_naming_the_first(
    post: Post, body: dict[str, Any], policy: Policy
) -> None:
    first = post(body).json()

    problem = assert_problem(post(body), 409)

    assert problem["existing_id"] == first["id"]
    assert first["id"] in problem["detail"]
    assert ApprovalRequest.objects.count() == 1


def test_a_new_request_after_a_final_one_is_not_a_duplicate(
    post: Post, body: dict[str, Any], policy: Policy
) -> None:
    body["payload"]["amount"] = 5  # auto-approved: final at once
    post(body)

    second = post(body).json()

    assert second["previous_id"] is None
    assert ApprovalRequest.objects.count() == 2


def test_a_resubmission_after_changes_requested_points_at_the_old_request(
    post: Post, body: dict[str, Any], policy: Policy, reviewer: Any
) -> None:
    first = post(body).json()
    approval = ApprovalRequest.objects.get(pk=first["id"])
    approval_decide(
        approval=approval, reviewer=reviewer, option="request_changes", comment="add photos"
    )

    second = post(body).json()
    third = assert_problem(post(body), 409)

    assert second["previous_id"] == first["id"]
    assert ApprovalRequest.objects.get(pk=second["id"]).previous_id == approval.pk
    assert third["existing_id"] == second["id"]


def test_a_resubmission_under_the_threshold_goes_to_the_reviewer_who_asked(
    post: Post, body: dict[str, Any], policy: Policy, reviewer: Any, other_reviewer: Any
) -> None:
    first = post(body).json()
    approval_decide(
        approval=ApprovalRequest.objects.get(pk=first["id"]),
        reviewer=other_reviewer,
        option="request_changes",
        comment="too much",
    )
    body["payload"]["amount"] = 20  # the rule auto-approves under 50, but not a resubmission

    second = post(body).json()

    assert (second["status"], second["route"], second["assignee"]) == ("pending", "human", "bob")
    assert second["decision"] is None


# --- validation: every bad input is a clear 4xx and changes nothing -------------------------------

BAD_BODIES: list[tuple[str, Callable[[dict[str, Any]], Any], str]] = [
    ("unknown top-level field", lambda b: b.update(priority="high"), "priority"),
    ("missing policy", lambda b: b.pop("policy"), "policy"),
    ("missing title", lambda b: b.pop("title"), "title"),
    ("missing payload", lambda b: b.pop("payload"), "payload"),
    ("blank title", lambda b: b.update(title="   "), "title"),
    ("title too long", lambda b: b.update(title="x" * 301), "title"),
    ("summary too long", lambda b: b.update(summary="x" * 10_001), "summary"),
    ("external_id too long", lambda b: b.update(external_id="x" * 256), "external_id"),
    ("requested_by too long", lambda b: b.update(requested_by="x" * 256), "requested_by"),
    ("payload not an object", lambda b: b.update(payload=[1, 2]), "payload"),
    ("title not a string", lambda b: b.update(title=42), "title"),
    ("external_id a number", lambda b: b.update(external_id=4411), "external_id"),
    ("policy a list", lambda b: b.update(policy=["refund-approval"]), "policy"),
    ("due_at without timezone", lambda b: b.update(due_at="2030-11-24T10:00:00"), "due_at"),
    ("due_at not a date", lambda b: b.update(due_at="tomorrow"), "due_at"),
    ("due_at a timestamp", lambda b: b.update(due_at=1_900_000_000), "due_at"),
    ("due_at in year 9999", lambda b: b.update(due_at="9999-12-31T23:59:59-01:00"), "due_at"),
    ("callback_url ftp", lambda b: b.update(callback_url="ftp://example.com/x"), "callback_url"),
    (
        "callback_url loopback",
        lambda b: b.update(callback_url="http://127.0.0.1/x"),
        "callback_url",
    ),
    (
        "callback_url metadata",
        lambda b: b.update(callback_url="http://169.254.169.254/"),
        "callback_url",
    ),
    (
        "callback_url too long",
        lambda b: b.update(callback_url="https://a.io/" + "x" * 2000),
        "callback_url",
    ),
    ("NUL in title", lambda b: b.update(title="a\x00b"), "title"),
    (
        "NUL deep in payload",
        lambda b: b["payload"].update(notes={"x": ["ok", "a\x00"]}),
        "payload.notes.x.1",
    ),
    ("NUL in a payload key", lambda b: b["payload"].update({"k\x00": 1}), "payload"),
    ("payload 33 levels deep", lambda b: b.update(payload=_nested(33)), "payload"),
]


def _nested(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


@pytest.mark.parametrize(("case", "change", "field"), BAD_BODIES, ids=[c[0] for c in BAD_BODIES])
def test_it_refuses_a_bad_body_with_422_naming_the_field(
    post: Post, body: dict[str, Any], policy: Policy, case: str, change: Any, field: str
) -> None:
    change(body)

    assert_problem(post(body), 422, field=field)
    assert nothing_created()


def test_it_accepts_a_payload_exactly_32_levels_deep(
    post: Post, body: dict[str, Any], policy: Policy
) -> None:
    body["payload"] = {"amount": 120, "deep": _nested(31)}

    assert post(body).status_code == 201


def test_an_unknown_policy_is_422_on_policy_first(
    post: Post, body: dict[str, Any], policy: Policy
) -> None:
    body["policy"] = "no-such-policy"

    problem = assert_problem(post(body), 422)

    assert problem["errors"][0]["field"] == "policy"


def test_an_inactive_policy_is_unknown(post: Post, body: dict[str, Any], policy: Policy) -> None:
    Policy.objects.filter(pk=policy.pk).update(is_active=False)

    assert assert_problem(post(body), 422)["errors"][0]["field"] == "policy"


def test_a_payload_breaking_the_policy_schema_is_422_with_paths(
    post: Post, body: dict[str, Any], policy: Policy
) -> None:
    policy.payload_schema = {
        "type": "object",
        "required": ["amount", "currency"],
        "properties": {
            "amount": {"type": "number", "minimum": 0},
            "lines": {
                "type": "array",
                "items": {"type": "object", "properties": {"sku": {"type": "string"}}},
            },
        },
    }
    policy.save()
    body["payload"] = {"amount": -1, "lines": [{"sku": "a"}, {"sku": 7}]}

    problem = assert_problem(post(body), 422)

    assert {e["field"] for e in problem["errors"]} == {
        "payload.amount",
        "payload.currency",
        "payload.lines.1.sku",
    }
    assert nothing_created()


RAW_BODIES = [
    ("not JSON", b"{policy: 1}", 400),
    ("NaN", b'{"policy": "refund-approval", "title": "t", "payload": {"amount": NaN}}', 400),
    (
        "Infinity",
        b'{"policy": "refund-approval", "title": "t", "payload": {"amount": -Infinity}}',
        400,
    ),
    (
        "a number beyond a double",
        b'{"policy": "refund-approval", "title": "t", "payload": {"amount": 1e400}}',
        400,
    ),
    (
        "an integer of 5000 digits",
        b'{"policy": "refund-approval", "title": "t", "payload": {"amount": ' + b"9" * 5000 + b"}}",
        400,
    ),
    (
        "a duplicate key",
        b'{"policy": "refund-approval", "title": "t", "title": "u", "payload": {}}',
        400,
    ),
    ("not UTF-8", b'{"policy": "refund-approval", "title": "\xff", "payload": {}}', 400),
    ("a lone surrogate", b'{"policy": "refund-approval", "title": "\\ud800", "payload": {}}', 422),
    ("an escaped NUL", b'{"policy": "refund-approval", "title": "a\\u0000", "payload": {}}', 422),
    ("empty", b"", 400),
    ("a list", b"[]", 422),
    ("a string", b'"hello"', 422),
    ("100000 nested lists", b"[" * 100_000 + b"]" * 100_000, 400),
    ("trailing garbage", b'{"policy": "refund-approval"} x', 400),
]


@pytest.mark.parametrize(("case", "raw", "status"), RAW_BODIES, ids=[c[0] for c in RAW_BODIES])
def test_it_refuses_malformed_json_with_a_problem(
    post: Post, policy: Policy, case: str, raw: bytes, status: int
) -> None:
    assert_problem(post(raw), status)
    assert nothing_created()


def test_a_body_over_256_kib_is_413(post: Post, body: dict[str, Any], policy: Policy) -> None:
    body["payload"]["blob"] = "x" * (256 * 1024)

    assert_problem(post(body), 413)
    assert nothing_created()


def test_a_body_over_djangos_own_limit_is_413_too(post: Post, policy: Policy) -> None:
    assert_problem(post(b"x" * (3 * 1024 * 1024)), 413)


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin-1"],
)
def test_a_body_that_is_not_json_by_content_type_is_415(
    post: Post, body: dict[str, Any], policy: Policy, content_type: str
) -> None:
    assert_problem(post(json.dumps(body), content_type=content_type), 415)
    assert nothing_created()


def test_it_needs_a_token(client: Client, body: dict[str, Any], policy: Policy) -> None:
    response = client.post("/api/v1/requests", data=body, content_type="application/json")

    assert_problem(response, 401)
    assert nothing_created()


def test_a_reviewers_session_is_not_a_token(
    client: Client, outsider: Any, body: dict[str, Any], policy: Policy
) -> None:
    client.force_login(outsider)

    assert_problem(client.post("/api/v1/requests", data=body, content_type="application/json"), 401)
    assert nothing_created()


# --- cost and timing ---------------------------------------------------------------------------


def _count_queries(post: Post, body: dict[str, Any]) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = post(body)
    assert response.status_code == 201, response.content
    return len(queries)


@pytest.mark.parametrize("amount", [120, 10], ids=["human", "auto"])
def test_the_intake_query_count_does_not_grow_with_the_policy(
    post: Post, support: ReviewerGroup, finance: ReviewerGroup, amount: int
) -> None:
    make_policy(slug="small", group=support)
    big = make_policy(slug="big", group=support)
    # 40 rules that do not match, then the same deciding rule; 10 more stages and options.
    PolicyRule.objects.filter(policy=big).update(position=100)
    for n in range(40):
        RuleFactory.create(
            policy=big, position=n, name=f"r{n}", condition={"field": f"f{n}", "op": "exists"}
        )
    for n in range(10):
        StageFactory.create(policy=big, position=2 + n, group=finance if n % 2 else support)
        DecisionOption.objects.create(policy=big, key=f"o{n}", label=f"O{n}", outcome="approve")
    payload = {"amount": amount}
    # Warm up: the first call of a token stamps its last_used_at (once a minute), and the first
    # intake of a policy version loads its rules, stages and options into the process cache.
    post({"policy": "small", "title": "warm-up", "payload": payload})
    post({"policy": "big", "title": "warm-up", "payload": payload})

    small_count = _count_queries(post, {"policy": "small", "title": "t", "payload": payload})
    big_count = _count_queries(post, {"policy": "big", "title": "t", "payload": payload})

    assert big_count == small_count


def test_the_request_path_leaves_notifications_and_deliveries_to_after_commit(
    post: Post,
    body: dict[str, Any],
    policy: Policy,
    reviewer: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    body["callback_url"] = "https://93.184.215.14/hook"
    body["payload"]["amount"] = 5  # auto: a callback event is due at once

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = post(body)

    assert response.status_code == 201
    assert callbacks, "the delivery kick must wait for the commit"
    assert mail.outbox == []
    assert not OutboxEvent.objects.exclude(attempts=0).exists()
