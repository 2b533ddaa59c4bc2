"""install_playbook: every playbook installs; a second run changes nothing; a change bumps."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from approvals.models import ApprovalRequest, Policy, ReviewerGroup
from approvals.services import approval_submit
from playbooks import installer
from playbooks.installer import install_all, install_playbook, playbook_slugs

pytestmark = pytest.mark.django_db

CONTRACT_GROUPS = {
    "agent-supervisors": "pull",
    "support-leads": "round_robin",
    "marketing-reviewers": "pull",
    "revops": "pull",
    "sales-managers": "least_loaded",
    "finance": "pull",
    "legal": "pull",
}


@pytest.fixture
def edited_definition(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """A private copy of refund-approval's definition the test may change."""
    definition = copy.deepcopy(installer.load_definition("refund-approval"))
    original = installer.load_definition

    def load(slug: str) -> dict[str, Any]:
        return definition if slug == "refund-approval" else original(slug)

    monkeypatch.setattr(installer, "load_definition", load)
    yield definition


def _snapshot(policy: Policy) -> tuple[Any, ...]:
    return (
        policy.version,
        policy.history.count(),
        list(policy.rules.values_list("id", flat=True)),
        list(policy.stages.values_list("id", flat=True)),
        list(policy.options.values_list("id", flat=True)),
    )


def test_every_playbook_of_the_contract_installs() -> None:
    policies = install_all()
    assert [policy.slug for policy in policies] == [
        "agent-tool-use",
        "ai-outbound-review",
        "contract-clause-review",
        "data-sync-conflict",
        "deal-discount",
        "refund-approval",
    ]
    for policy in policies:
        assert policy.version == 1
        assert policy.payload_schema and policy.summary and policy.sla_minutes
        assert policy.stages.exists() and policy.options.exists()
    assert dict(ReviewerGroup.objects.values_list("slug", "strategy")) == CONTRACT_GROUPS


def test_installing_twice_changes_nothing() -> None:
    first = {policy.slug: _snapshot(policy) for policy in install_all()}
    second = {policy.slug: _snapshot(policy) for policy in install_all()}
    assert first == second


def test_a_changed_definition_updates_the_policy_and_bumps_once(
    edited_definition: dict[str, Any],
) -> None:
    policy = install_playbook("refund-approval")
    edited_definition["rules"][0]["condition"]["value"] = 75
    edited_definition["summary"] = "Refunds under 75 go through at once."

    policy = install_playbook("refund-approval")
    assert policy.version == 2
    assert policy.summary == "Refunds under 75 go through at once."
    assert policy.rules.get().condition == {"field": "amount", "op": "lt", "value": 75}
    assert install_playbook("refund-approval").version == 2


def test_a_changed_option_alone_bumps_the_version(edited_definition: dict[str, Any]) -> None:
    install_playbook("refund-approval")
    edited_definition["options"][0]["label"] = "Refund it"
    policy = install_playbook("refund-approval")
    assert policy.version == 2
    assert policy.options.get(key="approve").label == "Refund it"


def test_a_managers_strategy_survives_reinstalling() -> None:
    install_playbook("refund-approval")
    ReviewerGroup.objects.filter(slug="support-leads").update(strategy="pull")
    install_playbook("refund-approval")
    assert ReviewerGroup.objects.get(slug="support-leads").strategy == "pull"


def test_an_unknown_playbook_is_refused() -> None:
    with pytest.raises(installer.UnknownPlaybook, match="choose from"):
        install_playbook("no-such-playbook")


@pytest.mark.parametrize(
    ("slug", "payload", "route", "status", "groups"),
    [
        ("refund-approval", {"amount": 20}, "auto", "approved", []),
        ("agent-tool-use", {"tool_name": "Read", "input": {}}, "auto", "approved", []),
        ("agent-tool-use", {"tool_name": "WebSearch", "input": {}}, "auto", "approved", []),
        (
            "agent-tool-use",
            {"tool_name": "Bash", "input": {"command": "ls"}},
            "human",
            "pending",
            ["agent-supervisors"],
        ),
        ("refund-approval", {"amount": 120}, "human", "pending", ["support-leads"]),
        ("ai-outbound-review", {"draft": "Hi!"}, "human", "pending", ["marketing-reviewers"]),
        (
            "data-sync-conflict",
            {"record": "a:1", "field": "phone", "crm_value": "1", "erp_value": "2"},
            "human",
            "pending",
            ["revops"],
        ),
        ("deal-discount", {"discount_percent": 8}, "auto", "approved", []),
        ("deal-discount", {"discount_percent": 8, "strategic": False}, "auto", "approved", []),
        (
            "deal-discount",
            {"discount_percent": 8, "strategic": True},
            "human",
            "pending",
            ["sales-managers"],
        ),
        ("deal-discount", {"discount_percent": 15}, "human", "pending", ["sales-managers"]),
        (
            "deal-discount",
            {"discount_percent": 25},
            "human",
            "pending",
            ["sales-managers", "finance"],
        ),
        ("contract-clause-review", {"nonstandard_clauses": []}, "auto", "approved", []),
        ("contract-clause-review", {}, "auto", "approved", []),
        (
            "contract-clause-review",
            {"nonstandard_clauses": ["Unlimited liability"]},
            "human",
            "pending",
            ["legal"],
        ),
    ],
)
def test_installed_playbooks_route_as_the_contract_says(
    slug: str, payload: dict[str, Any], route: str, status: str, groups: list[str]
) -> None:
    policy = install_playbook(slug)
    approval: ApprovalRequest = approval_submit(policy=policy, title="t", payload=payload)
    assert (approval.route, approval.status) == (route, status)
    assert [stage["group"] for stage in approval.stage_plan] == groups


def test_the_contracts_options_and_editable_fields() -> None:
    install_all()
    labels = {
        policy.slug: [(o.label, o.outcome, o.needs_value) for o in policy.options.all()]
        for policy in Policy.objects.prefetch_related("options")
    }
    assert labels["ai-outbound-review"] == [
        ("Approve", "approve", False),
        ("Revise", "request_changes", False),
        ("Reject", "reject", False),
    ]
    assert labels["data-sync-conflict"] == [
        ("Use CRM", "approve", False),
        ("Use ERP", "approve", False),
        ("Custom", "approve", True),
    ]
    assert Policy.objects.get(slug="ai-outbound-review").editable_fields == ["draft"]
    assert set(playbook_slugs()) == {policy.slug for policy in Policy.objects.all()}
