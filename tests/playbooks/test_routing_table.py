"""Every playbook of docs/api.md "Playbooks" routes as the table says, on both sides of every threshold,
through the public intake API with the playbooks installed by their installer."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from approvals.models import ApprovalRequest, Policy, ReviewerGroup
from approvals.payload_schema import check_schema
from approvals.routing import RuleSpec, StageSpec, policy_problems
from approvals.services.tokens import api_token_create
from playbooks.installer import install_all, load_definition, playbook_slugs
from tests.api import assert_problem
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

SMALL_REFUND = ("approve", "Small refund")
ROUTINE_DISCOUNT = ("approve", "Routine discount")
STANDARD_PAPER = ("approve", "Standard paper")


@pytest.fixture
def api(client: Client) -> Client:
    install_all()
    _, raw = api_token_create(name="playbooks")
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {raw}"
    return client


def post(api: Client, policy: str, payload: dict[str, Any]) -> Any:
    body = {"policy": policy, "title": f"{policy} check", "payload": payload}
    return api.post("/api/v1/requests", data=json.dumps(body), content_type="application/json")


def routed(api: Client, policy: str, payload: dict[str, Any]) -> tuple[str, Any]:
    """("auto", (outcome, rule)) or ("human", [group slugs of the stage plan])."""
    response = post(api, policy, payload)
    assert response.status_code == 201, response.content
    data = response.json()
    if data["route"] == "auto":
        assert data["status"] == "approved" and data["decision"]["channel"] == "auto"
        return "auto", (data["decision"]["outcome"], data["decision"]["rule"])
    approval = ApprovalRequest.objects.get(pk=data["id"])
    assert data["status"] == "pending" and data["assigned_group"] == approval.stage_plan[0]["group"]
    return "human", [stage["group"] for stage in approval.stage_plan]


TABLE = [
    # refund-approval: amount < 50 → auto-approve; else support-leads
    ("refund-approval", {"amount": 0}, ("auto", SMALL_REFUND)),
    ("refund-approval", {"amount": 49.99}, ("auto", SMALL_REFUND)),
    ("refund-approval", {"amount": 50}, ("human", ["support-leads"])),
    ("refund-approval", {"amount": 50.01, "currency": "EUR"}, ("human", ["support-leads"])),
    ("refund-approval", {"amount": 1_000_000}, ("human", ["support-leads"])),
    # ai-outbound-review: always human, marketing-reviewers
    ("ai-outbound-review", {"draft": "Hi Sam, …"}, ("human", ["marketing-reviewers"])),
    ("ai-outbound-review", {"draft": ""}, ("human", ["marketing-reviewers"])),
    # data-sync-conflict: always human, revops
    (
        "data-sync-conflict",
        {"record": "acct-1", "field": "phone", "crm_value": "1", "erp_value": "2"},
        ("human", ["revops"]),
    ),
    # deal-discount: ≤ 10 and not strategic → auto; else sales-managers, + finance when > 20
    ("deal-discount", {"discount_percent": 0}, ("auto", ROUTINE_DISCOUNT)),
    ("deal-discount", {"discount_percent": 10}, ("auto", ROUTINE_DISCOUNT)),
    ("deal-discount", {"discount_percent": 10, "strategic": False}, ("auto", ROUTINE_DISCOUNT)),
    ("deal-discount", {"discount_percent": 10, "strategic": True}, ("human", ["sales-managers"])),
    ("deal-discount", {"discount_percent": 10.01}, ("human", ["sales-managers"])),
    ("deal-discount", {"discount_percent": 20}, ("human", ["sales-managers"])),
    ("deal-discount", {"discount_percent": 20.01}, ("human", ["sales-managers", "finance"])),
    (
        "deal-discount",
        {"discount_percent": 25, "strategic": True},
        ("human", ["sales-managers", "finance"]),
    ),
    ("deal-discount", {"discount_percent": 100}, ("human", ["sales-managers", "finance"])),
    # contract-clause-review: non-empty nonstandard_clauses → legal; else auto
    ("contract-clause-review", {}, ("auto", STANDARD_PAPER)),
    ("contract-clause-review", {"nonstandard_clauses": []}, ("auto", STANDARD_PAPER)),
    (
        "contract-clause-review",
        {"nonstandard_clauses": ["Uncapped liability"]},
        ("human", ["legal"]),
    ),
]


@pytest.mark.parametrize(
    ("policy", "payload", "expected"),
    TABLE,
    ids=[f"{policy}:{json.dumps(payload)}" for policy, payload, _ in TABLE],
)
def test_each_playbook_routes_as_the_contract_table_says(
    api: Client, policy: str, payload: dict[str, Any], expected: tuple[str, Any]
) -> None:
    assert routed(api, policy, payload) == expected


SCHEMA_VIOLATIONS = [
    ("refund-approval", {}, "payload.amount"),
    ("refund-approval", {"amount": -0.01}, "payload.amount"),
    ("refund-approval", {"amount": "49"}, "payload.amount"),
    ("ai-outbound-review", {}, "payload.draft"),
    ("ai-outbound-review", {"draft": 42}, "payload.draft"),
    ("data-sync-conflict", {"record": "r", "field": "f", "crm_value": 1}, "payload.erp_value"),
    ("deal-discount", {"discount_percent": 100.01}, "payload.discount_percent"),
    ("deal-discount", {"discount_percent": -1}, "payload.discount_percent"),
    ("deal-discount", {"discount_percent": 5, "strategic": "no"}, "payload.strategic"),
    ("deal-discount", {"strategic": False}, "payload.discount_percent"),
    ("contract-clause-review", {"nonstandard_clauses": "none"}, "payload.nonstandard_clauses"),
    ("contract-clause-review", {"nonstandard_clauses": [1]}, "payload.nonstandard_clauses.0"),
]


@pytest.mark.parametrize(
    ("policy", "payload", "field"),
    SCHEMA_VIOLATIONS,
    ids=[f"{policy}:{json.dumps(payload)}" for policy, payload, _ in SCHEMA_VIOLATIONS],
)
def test_each_playbook_refuses_payloads_that_break_its_schema(
    api: Client, policy: str, payload: dict[str, Any], field: str
) -> None:
    assert_problem(post(api, policy, payload), 422, field=field)
    assert not ApprovalRequest.objects.exists()


OPTIONS = {
    "refund-approval": [
        ("Approve", "approve"),
        ("Reject", "reject"),
        ("Request changes", "request_changes"),
    ],
    "ai-outbound-review": [
        ("Approve", "approve"),
        ("Revise", "request_changes"),
        ("Reject", "reject"),
    ],
    "data-sync-conflict": [("Use CRM", "approve"), ("Use ERP", "approve"), ("Custom", "approve")],
    "deal-discount": [
        ("Approve", "approve"),
        ("Reject", "reject"),
        ("Request changes", "request_changes"),
    ],
    "contract-clause-review": [
        ("Approve", "approve"),
        ("Reject", "reject"),
        ("Request changes", "request_changes"),
    ],
}
STRATEGIES = {
    "agent-supervisors": "pull",
    "support-leads": "round_robin",
    "marketing-reviewers": "pull",
    "revops": "pull",
    "sales-managers": "least_loaded",
    "finance": "pull",
    "legal": "pull",
}


@pytest.mark.parametrize("slug", playbook_slugs())
def test_each_shipped_definition_passes_the_policy_checks(slug: str) -> None:
    """What the admin checks before saving: sound rules and stages, a valid payload schema."""
    definition = load_definition(slug)
    rules = [
        RuleSpec(name=r["name"], condition=r["condition"], action=r["action"])
        for r in definition["rules"]
    ]
    stages = [
        StageSpec(position=n, group_id=None, group=st["group"], condition=st.get("condition"))
        for n, st in enumerate(definition["stages"], start=1)
    ]

    assert policy_problems(rules, stages) == []
    check_schema(definition["payload_schema"])


def test_each_playbook_offers_the_human_options_of_the_table(api: Client) -> None:
    for slug, options in OPTIONS.items():
        policy = Policy.objects.get(slug=slug)
        assert [(o.label, o.outcome) for o in policy.options.order_by("position")] == options
    assert Policy.objects.get(slug="data-sync-conflict").options.get(label="Custom").needs_value
    ai = Policy.objects.get(slug="ai-outbound-review")
    assert ai.editable_fields == ["draft"] and ai.options.get(key="approve").may_edit_payload


def test_each_group_gets_the_strategy_of_the_table(api: Client) -> None:
    assert dict(ReviewerGroup.objects.values_list("slug", "strategy")) == STRATEGIES


def test_refunds_go_round_robin_and_deals_to_the_least_loaded(api: Client) -> None:
    leads, managers = (
        ReviewerGroup.objects.get(slug=s) for s in ("support-leads", "sales-managers")
    )
    for name in ("ann", "ben"):
        MembershipFactory.create(group=leads, user=UserFactory.create(username=name))
    for name in ("cat", "dan"):
        MembershipFactory.create(group=managers, user=UserFactory.create(username=name))

    refunds = [post(api, "refund-approval", {"amount": 80}).json()["assignee"] for _ in range(4)]
    deals = [
        post(api, "deal-discount", {"discount_percent": 15}).json()["assignee"] for _ in range(4)
    ]

    assert sorted(refunds[:2]) == ["ann", "ben"] and refunds[2:] == refunds[:2]
    assert sorted(deals[:2]) == ["cat", "dan"] and sorted(deals[2:]) == ["cat", "dan"]


def test_a_human_route_on_a_pull_group_waits_unassigned(api: Client) -> None:
    data = post(api, "contract-clause-review", {"nonstandard_clauses": ["Exclusivity"]}).json()

    assert (data["assigned_group"], data["assignee"]) == ("legal", None)
