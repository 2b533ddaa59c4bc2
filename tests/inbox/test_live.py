"""The inbox keeps itself current: the polled partial (counters, away banner, the page's
fingerprint), the tab title's count, and the back button's full page."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from approvals.models import ApprovalRequest, Membership, ReviewerProfile
from approvals.services import approval_claim
from tests.inbox.conftest import hx

LIVE = hx(target="live")


def stamp(html: str, element: str) -> str:
    match = re.search(rf'id="{element}"[^>]*?data-stamp="([0-9a-f]+)"', html, re.S)
    assert match, html
    return match.group(1)


def test_the_live_partial_carries_the_counters_and_the_fingerprint_of_the_shown_page(
    alice: Client, submit: Any
) -> None:
    submit(title="First")
    page = alice.get("/inbox/").content.decode()
    response = alice.get("/inbox/", headers=LIVE)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="views"' in html and 'hx-swap-oob="true"' in html
    assert 'data-todo="1"' in html
    assert 'class="row' not in html  # no rows: only what tells the page whether to redraw
    assert stamp(html, "live") == stamp(page, "queue")


def test_the_fingerprint_changes_when_a_request_arrives_and_only_then(
    alice: Client, submit: Any
) -> None:
    submit(title="First")
    before = stamp(alice.get("/inbox/", headers=LIVE).content.decode(), "live")
    assert stamp(alice.get("/inbox/", headers=LIVE).content.decode(), "live") == before
    submit(title="Second")
    after = stamp(alice.get("/inbox/", headers=LIVE).content.decode(), "live")
    assert after != before
    assert after == stamp(alice.get("/inbox/").content.decode(), "queue")


def test_the_fingerprint_follows_the_view_and_filters(alice: Client, submit: Any) -> None:
    submit(title="Refund one")
    submit(title="Other thing")
    url = "/inbox/?view=queue&q=refund"
    live = stamp(alice.get(url, headers=LIVE).content.decode(), "live")
    assert live == stamp(alice.get(url).content.decode(), "queue")
    assert live != stamp(alice.get("/inbox/", headers=LIVE).content.decode(), "live")


@pytest.mark.parametrize("rows", [1, 50])
def test_the_live_partial_costs_the_same_for_1_and_50_rows(
    alice: Client, submit: Any, reviewer: Any, rows: int, django_assert_num_queries: Any
) -> None:
    for i in range(rows):
        approval = submit(title=f"Open {i}")
        if i % 2:
            approval_claim(approval=approval, reviewer=reviewer)
    alice.get("/inbox/", headers=LIVE)  # the session is loaded once per test client
    # session, user, groups with the away state (one query), counters, page keys (1 on
    # PostgreSQL's UNION ALL; one per part on SQLite: my assignments and one group). The filter
    # choices come from the shared cache (read by the first page).
    from django.db import connection

    keys = 1 if connection.vendor == "postgresql" else 2
    with django_assert_num_queries(4 + keys):
        assert alice.get("/inbox/", headers=LIVE).status_code == 200


def test_a_bad_filter_in_the_live_partial_is_a_400(alice: Client, submit: Any) -> None:
    submit()
    assert alice.get("/inbox/?view=nope", headers=LIVE).status_code == 400


def test_the_tab_title_counts_what_is_to_do(alice: Client, submit: Any) -> None:
    assert "<title>Inbox · Checkpoint</title>" in alice.get("/inbox/").content.decode()
    approval = submit()
    submit()
    submit()
    assert "<title>(3) Inbox · Checkpoint</title>" in alice.get("/inbox/").content.decode()
    detail = alice.get(f"/inbox/{approval.pk}/").content.decode()
    assert f"<title>(3) {approval.title} · Checkpoint</title>" in detail


def test_a_reviewer_out_of_office_sees_the_away_banner(alice: Client, reviewer: Any) -> None:
    assert "You are marked away" not in alice.get("/inbox/").content.decode()
    until = timezone.now() + timedelta(days=2)
    ReviewerProfile.objects.create(
        user=reviewer, away_from=timezone.now() - timedelta(hours=1), away_until=until
    )
    assert "You are marked away" in alice.get("/inbox/").content.decode()
    assert "You are marked away" in alice.get("/inbox/", headers=LIVE).content.decode()


def test_a_reviewer_away_in_a_group_sees_the_banner_and_a_future_absence_shows_none(
    alice: Client, reviewer: Any
) -> None:
    ReviewerProfile.objects.create(user=reviewer, away_from=timezone.now() + timedelta(days=1))
    assert "You are marked away" not in alice.get("/inbox/").content.decode()
    Membership.objects.filter(user=reviewer).update(away=True)
    assert "You are marked away" in alice.get("/inbox/").content.decode()


def test_going_back_restores_the_whole_page_not_a_fragment(
    alice: Client, pending: ApprovalRequest
) -> None:
    restore = {**hx(), "HX-History-Restore-Request": "true"}
    for url in ("/inbox/", f"/inbox/{pending.pk}/"):
        html = alice.get(url, headers=restore).content.decode()
        assert html.startswith("<!doctype html>") and 'id="queue"' in html, url


def test_the_live_partial_needs_a_signed_in_user(client: Client) -> None:
    response = client.get("/inbox/", headers=LIVE)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_an_outsider_sees_nothing_of_another_groups_work(
    client: Client, outsider: Any, submit: Any
) -> None:
    approval = submit(title="Support only")
    client.force_login(outsider)
    html = client.get("/inbox/", headers=LIVE).content.decode()
    assert 'data-todo="0"' in html and str(approval.pk) not in html
    empty = stamp(html, "live")
    assert empty == stamp(client.get("/inbox/").content.decode(), "queue")
