"""What-if on a threshold: a known history replayed against a changed rule gives exact counts;
the page is for managers; Apply makes the change a new policy version through the service."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from approvals.admin.whatif import whatif_replay
from approvals.exceptions import ApprovalError
from approvals.models import ApprovalRequest, DecisionOption, Outcome, Policy, PolicyRule
from approvals.services import approval_decide
from approvals.services.policies import policy_update_rule
from tests.admin.conftest import at
from tests.factories import make_policy

pytestmark = pytest.mark.django_db

URL = "/admin/approvals/what-if/"
UNDER_80 = {"field": "amount", "op": "lt", "value": 80}


@pytest.fixture
def history(
    policy: Policy, submit: Callable[..., ApprovalRequest], reviewer: Any
) -> dict[str, ApprovalRequest]:
    """Refunds under the `amount < 50` rule, and what people did with the rest."""
    policy.editable_fields = ["amount"]
    policy.save()
    DecisionOption.objects.create(
        policy=policy,
        key="approve_edited",
        label="Approve with edits",
        outcome=Outcome.APPROVE,
        may_edit_payload=True,
    )

    def human(amount: float, option: str | None, **kwargs: Any) -> ApprovalRequest:
        approval = submit(payload={"amount": amount})
        if option:
            approval_decide(
                approval=approval, reviewer=reviewer, option=option, comment="see", **kwargs
            )
        return approval

    with at(timezone.now() - timedelta(days=40)):
        submit(payload={"amount": 65})  # outside a 30-day window
    return {
        "auto_10": submit(payload={"amount": 10}),
        "auto_20": submit(payload={"amount": 20}),
        "approved_60": human(60, "approve"),
        "rejected_70": human(70, "reject"),
        "changes_75": human(75, "request_changes"),
        "edited_79": human(79, "approve_edited", payload_edits={"amount": 40}),
        "pending_78": human(78, None),
        "approved_85": human(85, "approve"),
    }


def _rule(policy: Policy) -> PolicyRule:
    return policy.rules.get()


def test_raising_the_threshold_counts_what_people_did_with_the_newly_automatic(
    policy: Policy, history: dict[str, ApprovalRequest]
) -> None:
    result = whatif_replay(
        policy=policy, rule=_rule(policy), condition=UNDER_80, action="approve", days=30
    )
    assert result.replayed == 8
    assert (result.auto_before, result.auto_after, result.more_auto) == (2, 7, 5)
    assert result.newly_auto == 5
    assert result.human_approved == 1
    assert result.human_rejected == 1
    assert result.human_changes_requested == 1
    assert result.human_edited == 1
    assert result.undecided == 1
    assert result.overruled == 3  # rejected, changes requested, edited
    assert (result.newly_human, result.auto_flipped) == (0, 0)
    assert {e["id"] for e in result.examples} == {
        history[k].pk for k in ("rejected_70", "changes_75", "edited_79")
    }


def test_a_longer_window_replays_older_requests_too(
    policy: Policy, history: dict[str, ApprovalRequest]
) -> None:
    result = whatif_replay(
        policy=policy, rule=_rule(policy), condition=UNDER_80, action="approve", days=60
    )
    assert result.replayed == 9
    assert result.newly_auto == 6 and result.undecided == 2  # the old 65 is still open


def test_a_stricter_rule_sends_auto_decisions_to_people(
    policy: Policy, history: dict[str, ApprovalRequest]
) -> None:
    stricter = {"field": "amount", "op": "lt", "value": 15}
    result = whatif_replay(
        policy=policy, rule=_rule(policy), condition=stricter, action="approve", days=30
    )
    assert (result.auto_before, result.auto_after, result.newly_human) == (2, 1, 1)
    flipped = whatif_replay(
        policy=policy, rule=_rule(policy), condition=stricter, action="reject", days=30
    )
    assert (flipped.auto_after, flipped.auto_flipped, flipped.newly_human) == (1, 1, 1)


# --- the page -------------------------------------------------------------------------------


def _query(policy: Policy, **overrides: Any) -> dict[str, Any]:
    data = {
        "policy": policy.pk,
        "rule": _rule(policy).pk,
        "condition": json.dumps(UNDER_80),
        "action": "approve",
        "days": 30,
    }
    data.update(overrides)
    return data


def test_anonymous_users_and_reviewers_go_to_the_admin_login(client: Client, reviewer: Any) -> None:
    assert client.get(URL)["Location"].startswith("/admin/login/")
    client.force_login(reviewer)
    assert client.get(URL)["Location"].startswith("/admin/login/")


def test_an_outsider_goes_to_the_admin_login(client: Client, outsider: Any) -> None:
    client.force_login(outsider)
    assert client.get(URL).status_code == 302


def test_staff_without_the_policy_permission_get_403(client: Client, bare_staff: Any) -> None:
    client.force_login(bare_staff)
    assert client.get(URL).status_code == 403


def test_a_manager_replays_a_change_on_the_page(
    manager_client: Client, policy: Policy, history: dict[str, ApprovalRequest]
) -> None:
    page = manager_client.get(URL, {"policy": policy.pk})
    assert page.status_code == 200
    assert b"Small Amounts" in page.content or b"small amounts" in page.content
    response = manager_client.get(URL, _query(policy))
    assert response.status_code == 200
    html = response.content.decode()
    assert "<strong>5 more</strong> would have been decided automatically" in html
    assert "(2 → 7 of 8)" in html
    assert "Apply as version 2" in html
    assert html.count("<svg") >= 2


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"condition": "{not json"}, "Enter a valid JSON"),
        (
            {"condition": json.dumps({"field": "amount", "op": "zz", "value": 1})},
            "Invalid condition",
        ),
        ({"days": "0"}, "greater than or equal to 1"),
        ({"days": "9999"}, "less than or equal to 365"),
        ({"action": "explode"}, "Select a valid choice"),
        ({"rule": "999999"}, "Select a valid choice"),
    ],
)
def test_bad_input_is_a_400_that_says_why(
    manager_client: Client,
    policy: Policy,
    history: dict[str, ApprovalRequest],
    overrides: dict[str, Any],
    message: str,
) -> None:
    response = manager_client.get(URL, _query(policy, **overrides))
    assert response.status_code == 400
    assert message in response.content.decode()


def test_an_unknown_policy_is_a_400(manager_client: Client) -> None:
    assert manager_client.get(URL, {"policy": "424242"}).status_code == 400
    assert manager_client.get(URL, {"policy": "x"}).status_code == 400


def test_apply_makes_a_new_policy_version(
    manager_client: Client, policy: Policy, history: dict[str, ApprovalRequest]
) -> None:
    response = manager_client.post(URL, _query(policy))
    assert response.status_code == 302
    assert response["Location"] == f"/admin/approvals/policy/{policy.pk}/change/"
    policy.refresh_from_db()
    assert policy.version == 2
    assert _rule(policy).condition == UNDER_80
    assert history["approved_60"].policy_version == 1  # routed requests keep their version


def test_apply_needs_the_change_permission(
    client: Client,
    staff_viewer: Any,
    policy: Policy,
    history: dict[str, ApprovalRequest],
    sign_in: Callable[..., Client],
) -> None:
    sign_in(client, staff_viewer)
    assert client.get(URL, _query(policy)).status_code == 200
    assert client.post(URL, _query(policy)).status_code == 403
    policy.refresh_from_db()
    assert policy.version == 1


def test_a_bad_apply_changes_nothing(
    manager_client: Client, policy: Policy, history: dict[str, ApprovalRequest]
) -> None:
    response = manager_client.post(URL, _query(policy, condition='{"field": ""}'))
    assert response.status_code == 400
    policy.refresh_from_db()
    assert policy.version == 1
    assert manager_client.post(URL, {}).status_code == 400


# --- the service ----------------------------------------------------------------------------


def test_policy_update_rule_bumps_the_version_once_and_only_on_change(policy: Policy) -> None:
    rule = _rule(policy)
    policy = policy_update_rule(policy=policy, rule=rule, condition=UNDER_80, actor="maria")
    assert policy.version == 2
    policy = policy_update_rule(policy=policy, rule=rule, condition=UNDER_80, actor="maria")
    assert policy.version == 2
    assert policy.history.count() >= 2


def test_policy_update_rule_refuses_bad_input(policy: Policy, support: Any) -> None:
    rule = _rule(policy)
    with pytest.raises(ApprovalError, match="Invalid condition"):
        policy_update_rule(policy=policy, rule=rule, condition={"op": "lt"})
    with pytest.raises(ApprovalError, match="Unknown action"):
        policy_update_rule(policy=policy, rule=rule, condition=UNDER_80, action="explode")
    other = make_policy(slug="other", group=support)
    with pytest.raises(ApprovalError, match="not one of this policy's rules"):
        policy_update_rule(policy=other, rule=rule, condition=UNDER_80)
    policy.refresh_from_db()
    assert policy.version == 1
