"""/admin/login/ goes through allauth: rate limits, lockouts and the second factor apply."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.factories import PASSWORD, totp_code

pytestmark = pytest.mark.django_db


def password_step(client: Client, user: Any, password: str = PASSWORD) -> Any:
    return client.post("/accounts/login/", {"login": user.username, "password": password})


def test_a_password_alone_does_not_open_the_admin_for_a_manager_with_totp(
    client: Client, manager: Any
) -> None:
    response = password_step(client, manager)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/2fa/authenticate/")
    assert "_auth_user_id" not in client.session
    admin = client.get("/admin/")
    assert admin.status_code == 302 and admin["Location"].startswith("/admin/login/")
    # The code completes the sign-in; then the admin opens.
    response = client.post("/accounts/2fa/authenticate/", {"code": totp_code(manager.totp_secret)})
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_the_admin_login_form_sends_to_allauth_and_signs_nobody_in(
    client: Client, manager: Any
) -> None:
    response = client.get("/admin/login/?next=/admin/approvals/policy/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=%2Fadmin%2Fapprovals%2Fpolicy%2F"
    # Posting Django's admin form with the right password (no second factor) does nothing.
    response = client.post("/admin/login/", {"username": manager.username, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/").status_code == 302


def test_wrong_admin_passwords_count_towards_the_lockout(client: Client, manager: Any) -> None:
    for _ in range(5):
        response = password_step(client, manager, "wrong")
        assert response.status_code == 200
    response = password_step(client, manager)  # the right one, too late
    assert response.status_code == 200
    assert "Too many failed login attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_signed_in_reviewer_gets_403_at_the_admin_login(client: Client, reviewer: Any) -> None:
    client.force_login(reviewer)
    assert client.get("/admin/login/").status_code == 403
    assert client.get("/admin/").status_code == 302  # the admin's own "not staff" redirect


def test_signed_in_staff_go_on_to_the_admin(client: Client, manager: Any) -> None:
    client.force_login(manager)
    response = client.get("/admin/login/")
    assert response.status_code == 302 and response["Location"] == "/admin/"
