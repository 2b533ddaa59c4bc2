"""Re-authentication before policy edits: a stale sign-in is asked again before a save."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from unittest import mock

import pytest
from django import forms
from django.test import Client

from approvals.models import Policy
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def change_url(policy: Policy) -> str:
    return f"/admin/approvals/policy/{policy.pk}/change/"


def edit_form(client: Client, policy: Policy, **changes: Any) -> dict[str, Any]:
    """The POST a browser would send from the change form, inlines included, with `changes`
    (as tests/admin/test_policy_admin.py builds it)."""
    response = client.get(change_url(policy))
    assert response.status_code == 200
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
                data[form.add_initial_prefix(name)] = data.get(form.add_prefix(name), "")

    add(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        add(inline.formset.management_form)
        for form in inline.formset.forms:
            add(form)
    data.update(changes)
    return data


def test_a_fresh_sign_in_saves_a_policy_edit_at_once(
    client: Client, manager: Any, policy: Policy, sign_in: Callable[..., Client]
) -> None:
    sign_in(client, manager)
    response = client.post(change_url(policy), edit_form(client, policy, summary="Fresh"))
    assert response.status_code == 302, response.content.decode()[:3000]
    assert response["Location"] == "/admin/approvals/policy/"
    policy.refresh_from_db()
    assert policy.summary == "Fresh" and policy.version == 2


def test_a_stale_sign_in_is_asked_to_reauthenticate_before_the_save(
    client: Client, manager: Any, policy: Policy, sign_in: Callable[..., Client]
) -> None:
    sign_in(client, manager)
    data = edit_form(client, policy, summary="Stale")
    later = time.time() + 301  # past ACCOUNT_REAUTHENTICATION_TIMEOUT (300 s)
    with mock.patch("time.time", return_value=later):
        response = client.post(change_url(policy), data)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/reauthenticate/")
        policy.refresh_from_db()
        assert policy.summary != "Stale" and policy.version == 1  # nothing saved
        # The password again: allauth replays the kept POST, and the edit is saved.
        reauth = client.post(response["Location"], {"password": PASSWORD})
        assert reauth.status_code == 302, reauth.content.decode()[:2000]
    policy.refresh_from_db()
    assert policy.summary == "Stale" and policy.version == 2


def test_a_session_without_a_sign_in_record_is_stale(
    client: Client, manager: Any, policy: Policy
) -> None:
    client.force_login(manager)  # no allauth sign-in: nothing says when the password was typed
    response = client.post(change_url(policy), {"summary": "x"})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/reauthenticate/")
    policy.refresh_from_db()
    assert policy.version == 1


def test_viewing_the_form_does_not_ask(client: Client, manager: Any, policy: Policy) -> None:
    client.force_login(manager)
    assert client.get(change_url(policy)).status_code == 200
