"""The rule builder: rules and stage conditions written as rows of field, operator and value,
checked against the payload schema, described in a sentence; the summary flagged when the rules
moved on without it, and the what-if's Apply offering to update it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from approvals import rulebuilder
from approvals.models import Policy
from tests.admin.test_policy_admin import _change_form_data

pytestmark = pytest.mark.django_db

SCHEMA = {
    "type": "object",
    "properties": {
        "amount": {"type": "number"},
        "currency": {"type": "string", "enum": ["USD", "EUR"]},
        "vip": {"type": "boolean"},
        "customer": {"type": "object", "properties": {"tier": {"type": "string"}}},
    },
}


@pytest.fixture
def schema_policy(policy: Policy) -> Policy:
    policy.payload_schema = SCHEMA
    policy.summary = "Refunds under 50 go through at once."
    policy.save()
    return policy


def change_url(policy: Policy) -> str:
    return reverse("admin:approvals_policy_change", args=[policy.pk])


def builder_post(client: Client, policy: Policy, **rows: str) -> dict[str, Any]:
    """The change form as a browser sends it, with rule 0's condition as builder rows."""
    data = _change_form_data(client.get(change_url(policy)))
    data["rules-0-condition"] = ""  # the "Edit as JSON" box, left empty
    data.update(rows)
    return data


# --- pure pieces ---------------------------------------------------------------------------


def test_the_sentence_says_what_a_rule_does() -> None:
    assert (
        rulebuilder.describe_rule("approve", {"field": "amount", "op": "lt", "value": 50})
        == "Approve automatically when amount is under 50"
    )
    both = {
        "all": [
            {"field": "amount", "op": "gte", "value": 1000},
            {"field": "currency", "op": "in", "value": ["USD", "EUR"]},
        ]
    }
    assert rulebuilder.describe_rule("human", both) == (
        "Send to a person when amount is at least 1000 and currency is one of “USD”, “EUR”"
    )
    assert rulebuilder.describe_stage(None) == "Always runs"
    assert rulebuilder.describe_stage({"not": {"field": "vip", "op": "eq", "value": True}}) == (
        "Runs only when not (vip is true)"
    )


def test_schema_fields_include_nested_properties_with_their_types() -> None:
    fields = {f.path: f.type for f in rulebuilder.schema_fields(SCHEMA)}
    assert fields == {
        "amount": "number",
        "currency": "string",
        "vip": "boolean",
        "customer": "object",
        "customer.tier": "string",
    }


@pytest.mark.parametrize(
    ("leaf", "problem"),
    [
        ({"field": "amout", "op": "lt", "value": 5}, "Unknown field 'amout'"),
        ({"field": "vip", "op": "lt", "value": 5}, "does not suit vip (boolean)"),
        ({"field": "amount", "op": "lt", "value": "5"}, "amount is a number"),
        ({"field": "amount", "op": "in", "value": [1, "x"]}, "amount is a number"),
        ({"field": "currency", "op": "eq", "value": 3}, "currency is text"),
    ],
)
def test_conditions_are_checked_against_the_schema(leaf: dict[str, Any], problem: str) -> None:
    (found,) = rulebuilder.condition_schema_problems({"any": [leaf]}, SCHEMA)
    assert problem in found


# --- the admin page -------------------------------------------------------------------------


def test_the_page_shows_rows_with_the_schemas_fields_and_the_sentence(
    manager_client: Client, schema_policy: Policy
) -> None:
    html = manager_client.get(change_url(schema_policy)).content.decode()
    assert 'name="rules-0-condition_f0"' in html
    assert (
        '<option value="amount" data-ops="lt lte gt gte eq ne in not_in exists" selected>' in html
    )
    assert 'name="rules-0-condition_v0" value="50"' in html
    assert "Approve automatically when amount is under 50" in html
    assert "approvals/rulebuilder.js" in html


