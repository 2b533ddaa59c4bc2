"""Every dashboard number, computed a second way: plain rows read back and counted in Python,
on the demo's seeded data plus an idle reviewer and an inactive one. The dashboard's SQL
aggregates must agree with these counts and with each other (the SLA card, the human
decisions card, the load per reviewer and the open total add up)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from approvals.admin.dashboard import BACKLOG, HUMAN_CHANNELS, backlog, dashboard_context
from approvals.models import ApprovalRequest, Decision, Membership, ReviewerGroup, Route
from playbooks.demo import seed_demo
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

DAYS = 30
Status = ApprovalRequest.Status


@pytest.fixture(scope="module")
def seeded(django_db_setup: Any, django_db_blocker: Any) -> Any:
    """The demo data (60 requests), once for the module, removed afterwards."""
    with django_db_blocker.unblock():
        from django.db import transaction

        with transaction.atomic():
            seed_demo(requests=60, seed=7)
            group = ReviewerGroup.objects.order_by("slug").first()
            idle = UserFactory.create(username="zed-idle")  # a member with no work at all
            gone = UserFactory.create(username="yan-gone", is_active=False)
            MembershipFactory.create(group=group, user=idle)
            MembershipFactory.create(group=group, user=gone)
            now = timezone.now()
            yield now, dashboard_context(days=DAYS, now=now)
            transaction.set_rollback(True)


def headline(context: dict[str, Any], label: str) -> Any:
    return next(h for h in context["headlines"] if h.label == label)


def rows() -> list[dict[str, Any]]:
    found = ApprovalRequest.objects.values(
        "id", "status", "route", "created_at", "due_at", "decided_at", "assignee__username"
    )
    return [dict(row) for row in found]


def test_open_and_overdue_and_the_ages_agree(seeded: Any) -> None:
    now, context = seeded
    pending = [r for r in rows() if r["status"] == Status.PENDING]
    overdue = [r for r in pending if r["due_at"] is not None and r["due_at"] <= now]
    assert headline(context, "Open now").value == str(len(pending))
    assert headline(context, "Open now").note == f"{len(overdue)} overdue"
    assert context["overdue_total"] == len(overdue) > 0

    expected = [0] * len(BACKLOG)
    for r in pending:
        hours = (now - r["created_at"]).total_seconds() / 3600
        for i, (_, low, high) in enumerate(BACKLOG):
            if (i == 0 or hours >= low) and (high is None or hours < high):
                expected[i] += 1
                break
    ages, total, _ = backlog(now=now)
    assert [n for _, n in ages] == expected and sum(expected) == total == len(pending)
    # No request is overdue before it was even an hour old (the demo's created times are real).
    for r in overdue:
        assert r["created_at"] < r["due_at"]
        assert now - r["created_at"] >= timedelta(hours=1)


def test_the_sla_card_counts_the_requests_people_finished(seeded: Any) -> None:
    now, context = seeded
    since = now - timedelta(days=DAYS)
    finished = [
        r
        for r in rows()
        if r["decided_at"] is not None
        and r["decided_at"] >= since
        and r["due_at"] is not None
        and r["route"] != Route.AUTO
        and r["status"] != Status.CANCELLED
    ]
    met = [r for r in finished if r["decided_at"] <= r["due_at"] and r["status"] != Status.EXPIRED]
    card = headline(context, "SLA hit rate")
    assert card.note == f"{len(met)} of {len(finished)} requests people finished were on time"
    # The same requests, the other way round: each has a final human decision, or expired
    # (or an expiry action decided it) with no one deciding in time.
    finals = {
        d["approval_id"]: d["channel"]
        for d in Decision.objects.filter(is_final=True).values("approval_id", "channel")
    }
    for r in finished:
        assert finals.get(r["id"]) in (*HUMAN_CHANNELS, Decision.Channel.TIMEOUT, None)
        if finals.get(r["id"]) in HUMAN_CHANNELS or r["status"] == Status.EXPIRED:
            continue
        assert r["decided_at"] > r["due_at"]  # an expiry action: late by definition


def test_human_decisions_agree_with_the_volume_per_reviewer(seeded: Any) -> None:
    now, context = seeded
    since = now - timedelta(days=DAYS)
    human = [
        d
        for d in Decision.objects.values("approval_id", "channel", "decided_at", "decided_by_id")
        if d["channel"] in HUMAN_CHANNELS and d["decided_at"] >= since
    ]
    requests = {d["approval_id"] for d in human}
    card = headline(context, "Human decisions")
    assert card.value == str(len(human)) > "0"
    assert card.note == f"on {len(requests)} requests, last {DAYS} days"
    assert sum(r.decided for r in context["reviewers"]) == len(human)
    for reviewer in context["reviewers"]:
        assert reviewer.decided == sum(1 for d in human if d["decided_by_id"] == reviewer.pk)


def test_load_lists_every_active_reviewer_and_adds_up_to_the_open_total(seeded: Any) -> None:
    now, context = seeded
    names = [r.username for r in context["reviewers"]]
    active_members = set(
        Membership.objects.filter(user__is_active=True).values_list("user__username", flat=True)
    )
    assert active_members <= set(names)
    assert "zed-idle" in names and "yan-gone" not in names
    assert len(names) == len(set(names))
    pending = [r for r in rows() if r["status"] == Status.PENDING]
    held = [r for r in pending if r["assignee__username"]]
    by_name = {r.username: r for r in context["reviewers"]}
    for name in {r["assignee__username"] for r in held}:
        mine = [r for r in held if r["assignee__username"] == name]
        late = [r for r in mine if r["due_at"] is not None and r["due_at"] <= now]
        assert (by_name[name].open_now, by_name[name].overdue_now) == (len(mine), len(late))
    assert by_name["zed-idle"].open_now == by_name["zed-idle"].decided == 0
    assert sum(r.open_now for r in context["reviewers"]) + context["unassigned"] == len(pending)
    # The chart draws every one of them, the idle reviewer included.
    chart = str(context["load_chart"])
    for name in names:
        assert f">{name}<" in chart


def test_the_auto_decided_card_counts_every_policy(seeded: Any) -> None:
    now, context = seeded
    since = now - timedelta(days=DAYS)
    created = [r for r in rows() if r["created_at"] >= since]
    auto = [
        r
        for r in created
        if r["route"] == Route.AUTO and r["status"] in (Status.APPROVED, Status.REJECTED)
    ]
    assert headline(context, "Auto-decided").note == f"{len(auto)} of {len(created)} requests"
