"""Every inbox URL, for everyone who must not see a request: nothing leaks, nothing changes.

anonymous      -> the login page (GET and POST alike)
outsider       -> a reviewer of `finance`, which has no part in the request
other group    -> a reviewer of `legal`, busy with a policy of its own
requester      -> rita, whose automation sent the request (in no group)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from approvals.models import ApprovalRequest, AuditEntry, Decision
from tests.factories import MembershipFactory, UserFactory, make_policy
from tests.inbox.conftest import hx

LIST_URLS = [
    "/inbox/",
    *[
        f"/inbox/?view={view}"
        for view in ("todo", "assigned", "queue", "due_soon", "overdue", "decided")
    ],
]


def object_gets(pk: Any) -> list[tuple[str, dict[str, str]]]:
    return [
        (f"/inbox/{pk}/", {}),
        (f"/inbox/{pk}/", hx(target="detail")),
    ]


def object_posts(pk: Any) -> list[tuple[str, dict[str, str]]]:
    data = {"option": "approve", "comment": "sneaky"}
    return [
        (f"/inbox/{pk}/decide", data),
        (f"/inbox/{pk}/claim", {}),
        (f"/inbox/{pk}/release", {}),
    ]


@pytest.fixture
def other_group_reviewer(db: Any) -> Any:
    legal = make_policy(slug="contract-clause", group=_group("legal"), threshold=None)
    user = UserFactory.create(username="lena", email="lena@example.com")
    MembershipFactory.create(group=legal.stages.get().group, user=user)
    return user


def _group(slug: str) -> Any:
    from tests.factories import GroupFactory

    return GroupFactory.create(slug=slug)


@pytest.fixture
def strangers(outsider: Any, other_group_reviewer: Any, requester: Any) -> dict[str, Any]:
    return {"outsider": outsider, "other group": other_group_reviewer, "requester": requester}


def snapshot(approval: ApprovalRequest) -> tuple[Any, ...]:
    approval.refresh_from_db()
    return (
        approval.status,
        approval.assignee_id,
        approval.updated_at,
        Decision.objects.count(),
        AuditEntry.objects.count(),
    )


@pytest.fixture
def target(submit: Callable[..., ApprovalRequest], reviewer: Any) -> ApprovalRequest:
    # requested_by is rita's email: the requester in the cast.
    return submit(title="Secret refund for Initech", requested_by="rita@example.com")


def test_anonymous_visitors_are_sent_to_the_login_page_everywhere(
    client: Client, target: ApprovalRequest
) -> None:
    before = snapshot(target)
    no_headers: dict[str, str] = {}
    gets = [(url, no_headers) for url in LIST_URLS]
    gets += [(url, no_headers) for url, _ in object_gets(target.pk)]
    gets += [("/inbox/", hx(target="queue")), ("/inbox/", hx(target="views"))]
    for url, headers in gets:
        response = client.get(url, headers=headers)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/login/?next="), url
    for url, data in object_posts(target.pk):
        response = client.post(url, data)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], url
    assert snapshot(target) == before


@pytest.mark.parametrize("who", ["outsider", "other group", "requester"])
def test_a_stranger_gets_404_on_the_request_and_sees_no_trace_of_it_in_lists(
    client: Client, target: ApprovalRequest, strangers: dict[str, Any], who: str
) -> None:
    client.force_login(strangers[who])
    before = snapshot(target)
    for url, headers in object_gets(target.pk):
        assert client.get(url, headers=headers).status_code == 404, url
    for url, data in object_posts(target.pk):
        assert client.post(url, data).status_code == 404, url
        assert client.post(url, data, headers=hx()).status_code == 404, url
    fragments = [("/inbox/", hx(target="queue")), ("/inbox/", hx(target="views"))]
    for url, headers in [(url, {}) for url in LIST_URLS] + fragments:
        response = client.get(url, headers=headers)
        assert response.status_code == 200, url
        body = response.content.decode()
        assert "Initech" not in body and str(target.pk) not in body, url
    assert snapshot(target) == before


def test_a_missing_and_a_malformed_id_are_the_same_404(alice: Client) -> None:
    for pk in ("01890000-0000-7000-8000-000000000000", "not-a-uuid", "1%27%20OR%201=1"):
        assert alice.get(f"/inbox/{pk}/").status_code == 404
        assert alice.post(f"/inbox/{pk}/decide", {"option": "approve"}).status_code == 404


def test_a_reviewer_who_left_the_group_loses_the_request(
    alice: Client, target: ApprovalRequest, reviewer: Any
) -> None:
    reviewer.memberships.all().delete()
    assert alice.get(f"/inbox/{target.pk}/").status_code == 404
    assert alice.post(f"/inbox/{target.pk}/decide", {"option": "approve"}).status_code == 404


def test_a_request_i_decided_stays_readable_after_it_moves_on(
    alice: Client, target: ApprovalRequest, reviewer: Any
) -> None:
    from approvals.services import approval_decide

    approval_decide(approval=target, reviewer=reviewer, option="reject")
    ApprovalRequest.objects.filter(pk=target.pk).update(assigned_group=None)
    response = alice.get(f"/inbox/{target.pk}/")
    assert response.status_code == 200 and "Initech" in response.content.decode()
    assert alice.post(f"/inbox/{target.pk}/decide", {"option": "approve"}).status_code == 409
