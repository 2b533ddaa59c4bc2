"""Managers see each request's Slack messages and set a group's channel in the admin; a
reviewer turns Slack off on /settings/."""

from __future__ import annotations

from typing import Any

from django.test import Client

from approvals.models import ReviewerProfile
from tests.factories import enrol_totp
from tests.fixtures.slack import FakeSlack


def test_the_request_admin_shows_its_slack_messages_and_their_last_error(
    slack: FakeSlack, round_robin: Any, reviewer: Any, submit_now: Any, client: Client,
    django_user_model: Any) -> None:  # fmt: skip
    slack.fail(500, method="chat.postMessage")
    approval = submit_now()
    admin = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    enrol_totp(admin)  # staff need a second factor (docs/security.md)
    client.force_login(admin)
    page = client.get(f"/admin/approvals/approvalrequest/{approval.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Slack messages" in html
    assert "C0SUPPORT" in html and "HTTP 500" in html
    assert 'name="slack_messages-0-target"' not in html  # read-only


def test_a_group_s_slack_channel_is_set_in_the_admin_and_a_bad_id_is_refused(
    support: Any, client: Client, django_user_model: Any
) -> None:
    admin = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    enrol_totp(admin)  # staff need a second factor (docs/security.md)
    client.force_login(admin)
    url = f"/admin/approvals/reviewergroup/{support.pk}/change/"
    page = client.get(url)
    assert 'name="slack_channel"' in page.content.decode()
    form = {
        "name": support.name, "slug": support.slug, "strategy": support.strategy,
        "default_wip_cap": 0, "time_zone": "UTC", "work_days": "[]",
        "memberships-TOTAL_FORMS": 0, "memberships-INITIAL_FORMS": 0,
    }  # fmt: skip
    bad = client.post(url, {**form, "slack_channel": "#support"})
    assert bad.status_code == 200 and "A Slack channel id looks like" in bad.content.decode()
    support.refresh_from_db()
    assert support.slack_channel == ""
    good = client.post(url, {**form, "slack_channel": "C0123ABCD"})
    assert good.status_code == 302
    support.refresh_from_db()
    assert support.slack_channel == "C0123ABCD"


def test_settings_has_a_slack_switch_that_turns_direct_messages_off(
    slack: FakeSlack, reviewer: Any, client: Client
) -> None:
    client.force_login(reviewer)
    page = client.get("/settings/")
    html = page.content.decode()
    assert (
        'name="slack_enabled"' in html and "checked" in html.split('name="slack_enabled"')[1][:80]
    )
    response = client.post("/settings/", {"away_from": "", "away_until": "", "delegate": ""})
    assert response.status_code == 302
    assert ReviewerProfile.objects.get(user=reviewer).slack_enabled is False
    client.post("/settings/", {"slack_enabled": "on"})
    assert ReviewerProfile.objects.get(user=reviewer).slack_enabled is True


def test_settings_says_when_slack_is_not_connected(
    settings: Any, reviewer: Any, client: Client
) -> None:
    settings.SLACK_BOT_TOKEN = ""
    client.force_login(reviewer)
    assert "Slack is not connected" in client.get("/settings/").content.decode()


def test_settings_is_for_signed_in_reviewers_only(db: Any, client: Client) -> None:
    response = client.post("/settings/", {"slack_enabled": "on"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not ReviewerProfile.objects.exists()
