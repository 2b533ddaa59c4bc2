"""Managers invite a reviewer from the admin: a user with no usable password, memberships, an
audit entry, and an email whose link sets the password and lets them sign in."""

from __future__ import annotations

import re
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django.urls import reverse

from approvals.models import AuditEntry, Membership, ReviewerGroup

URL = "admin:approvals_invite"


def state() -> tuple[int, int, int, int]:
    return (
        get_user_model().objects.count(),
        Membership.objects.count(),
        AuditEntry.objects.count(),
        len(mail.outbox),
    )


def invite(client: Client, capture: Any, **data: Any) -> Any:
    with capture(execute=True):
        return client.post(reverse(URL), data)


def link_in(message: Any) -> str:
    (url,) = re.findall(r"http://\S+/accounts/password/reset/key/\S+/", message.body)
    return url


def test_a_manager_invites_a_new_reviewer_who_sets_a_password_and_signs_in(
    manager_client: Client,
    manager: Any,
    support: ReviewerGroup,
    finance: ReviewerGroup,
    django_capture_on_commit_callbacks: Any,
    settings: Any,
) -> None:
    settings.SITE_URL = "http://testserver"
    page = manager_client.get(reverse(URL))
    assert page.status_code == 200 and "Support leads" in page.content.decode()
    response = invite(
        manager_client,
        django_capture_on_commit_callbacks,
        email="Dana.Lee@example.com",
        name="Dana Lee",
        groups=[support.pk, finance.pk],
    )
    assert response.status_code == 302
    user = get_user_model().objects.get(email="dana.lee@example.com")
    assert not user.has_usable_password() and user.first_name == "Dana"
    assert set(Membership.objects.filter(user=user).values_list("group__slug", flat=True)) == {
        support.slug,
        finance.slug,
    }
    assert EmailAddress.objects.get(user=user).verified
    entry = AuditEntry.objects.get(action="reviewer_invited")
    assert entry.actor == manager.username and entry.data["created"] is True
    assert entry.data["groups_joined"] == sorted([support.slug, finance.slug])
    (message,) = mail.outbox
    assert message.to == ["dana.lee@example.com"] and "Support leads" in message.body

    # The link: allauth's set-password page, then the new password signs in.
    visitor = Client()
    form_page = visitor.get(link_in(message), follow=True)
    assert form_page.status_code == 200
    set_url = form_page.redirect_chain[-1][0] if form_page.redirect_chain else link_in(message)
    done = visitor.post(
        set_url, {"password1": "a-long-new-secret-9", "password2": "a-long-new-secret-9"}
    )
    assert done.status_code == 302
    user.refresh_from_db()
    assert user.has_usable_password()
    signed_in = visitor.post(
        reverse("account_login"),
        {"login": "Dana.Lee@example.com", "password": "a-long-new-secret-9"},
    )
    assert signed_in.status_code == 302
    assert visitor.get(reverse("inbox")).status_code == 200
    # The link works once.
    again = Client().get(link_in(message), follow=True)
    assert "a-long-new-secret-9" not in again.content.decode()
    assert b"password1" not in again.content


def test_inviting_the_same_email_again_adds_groups_and_resends(
    manager_client: Client,
    reviewer: Any,
    support: ReviewerGroup,
    finance: ReviewerGroup,
    django_capture_on_commit_callbacks: Any,
) -> None:
    users = get_user_model().objects.count()
    response = invite(
        manager_client,
        django_capture_on_commit_callbacks,
        email=reviewer.email.upper(),
        groups=[support.pk, finance.pk],
    )
    assert response.status_code == 302
    assert get_user_model().objects.count() == users
    assert Membership.objects.filter(user=reviewer, group=finance).exists()
    assert reviewer.memberships.count() == 2
    entry = AuditEntry.objects.get(action="reviewer_invited")
    assert entry.data["created"] is False and entry.data["groups_joined"] == [finance.slug]
    assert len(mail.outbox) == 1 and "/accounts/password/reset/key/" in mail.outbox[0].body


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"email": "not-an-email", "groups": "SUPPORT"}, "Enter an email address"),
        ({"email": "dana@example.com"}, "Choose at least one group."),
        ({"email": "", "groups": "SUPPORT"}, "This field is required."),
        ({"email": "dana@example.com", "groups": ["999999"]}, "Select a valid choice"),
        ({"email": "dana@example.com", "groups": ["x"]}, "is not a valid value"),
    ],
)
def test_bad_input_is_a_400_with_a_clear_message_and_changes_nothing(
    manager_client: Client,
    support: ReviewerGroup,
    django_capture_on_commit_callbacks: Any,
    data: dict[str, Any],
    message: str,
) -> None:
    if data.get("groups") == "SUPPORT":
        data = {**data, "groups": [support.pk]}
    before = state()
    response = invite(manager_client, django_capture_on_commit_callbacks, **data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert state() == before


def test_staff_who_are_not_managers_get_a_403(
    client: Client, bare_staff: Any, support: ReviewerGroup
) -> None:
    client.force_login(bare_staff)
    before = state()
    assert client.get(reverse(URL)).status_code == 403
    assert (
        client.post(reverse(URL), {"email": "x@example.com", "groups": [support.pk]}).status_code
        == 403
    )
    assert state() == before


def test_a_reviewer_is_sent_to_the_admin_login(client: Client, reviewer: Any) -> None:
    client.force_login(reviewer)
    response = client.get(reverse(URL))
    assert response.status_code == 302 and "login" in response["Location"]


def test_anonymous_is_sent_to_the_admin_login(client: Client, db: Any) -> None:
    response = client.post(reverse(URL), {"email": "x@example.com"})
    assert response.status_code == 302 and "login" in response["Location"]
    assert not get_user_model().objects.filter(email="x@example.com").exists()


def test_the_admin_index_links_the_invite_page_for_managers(manager_client: Client) -> None:
    assert reverse(URL) in manager_client.get(reverse("admin:index")).content.decode()
