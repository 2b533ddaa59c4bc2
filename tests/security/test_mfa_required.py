"""A second factor is required for staff, for the audit export, and for all when configured."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from tests.factories import UserFactory, enrol_totp

pytestmark = pytest.mark.django_db

ENROL = "/accounts/2fa/totp/activate/"


@pytest.fixture
def staff_without_totp(db: Any) -> Any:
    return UserFactory.create(username="stan", is_staff=True, is_superuser=True)


@pytest.fixture
def exporter(db: Any) -> Any:
    user = UserFactory.create(username="eve")
    user.user_permissions.add(Permission.objects.get(codename="export_audit"))
    return user


@pytest.mark.parametrize("path", ["/admin/", "/admin/approvals/policy/", "/inbox/", "/settings/"])
def test_staff_without_a_second_factor_are_sent_to_enrol(
    client: Client, staff_without_totp: Any, path: str
) -> None:
    client.force_login(staff_without_totp)
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] == ENROL


def test_an_htmx_request_is_sent_to_enrol_as_a_whole_page(
    client: Client, staff_without_totp: Any
) -> None:
    client.force_login(staff_without_totp)
    response = client.get("/inbox/", headers={"HX-Request": "true"})
    assert response["HX-Redirect"] == ENROL


def test_the_enrolment_page_sign_out_and_sessions_stay_open(
    client: Client, staff_without_totp: Any
) -> None:
    client.force_login(staff_without_totp)
    assert client.get(ENROL).status_code in (200, 302)  # 302: allauth's re-authentication first
    assert client.get("/accounts/sessions/").status_code == 200
    assert client.get("/accounts/2fa/").status_code == 200


def test_staff_with_a_second_factor_use_the_admin(client: Client, manager: Any) -> None:
    client.force_login(manager)
    assert client.get("/admin/").status_code == 200
    assert client.get("/inbox/").status_code == 200


def test_the_export_needs_a_second_factor(client: Client, exporter: Any) -> None:
    client.force_login(exporter)
    response = client.get("/exports/audit.csv")
    assert response.status_code == 302 and response["Location"] == ENROL
    assert client.get("/inbox/").status_code == 200  # a reviewer's pages stay open
    enrol_totp(exporter)
    assert client.get("/exports/audit.csv").status_code == 200


def test_a_reviewer_is_not_forced_but_may_opt_in(client: Client, reviewer: Any) -> None:
    client.force_login(reviewer)
    assert client.get("/inbox/").status_code == 200
    page = client.get("/settings/").content.decode()
    assert 'href="/accounts/2fa/"' in page
    assert "Set up two-factor authentication" in page
    assert 'href="/accounts/sessions/"' in page


def test_mfa_required_for_all_sends_every_reviewer_to_enrol(
    client: Client, reviewer: Any, settings: Any
) -> None:
    settings.MFA_REQUIRED_FOR_ALL = True
    client.force_login(reviewer)
    response = client.get("/inbox/")
    assert response.status_code == 302 and response["Location"] == ENROL
    enrol_totp(reviewer)
    assert client.get("/inbox/").status_code == 200


def test_anonymous_visitors_are_not_affected(client: Client, db: Any, settings: Any) -> None:
    settings.MFA_REQUIRED_FOR_ALL = True
    assert client.get("/inbox/")["Location"].startswith("/accounts/login/")
    assert client.get("/healthz").status_code in (200, 503)


def test_the_sessions_page_is_for_signed_in_people_and_shows_only_their_own(
    client: Client, reviewer: Any, other_reviewer: Any, sign_in: Callable[..., Client]
) -> None:
    assert client.get("/accounts/sessions/")["Location"].startswith("/accounts/login/")
    sign_in(Client(), other_reviewer)  # bob's session elsewhere
    sign_in(client, reviewer)
    page = client.get("/accounts/sessions/")
    assert page.status_code == 200
    assert len(page.context["sessions"]) == 1