def test_a_rule_saved_from_rows_is_the_json_routing_reads(
    manager_client: Client, schema_policy: Policy
) -> None:
    data = builder_post(
        manager_client,
        schema_policy,
        **{
            "rules-0-condition_join": "all",
            "rules-0-condition_f0": "amount",
            "rules-0-condition_o0": "lt",
            "rules-0-condition_v0": "60",
            "rules-0-condition_f1": "currency",
            "rules-0-condition_o1": "in",
            "rules-0-condition_v1": "USD, EUR",
            "rules-0-condition_f2": "",
            "rules-0-condition_o2": "lt",
            "rules-0-condition_v2": "",
        },
    )
    response = manager_client.post(change_url(schema_policy), data)
    assert response.status_code == 302
    schema_policy.refresh_from_db()
    assert schema_policy.version == 2
    assert schema_policy.rules.get().condition == {
        "all": [
            {"field": "amount", "op": "lt", "value": 60},
            {"field": "currency", "op": "in", "value": ["USD", "EUR"]},
        ]
    }
    assert schema_policy.summary_is_stale


@pytest.mark.parametrize(
    ("field", "op", "value", "message"),
    [
        ("amout", "lt", "60", "Unknown field &#x27;amout&#x27;"),
        ("vip", "lt", "60", "does not suit vip (boolean)"),
        ("amount", "lt", "sixty", "amount is a number: &#x27;sixty&#x27; is not one."),
        ("amount", "lt", "", "Give a value to compare amount with."),
        ("amount", "smaller", "60", "Choose an operator for amount."),
        ("", "lt", "", "Add at least one condition"),
    ],
)
def test_a_bad_row_is_refused_with_a_reason_and_nothing_changes(
    manager_client: Client, schema_policy: Policy, field: str, op: str, value: str, message: str
) -> None:
    data = builder_post(
        manager_client,
        schema_policy,
        **{
            "rules-0-condition_f0": field,
            "rules-0-condition_o0": op,
            "rules-0-condition_v0": value,
        },
    )
    response = manager_client.post(change_url(schema_policy), data)
    assert response.status_code == 200
    assert message in response.content.decode()
    schema_policy.refresh_from_db()
    assert schema_policy.version == 1
    assert schema_policy.rules.get().condition == {"field": "amount", "op": "lt", "value": 50}


def test_the_json_box_still_edits_conditions_the_rows_cannot_show(
    manager_client: Client, schema_policy: Policy
) -> None:
    negated = {"not": {"field": "vip", "op": "eq", "value": True}}
    data = builder_post(manager_client, schema_policy)
    data["rules-0-condition"] = json.dumps(negated)
    assert manager_client.post(change_url(schema_policy), data).status_code == 302
    assert schema_policy.rules.get().condition == negated
    html = manager_client.get(change_url(schema_policy)).content.decode()
    assert "which the rows cannot show" in html
    assert "Approve automatically when not (vip is true)" in html
    data = builder_post(manager_client, schema_policy)
    data["rules-0-condition"] = '{"not": {"field": "vip", "op": "gt", "value": 1}}'
    response = manager_client.post(change_url(schema_policy), data)
    assert response.status_code == 200 and "does not suit vip" in response.content.decode()


def test_a_stage_condition_from_rows_and_empty_rows_mean_always(
    manager_client: Client, schema_policy: Policy
) -> None:
    data = builder_post(
        manager_client,
        schema_policy,
        **{
            "stages-0-condition": "",
            "stages-0-condition_f0": "customer.tier",
            "stages-0-condition_o0": "eq",
            "stages-0-condition_v0": "gold",
        },
    )
    data.update({"rules-0-condition_f0": "amount", "rules-0-condition_o0": "lt"})
    data["rules-0-condition_v0"] = "50"
    assert manager_client.post(change_url(schema_policy), data).status_code == 302
    stage = schema_policy.stages.get()
    assert stage.condition == {"field": "customer.tier", "op": "eq", "value": "gold"}
    html = manager_client.get(change_url(schema_policy)).content.decode()
    assert "Runs only when customer.tier is “gold”" in html
    data = builder_post(
        manager_client, schema_policy, **{"stages-0-condition": "", "stages-0-condition_f0": ""}
    )
    data.update({"rules-0-condition_f0": "amount", "rules-0-condition_o0": "lt"})
    data["rules-0-condition_v0"] = "50"
    assert manager_client.post(change_url(schema_policy), data).status_code == 302
    stage.refresh_from_db()
    assert stage.condition is None


