"""The one call the services make for Slack: after the change commits, sync the request's
Slack messages in a Celery task. Without Slack configured it does nothing at all."""

from __future__ import annotations

from approvals.models import ApprovalRequest
from approvals.services.after_commit import enqueue_after_commit
from approvals.slack.client import slack_configured


def slack_after_commit(approval: ApprovalRequest, event: str, tag: str = "") -> None:
    """Enqueue `slack_sync` for the request once the caller's transaction commits.

    `event` is what happened: a notice kind ("assigned", "reminder", "escalated") or "final";
    `tag` tells repeated reminders of one stage apart. A broker outage loses only this sync,
    never the change: the next event of the request syncs all of its messages again.
    """
    if not slack_configured():
        return
    if approval.stage == 0:
        return  # decided by a policy rule at intake: never posted, nothing to update
    enqueue_after_commit("slack_sync", str(approval.pk), event, tag)
