"""Managers create API tokens in the admin (shown once) and revoke them."""

from __future__ import annotations

import re
from typing import Any

from django.test import Client
from django.urls import reverse

from approvals.models import ApiToken
from approvals.services.tokens import api_token_authenticate

ADD = "admin:approvals_apitoken_add"


def test_a_manager_creates_a_token_that_works_and_is_shown_once(manager_client: Client) -> None:
    assert manager_client.get(reverse(ADD)).status_code == 200
    page = manager_client.post(
        reverse(ADD), {"name": "  billing   bot ", "scopes": ["create", "read", "cancel"]}
    )
    assert page.status_code == 200 and "no-store" in page["Cache-Control"]
    (raw,) = re.findall(r'id="raw-token" readonly value="([^"]+)"', page.content.decode())
    token = ApiToken.objects.get()
    assert token.name == "billing bot" and raw.startswith(token.prefix)
    assert api_token_authenticate(raw=raw) == token
    listing = manager_client.get(reverse("admin:approvals_apitoken_changelist")).content.decode()
    assert "billing bot" in listing and raw not in listing


def test_a_blank_name_is_a_400_and_creates_nothing(manager_client: Client) -> None:
    page = manager_client.post(reverse(ADD), {"name": "   "})
    assert page.status_code == 400 and not ApiToken.objects.exists()
    page = manager_client.post(reverse(ADD), {"name": "x" * 121})
    assert page.status_code == 400 and not ApiToken.objects.exists()


def test_a_manager_revokes_a_token(manager_client: Client) -> None:
    from approvals.services.tokens import api_token_create

    token, raw = api_token_create(name="old")
    response = manager_client.post(
        reverse("admin:approvals_apitoken_changelist"),
        {"action": "revoke", "_selected_action": [token.pk]},
    )
    assert response.status_code == 302
    assert api_token_authenticate(raw=raw) is None


def test_staff_without_the_permission_get_403_and_nothing_is_created(
    client: Client, bare_staff: Any
) -> None:
    client.force_login(bare_staff)
    assert client.post(reverse(ADD), {"name": "sneaky"}).status_code == 403
    assert not ApiToken.objects.exists()


def test_anonymous_goes_to_the_admin_login(client: Client, db: Any) -> None:
    response = client.post(reverse(ADD), {"name": "anon"})
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert not ApiToken.objects.exists()


def test_a_manager_creates_a_scoped_expiring_token_for_a_caller(
    manager_client: Client, policy: Any, requester: Any
) -> None:
    page = manager_client.post(
        reverse(ADD),
        {
            "name": "crm-reader",
            "caller": "crm",
            "scopes": ["read"],
            "policies": [policy.pk],
            "expires_days": "30",
            "user": requester.pk,
        },
    )
    assert page.status_code == 200
    text = " ".join(page.content.decode().split())
    assert "Caller <strong>crm</strong>; scopes read; 1 policies; expires" in text
    token = ApiToken.objects.get()
    assert (token.caller, token.scopes, token.policy_ids) == ("crm", ["read"], [policy.pk])
    assert token.user == requester and token.expires_at is not None


def test_a_taken_name_or_no_scope_is_a_400_and_creates_nothing(manager_client: Client) -> None:
    from approvals.services.tokens import api_token_create

    api_token_create(name="taken")
    page = manager_client.post(reverse(ADD), {"name": "taken", "scopes": ["read"]})
    assert page.status_code == 400 and "already a token named" in page.content.decode()
    page = manager_client.post(reverse(ADD), {"name": "fresh"})
    assert page.status_code == 400
    page = manager_client.post(
        reverse(ADD), {"name": "fresh", "scopes": ["read"], "expires_days": "0"}
    )
    assert page.status_code == 400
    assert list(ApiToken.objects.values_list("name", flat=True)) == ["taken"]