def test_an_untouched_builder_saves_nothing(manager_client: Client, schema_policy: Policy) -> None:
    data = builder_post(
        manager_client,
        schema_policy,
        **{
            "rules-0-condition_f0": "amount",
            "rules-0-condition_o0": "lt",
            "rules-0-condition_v0": "50",
        },
    )
    assert manager_client.post(change_url(schema_policy), data).status_code == 302
    schema_policy.refresh_from_db()
    assert schema_policy.version == 1 and not schema_policy.summary_is_stale


def test_the_summary_is_flagged_until_it_is_rewritten(
    manager_client: Client, schema_policy: Policy
) -> None:
    data = builder_post(manager_client, schema_policy)
    data["rules-0-condition"] = json.dumps({"field": "amount", "op": "lt", "value": 60})
    response = manager_client.post(change_url(schema_policy), data, follow=True)
    assert "the summary did not" in response.content.decode()
    assert "Possibly out of date" in response.content.decode()  # the changelist's column
    assert "Possibly out of date:" in manager_client.get(change_url(schema_policy)).content.decode()
    data = builder_post(manager_client, schema_policy)
    data["rules-0-condition"] = json.dumps({"field": "amount", "op": "lt", "value": 60})
    data["summary"] = "Refunds under 60 go through at once."
    assert manager_client.post(change_url(schema_policy), data).status_code == 302
    schema_policy.refresh_from_db()
    assert not schema_policy.summary_is_stale
    assert (
        "Up to date with the rules"
        in manager_client.get(change_url(schema_policy)).content.decode()
    )


# --- the what-if's Apply --------------------------------------------------------------------


def whatif(policy: Policy, value: int, **extra: Any) -> dict[str, Any]:
    return {
        "policy": policy.pk,
        "rule": policy.rules.get().pk,
        "condition": json.dumps({"field": "amount", "op": "lt", "value": value}),
        "action": "approve",
        "days": 30,
        **extra,
    }


def test_the_replay_offers_the_summary_with_the_new_threshold(
    manager_client: Client, schema_policy: Policy
) -> None:
    html = manager_client.get(
        "/admin/approvals/what-if/", whatif(schema_policy, 60)
    ).content.decode()
    assert "Refunds under 60 go through at once.</textarea>" in html
    assert "Apply: Approve automatically when amount is under 60" in html


def test_apply_with_the_summary_updates_both_in_one_version(
    manager_client: Client, schema_policy: Policy
) -> None:
    response = manager_client.post(
        "/admin/approvals/what-if/",
        whatif(schema_policy, 60, summary="Refunds under 60 go through at once."),
    )
    assert response.status_code == 302
    schema_policy.refresh_from_db()
    assert schema_policy.version == 2
    assert schema_policy.summary == "Refunds under 60 go through at once."
    assert not schema_policy.summary_is_stale


def test_apply_without_a_new_summary_flags_it(
    manager_client: Client, schema_policy: Policy
) -> None:
    response = manager_client.post(
        "/admin/approvals/what-if/",
        whatif(schema_policy, 60, summary=schema_policy.summary),
        follow=True,
    )
    assert "The summary was written before this change" in response.content.decode()
    schema_policy.refresh_from_db()
    assert schema_policy.version == 2 and schema_policy.summary_is_stale


@pytest.mark.parametrize(
    ("summary", "old", "new", "expected"),
    [
        ("Refunds under 50 go through.", 50, 60, "Refunds under 60 go through."),
        ("Up to 10% off; 150 max.", 10, 12, "Up to 12% off; 150 max."),
        ("Refunds under 50.5 go.", 50, 60, "Refunds under 50.5 go."),
        ("No number here.", 50, 60, "No number here."),
    ],
)
def test_suggest_summary_replaces_only_the_old_threshold(
    summary: str, old: int, new: int, expected: str
) -> None:
    from approvals.admin.whatif import suggest_summary

    leaf = {"field": "amount", "op": "lt"}
    assert suggest_summary(summary, {**leaf, "value": old}, {**leaf, "value": new}) == expected
