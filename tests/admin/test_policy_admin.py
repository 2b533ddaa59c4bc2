"""The admin as the managers' home: every page opens for a manager, policy edits make one new
version with a history row, and the requests changelist stays flat in queries."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django import forms
from django.apps import apps
from django.contrib import admin
from django.db import connection
from django.db.models import Model
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from approvals.models import ApiToken, ApprovalRequest, Policy, ReviewerProfile
from approvals.services import approval_decide
from approvals.services.tokens import api_token_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def decided(pending: ApprovalRequest, reviewer: Any, submit: Callable[..., Any]) -> ApprovalRequest:
    approval_decide(approval=pending, reviewer=reviewer, option="approve")
    submit(payload={"amount": 10})  # an auto decision too
    ReviewerProfile.objects.create(user=reviewer, daily_digest=True)
    return pending


def _admin_url(model: type[Model], view: str, *args: Any) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def _change_form_data(response: Any) -> dict[str, Any]:
    """The POST a browser would send for an unchanged change form, inlines included."""
    data: dict[str, Any] = {}

    def add(form: forms.BaseForm) -> None:
        for name, field in form.fields.items():
            value = form[name].value()
            if isinstance(field, forms.BooleanField):
                if value:
                    data[form.add_prefix(name)] = "on"
            else:
                data[form.add_prefix(name)] = "" if value is None else value
            if field.show_hidden_initial:
                # Fields with callable defaults carry their initial value in a hidden input.
                data[form.add_initial_prefix(name)] = data.get(form.add_prefix(name), "")

    add(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        add(inline.formset.management_form)
        for form in inline.formset.forms:
            add(form)
    return data


def test_a_manager_opens_every_changelist_and_change_form(
    manager_client: Client, manager: Any, decided: ApprovalRequest
) -> None:
    opened = []
    for model in apps.get_app_config("approvals").get_models():
        if not admin.site.is_registered(model):
            continue
        opts = model._meta
        if opts.app_label != "approvals" or not manager.has_perm(
            f"approvals.view_{opts.model_name}"
        ):
            continue
        response = manager_client.get(_admin_url(model, "changelist"))
        assert response.status_code == 200, opts.model_name
        obj = model._default_manager.first()
        if obj is None:  # no row of this kind in the fixture: its changelist opened empty
            continue
        response = manager_client.get(_admin_url(model, "change", obj.pk))
        assert response.status_code == 200, opts.model_name
        opened.append(opts.model_name)
    assert {
        "policy",
        "reviewergroup",
        "reviewerprofile",
        "approvalrequest",
        "decision",
        "auditentry",
    } <= set(opened)


def test_history_pages_open_for_a_manager(manager_client: Client, decided: ApprovalRequest) -> None:
    objects: list[Model] = [decided.policy, decided, decided.policy.stages.get().group]
    for obj in objects:
        response = manager_client.get(_admin_url(type(obj), "history", obj.pk))
        assert response.status_code == 200


def test_requests_are_read_only_and_readable(
    manager_client: Client, decided: ApprovalRequest
) -> None:
    response = manager_client.get(_admin_url(ApprovalRequest, "change", decided.pk))
    body = response.content.decode()
    assert "&quot;amount&quot;: 120.0" in body  # pretty-printed JSON
    assert "Approve" in body and "alice" in body  # the decision inline
    assert 'name="_save"' not in body
    response = manager_client.post(
        _admin_url(ApprovalRequest, "change", decided.pk), {"title": "x"}
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    "query",
    [
        "status=pending",
        "route=auto",
        "escalated__exact=1",
        "overdue=yes",
        "overdue=no",
        "q=ticket",
        "q=Refund",
    ],
)
def test_the_requests_changelist_filters_and_searches(
    manager_client: Client, decided: ApprovalRequest, query: str
) -> None:
    response = manager_client.get(_admin_url(ApprovalRequest, "changelist") + "?" + query)
    assert response.status_code == 200


def test_editing_a_policy_bumps_its_version_once_with_a_history_row(
    manager_client: Client, policy: Policy
) -> None:
    url = _admin_url(Policy, "change", policy.pk)
    data = _change_form_data(manager_client.get(url))
    data["summary"] = "Check the order history first."
    data["rules-0-condition"] = '{"field": "amount", "op": "lt", "value": 80}'
    history = policy.history.count()

    response = manager_client.post(url, data)

    assert response.status_code == 302, (
        response.context and response.context["adminform"].form.errors
    )
    policy.refresh_from_db()
    assert policy.version == 2
    assert policy.summary == "Check the order history first."
    assert policy.rules.get().condition["value"] == 80
    assert policy.history.count() == history + 1
    assert policy.history.first().version == 2


def test_an_inline_only_change_bumps_the_version(manager_client: Client, policy: Policy) -> None:
    url = _admin_url(Policy, "change", policy.pk)
    data = _change_form_data(manager_client.get(url))
    data["options-0-label"] = "Refund it"
    assert manager_client.post(url, data).status_code == 302
    policy.refresh_from_db()
    assert policy.version == 2
    assert policy.options.get(key="approve").label == "Refund it"


def test_saving_an_unchanged_policy_keeps_its_version(
    manager_client: Client, policy: Policy
) -> None:
    url = _admin_url(Policy, "change", policy.pk)
    history = policy.history.count()
    assert manager_client.post(url, _change_form_data(manager_client.get(url))).status_code == 302
    policy.refresh_from_db()
    assert policy.version == 1
    assert policy.history.count() == history


def test_a_malformed_rule_is_refused_with_a_reason(manager_client: Client, policy: Policy) -> None:
    url = _admin_url(Policy, "change", policy.pk)
    data = _change_form_data(manager_client.get(url))
    data["rules-0-condition"] = '{"field": "amount", "op": "smaller", "value": 80}'
    response = manager_client.post(url, data)
    assert response.status_code == 200
    assert "Invalid condition" in response.content.decode()
    policy.refresh_from_db()
    assert policy.version == 1


def test_a_broken_payload_schema_is_refused_with_a_reason(
    manager_client: Client, policy: Policy
) -> None:
    url = _admin_url(Policy, "change", policy.pk)
    data = _change_form_data(manager_client.get(url))
    data["payload_schema"] = '{"type": "object", "properties": {"amount": {"type": "money"}}}'
    response = manager_client.post(url, data)
    assert response.status_code == 200
    assert "Not a valid JSON Schema" in response.content.decode()
    policy.refresh_from_db()
    assert policy.version == 1
    assert policy.payload_schema is None


def test_the_requests_changelist_is_flat_in_queries(
    manager_client: Client, submit: Callable[..., ApprovalRequest], reviewer: Any
) -> None:
    url = _admin_url(ApprovalRequest, "changelist")
    submit()
    manager_client.get(url)  # warm caches (content types, sessions)
    with CaptureQueriesContext(connection) as one:
        assert manager_client.get(url).status_code == 200
    for _ in range(49):
        submit()
    with CaptureQueriesContext(connection) as fifty:
        response = manager_client.get(url)
    assert response.status_code == 200
    assert response.context["cl"].result_count == 50
    assert len(fifty) == len(one), [q["sql"] for q in fifty.captured_queries]


@pytest.mark.parametrize("model_name", ["decision", "auditentry", "policy", "reviewergroup"])
def test_other_changelists_are_flat_in_queries(
    manager_client: Client, submit: Callable[..., ApprovalRequest], reviewer: Any, model_name: str
) -> None:
    url = reverse(f"admin:approvals_{model_name}_changelist")
    approval_decide(approval=submit(), reviewer=reviewer, option="approve")
    manager_client.get(url)
    with CaptureQueriesContext(connection) as few:
        manager_client.get(url)
    for _ in range(10):
        approval_decide(approval=submit(), reviewer=reviewer, option="reject")
    with CaptureQueriesContext(connection) as more:
        assert manager_client.get(url).status_code == 200
    assert len(more) == len(few)


def test_audit_entries_cannot_be_added_changed_or_deleted(
    admin_client: Client, decided: ApprovalRequest
) -> None:
    entry = decided.audit_entries.first()
    assert entry is not None
    assert admin_client.get(reverse("admin:approvals_auditentry_add")).status_code == 403
    assert (
        admin_client.post(
            reverse("admin:approvals_auditentry_change", args=[entry.pk]), {}
        ).status_code
        == 403
    )
    assert (
        admin_client.get(reverse("admin:approvals_auditentry_delete", args=[entry.pk])).status_code
        == 403
    )


def test_tokens_are_revoked_by_an_admin_action_and_their_hash_never_shown(
    admin_client: Client,
) -> None:
    token, raw = api_token_create(name="zendesk")
    changelist = reverse("admin:approvals_apitoken_changelist")
    for url in (changelist, reverse("admin:approvals_apitoken_change", args=[token.pk])):
        body = admin_client.get(url).content.decode()
        assert token.token_hash not in body and raw not in body
    response = admin_client.post(
        changelist, {"action": "revoke", "_selected_action": [token.pk]}, follow=True
    )
    assert "Revoked 1 token(s)." in response.content.decode()
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None


def test_outsiders_without_staff_cannot_reach_the_admin(client: Client, outsider: Any) -> None:
    client.force_login(outsider)
    response = client.get(reverse("admin:approvals_policy_changelist"))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:9000/hook", "127.0.0.0/8, loopback"),
        ("https://192.0.0.9/hook", "192.0.0.0/24, IETF protocol assignments"),
        ("https://[3fff::1]/hook", "3fff::/20, documentation"),
        ("https://169.254.169.254/latest/meta-data/", "169.254.0.0/16, link-local"),
    ],
)
def test_a_callback_url_the_guard_refuses_is_a_form_error_and_nothing_is_saved(
    manager_client: Client, policy: Policy, url: str, reason: str, settings: Any
) -> None:
    settings.CALLBACK_ALLOW_PRIVATE_NETWORKS = False
    change = _admin_url(Policy, "change", policy.pk)
    data = _change_form_data(manager_client.get(change))
    data["callback_url"] = url
    sla_before = policy.sla_minutes
    data["sla_minutes"] = "17"  # another edit in the same POST: not saved either
    response = manager_client.post(change, data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["callback_url"] and reason in errors["callback_url"][0]
    assert "callbacks there are refused" in response.content.decode()
    policy.refresh_from_db()
    assert (policy.callback_url, policy.sla_minutes, policy.version) == ("", sla_before, 1)
    assert policy.history.count() == 1


def test_adding_a_policy_with_a_refused_callback_url_creates_nothing(
    manager_client: Client, settings: Any
) -> None:
    settings.CALLBACK_ALLOW_PRIVATE_NETWORKS = False
    add = _admin_url(Policy, "add")
    data = _change_form_data(manager_client.get(add))
    data.update(name="Hooks", slug="hooks", callback_url="http://10.0.0.5/hook")
    response = manager_client.post(add, data)
    assert response.status_code == 200
    assert "callback_url" in response.context["adminform"].form.errors
    assert not Policy.objects.filter(slug="hooks").exists()


def test_a_public_callback_url_saves_and_private_ones_save_when_allowed(
    manager_client: Client, policy: Policy, settings: Any
) -> None:
    change = _admin_url(Policy, "change", policy.pk)
    settings.CALLBACK_ALLOW_PRIVATE_NETWORKS = False
    data = _change_form_data(manager_client.get(change))
    data["callback_url"] = "https://93.184.215.14/hooks"  # a literal: no DNS lookup
    assert manager_client.post(change, data).status_code == 302
    policy.refresh_from_db()
    assert policy.callback_url == "https://93.184.215.14/hooks"
    settings.CALLBACK_ALLOW_PRIVATE_NETWORKS = True  # the demo and the local receivers
    data = _change_form_data(manager_client.get(change))
    data["callback_url"] = "http://127.0.0.1:9000/hook"
    assert manager_client.post(change, data).status_code == 302
    policy.refresh_from_db()
    assert policy.callback_url == "http://127.0.0.1:9000/hook"
