"""`reviewer_state` reads a reviewer's groups and away state in one query for the inbox; it
must say what `reviewer_group_ids` and the away banner's rules say, in every case."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import Client
from django.utils import timezone

from approvals.inbox.selectors import Away, reviewer_group_ids, reviewer_state
from approvals.models import Membership, ReviewerGroup, ReviewerProfile
from tests.factories import MembershipFactory, UserFactory
from tests.inbox.conftest import hx

HOUR = timedelta(hours=1)


def _profile(user: Any, start: Any, until: Any = None) -> None:
    ReviewerProfile.objects.create(user=user, away_from=start, away_until=until)


# name: (how to set the reviewer up, the expected away state: None, or (out of office?, how long
# from now it ends; None: no end)).
CASES: dict[str, tuple[Any, tuple[bool, timedelta | None] | None]] = {
    "present": (lambda user, now: None, None),
    "away in one group": (
        lambda user, now: Membership.objects.filter(user=user).update(away=True),
        (False, None),
    ),
    "out of office, open-ended": (lambda user, now: _profile(user, now - HOUR), (True, None)),
    "out of office until tomorrow": (
        lambda user, now: _profile(user, now - HOUR, now + 24 * HOUR),
        (True, 24 * HOUR),
    ),
    "out of office next week only": (lambda user, now: _profile(user, now + 100 * HOUR), None),
    "back from leave": (lambda user, now: _profile(user, now - 48 * HOUR, now - HOUR), None),
}


@pytest.mark.parametrize("case", list(CASES))
def test_it_says_what_the_groups_and_the_away_rules_say(
    case: str, reviewer: Any, finance: ReviewerGroup, django_assert_num_queries: Any
) -> None:
    MembershipFactory.create(group=finance, user=reviewer)  # two groups: two joined rows
    now = timezone.now()
    setup, expected = CASES[case]
    setup(reviewer, now)
    with django_assert_num_queries(1):
        group_ids, away = reviewer_state(reviewer)
    assert group_ids == reviewer_group_ids(reviewer) and len(group_ids) == 2
    if expected is None:
        assert away is None
        return
    out_of_office, ends_in = expected
    assert isinstance(away, Away) and away.out_of_office is out_of_office
    if ends_in is None:
        assert away.until is None
    else:
        assert away.until is not None
        assert abs(away.until - (now + ends_in)) < timedelta(seconds=1)


def test_a_user_in_no_group_and_an_anonymous_one(db: Any, django_assert_num_queries: Any) -> None:
    loner = UserFactory.create(username="lone")
    assert reviewer_state(loner) == ([], None)
    with django_assert_num_queries(0):
        assert reviewer_state(AnonymousUser()) == ([], None)


def test_the_inbox_shows_the_banner_from_the_same_query(alice: Client, reviewer: Any) -> None:
    Membership.objects.filter(user=reviewer).update(away=True)
    assert "You are marked away" in alice.get("/inbox/").content.decode()
    live = alice.get("/inbox/", headers=hx(target="live")).content.decode()
    assert "You are marked away" in live
    Membership.objects.filter(user=reviewer).update(away=False)
    assert "You are marked away" not in alice.get("/inbox/").content.decode()
