"""Sending and updating Slack messages: what the Celery tasks call (approvals.tasks.slack_*).

- `slack_sync(approval_id, event, tag)` runs after every change that concerns Slack (a request
  entered a queue, was assigned, reminded, escalated, moved on, or became final). It writes the
  rows the request now needs — one per message, under a unique key, so a second run writes
  nothing — marks sent messages whose content is out of date, and delivers what is due.
- `slack_deliver(message_id)` does one row's work: post it, or update it to the request's
  current state. A row is claimed with a lease first, so two workers never send it twice.
- `slack_deliver_due()` (beat) picks up rows whose retry has come due.

Slack failures never reach the services: they are recorded on the row (`last_error`,
`attempts`) and retried after the row's back-off or Slack's Retry-After.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from slack_sdk.errors import SlackApiError

from approvals.models import ApprovalRequest, DecisionOption, ReviewerProfile, SlackMessage
from approvals.slack import blocks
from approvals.slack.client import classify, slack_client, slack_configured

log = logging.getLogger(__name__)

Kind = SlackMessage.Kind
State = SlackMessage.State
Status = ApprovalRequest.Status
PENDING_SHOWN = "pending"
REPLY_SHOWN = "reply"
LOOKUP_BATCH = 50  # members looked up per sync at most; the rest on the next one
# The kinds of notice the services send (Notification.Kind) that get a thread reply.
EVENT_REPLIES = {
    "reminder": ":alarm_clock: Reminder: this request is still waiting for a decision.",
    "escalated": ":rotating_light: Escalated: this request is past its due time.",
}


# --- who is who --------------------------------------------------------------------------------


def _remembered(profile: ReviewerProfile | None, email: str) -> bool:
    return (
        profile is not None
        and profile.slack_looked_up_at is not None
        and profile.slack_lookup_email == email
    )


def slack_user_id(user: Any, *, client: Any = None) -> str:
    """The reviewer's Slack user id, looked up by email once and remembered on their profile.

    A changed email is looked up again. A reviewer Slack does not know is remembered as such
    (empty id) until their email changes. When Slack cannot answer (rate limit, outage) the
    client's error is raised and nothing is remembered, so the caller retries later.
    """
    email = (user.email or "").strip().lower()
    if not email:
        return ""
    profile, _ = ReviewerProfile.objects.get_or_create(user=user)
    if _remembered(profile, email):
        return profile.slack_user_id
    client = client or slack_client()
    try:
        found = client.users_lookupByEmail(email=email)
        user_id = str(found["user"]["id"])
    except SlackApiError as exc:
        if exc.response.get("error") != "users_not_found":
            raise  # Slack is busy or misconfigured: nothing learned, try again later
        user_id = ""  # not in this workspace
    ReviewerProfile.objects.filter(pk=profile.pk).update(
        slack_user_id=user_id, slack_lookup_email=email, slack_looked_up_at=timezone.now()
    )
    return user_id


def reviewer_for_slack_user(slack_id: str) -> Any:
    """The active user a Slack user id was remembered for, or None."""
    if not slack_id:
        return None
    return (
        get_user_model()
        .objects.filter(
            is_active=True,
            reviewer_profile__slack_user_id=slack_id,
        )
        .first()
    )


def _look_up_members(approval: ApprovalRequest, client: Any) -> None:
    """Remember the Slack ids of the group's members, so their clicks in the channel count."""
    if approval.assigned_group_id is None:
        return
    members = (
        get_user_model()
        .objects.filter(is_active=True, memberships__group_id=approval.assigned_group_id)
        .exclude(email="")
        .select_related("reviewer_profile")
        .order_by("pk")
    )
    looked_up = 0
    for member in members:
        if _remembered(getattr(member, "reviewer_profile", None), member.email.strip().lower()):
            continue
        try:
            slack_user_id(member, client=client)
        except Exception:
            return  # Slack is busy: the next sync tries again
        looked_up += 1
        if looked_up >= LOOKUP_BATCH:
            return


# --- which messages a request needs --------------------------------------------------------------


def _ensure(**fields: Any) -> SlackMessage | None:
    """Create the row under its unique key; None if it exists already."""
    try:
        with transaction.atomic():
            return SlackMessage.objects.create(next_attempt_at=timezone.now(), **fields)
    except IntegrityError:
        return None


def _posts(approval: ApprovalRequest) -> None:
    """The group channel's message and the assignee's direct message of the current stage.

    The assignee's Slack id is resolved when the message is sent (a lookup may need a retry);
    a reviewer Slack is known not to have, or who turned Slack off, gets no direct message.
    """
    group = approval.assigned_group
    stage = approval.stage
    if group is not None and group.slack_channel:
        _ensure(
            key=f"channel:{approval.pk}:{stage}:{group.slack_channel}",
            approval=approval,
            kind=Kind.CHANNEL,
            stage=stage,
            target=group.slack_channel,
        )
    assignee = approval.assignee
    if assignee is None or not assignee.is_active or not assignee.email:
        return
    profile = ReviewerProfile.objects.filter(user=assignee).first()
    if profile is not None and not profile.slack_enabled:
        return
    email = assignee.email.strip().lower()
    known = _remembered(profile, email)
    if known and not profile.slack_user_id:  # type: ignore[union-attr]
        return
    _ensure(
        key=f"direct:{approval.pk}:{stage}:{assignee.pk}",
        approval=approval,
        kind=Kind.DIRECT,
        stage=stage,
        recipient=assignee,
        target=profile.slack_user_id if known else "",  # type: ignore[union-attr]
    )


def _replies(approval: ApprovalRequest, event: str, tag: str) -> None:
    """A reminder or escalation goes in the thread of every message already about the request."""
    text = EVENT_REPLIES[event]
    if event == "escalated" and approval.assigned_group is not None:
        text += f" It is now with {blocks.escape(approval.assigned_group.name)}."
    parents = SlackMessage.objects.filter(
        approval=approval, kind__in=[Kind.CHANNEL, Kind.DIRECT]
    ).exclude(state__in=[State.SKIPPED, State.FAILED])
    for parent in parents:
        _ensure(
            key=f"reply:{parent.pk}:{event}:{tag}"[:200],
            approval=approval,
            kind=Kind.REPLY,
            stage=approval.stage,
            parent=parent,
            target=parent.target,
            text=text,
            shown=REPLY_SHOWN,
        )


def wanted_shown(approval: ApprovalRequest, message: SlackMessage) -> str:
    """What a message should show now: its buttons, "moved on", or the final status."""
    if message.kind == Kind.REPLY:
        return REPLY_SHOWN
    if approval.status != Status.PENDING:
        return str(approval.status)
    if approval.stage != message.stage:
        return f"stage:{approval.stage}"
    return PENDING_SHOWN


def _mark_stale(approval: ApprovalRequest) -> None:
    """Sent messages that show an out-of-date state get work to do (a chat.update)."""
    now = timezone.now()
    # A row a worker holds right now is marked too: its worker may have read the request
    # before this change, and clears the mark only if nobody set a new one (see `deliver`).
    sent = (
        SlackMessage.objects.filter(approval=approval, state=State.SENT)
        .filter(Q(next_attempt_at__isnull=True) | Q(leased_until__gt=now))
        .exclude(kind=Kind.REPLY)
    )
    for message in sent:
        if message.shown != wanted_shown(approval, message):
            SlackMessage.objects.filter(pk=message.pk).update(next_attempt_at=now)


def sync(*, approval_id: str, event: str = "", tag: str = "") -> int:
    """Bring a request's Slack messages up to date; returns how many rows were delivered.

    Steps: stop if Slack is off or the request is gone; for a reminder or escalation, add a
    thread reply under each message so far; for a pending request, add the current stage's
    channel and direct messages (and learn the group members' Slack ids); mark sent messages
    that show an old state; deliver every row of the request whose work is due.
    """
    if not slack_configured():
        return 0
    approval = (
        ApprovalRequest.objects.select_related("policy", "assigned_group", "assignee")
        .filter(pk=approval_id)
        .first()
    )
    if approval is None:
        return 0
    client = slack_client()
    if event == "escalated" and not tag:
        tag = str(approval.escalation_count)  # each escalation gets its own thread reply
    if approval.status == Status.PENDING:
        if event in EVENT_REPLIES:
            _replies(approval, event, tag)
        _posts(approval)
        _look_up_members(approval, client)
    _mark_stale(approval)
    due = SlackMessage.objects.filter(
        approval=approval, next_attempt_at__lte=timezone.now()
    ).values_list("pk", flat=True)
    return sum(deliver(message_id=pk, client=client) for pk in list(due))


# --- one row's work --------------------------------------------------------------------------------


def _claim(message_id: int, now: datetime) -> bool:
    lease = timedelta(seconds=settings.SLACK_LEASE_SECONDS)
    return (
        SlackMessage.objects.filter(pk=message_id, next_attempt_at__lte=now)
        .filter(Q(leased_until__isnull=True) | Q(leased_until__lt=now))
        .update(leased_until=now + lease)
        == 1
    )


def _save(message: SlackMessage, **fields: Any) -> None:
    SlackMessage.objects.filter(pk=message.pk).update(**fields)
    for name, value in fields.items():
        setattr(message, name, value)


def _release(message: SlackMessage, *, claimed: datetime | None, next_at: datetime | None) -> None:
    """Give the lease back; set the next attempt unless a sync marked new work meanwhile."""
    SlackMessage.objects.filter(pk=message.pk, next_attempt_at=claimed).update(
        next_attempt_at=next_at
    )
    SlackMessage.objects.filter(pk=message.pk).update(leased_until=None)


def _failed(message: SlackMessage, exc: Exception) -> None:
    failure = classify(exc)
    attempts = message.attempts + 1
    schedule = settings.SLACK_RETRY_SCHEDULE
    if failure.retryable and attempts <= len(schedule):
        delay = max(schedule[attempts - 1], failure.retry_after)
        next_at: datetime | None = timezone.now() + timedelta(seconds=delay)
        state = message.state
    else:
        next_at, state = None, State.FAILED
    log.warning("Slack %s %s failed (attempt %s): %s", message.kind, message.pk, attempts, failure)
    SlackMessage.objects.filter(pk=message.pk).update(
        attempts=attempts,
        last_error=failure.error,
        next_attempt_at=next_at,
        leased_until=None,
        state=state,
    )


def _options(approval: ApprovalRequest) -> list[DecisionOption]:
    return list(
        DecisionOption.objects.filter(policy_id=approval.policy_id).order_by("position", "id")
    )


def _content(approval: ApprovalRequest, message: SlackMessage, shown: str) -> list[dict[str, Any]]:
    if shown == PENDING_SHOWN:
        return blocks.pending_blocks(approval, _options(approval))
    if shown.startswith("stage:"):
        return blocks.moved_on_blocks(approval, message.stage)
    return blocks.decided_blocks(approval)


# What one step leaves: ("again", None) to look once more, ("done", None), ("wait", when).
Step = tuple[str, datetime | None]


def _posted(message: SlackMessage, sent: Any, **fields: Any) -> None:
    """Record what Slack answered to a chat.postMessage: where the message is, and its ts."""
    _save(
        message,
        state=State.SENT,
        ts=sent["ts"],
        channel=sent["channel"],
        sent_at=timezone.now(),
        last_error="",
        **fields,
    )


def _post_reply(message: SlackMessage, approval: ApprovalRequest, client: Any) -> Step:
    parent = message.parent
    if approval.status != Status.PENDING or parent is None or parent.state in FINISHED:
        _save(message, state=State.SKIPPED)
        return "done", None
    if not parent.ts:
        # The thread starts when its message is sent; try again shortly.
        return "wait", timezone.now() + timedelta(seconds=5)
    sent = client.chat_postMessage(
        channel=parent.channel or parent.target, thread_ts=parent.ts, text=message.text
    )
    _posted(message, sent)
    return "done", None


def _post(message: SlackMessage, approval: ApprovalRequest, client: Any) -> Step:
    shown = wanted_shown(approval, message)
    if shown != PENDING_SHOWN:
        _save(message, state=State.SKIPPED)  # decided before Slack ever saw it
        return "done", None
    if message.kind == Kind.DIRECT and not message.target:
        target = slack_user_id(message.recipient, client=client) if message.recipient else ""
        if not target:
            _save(message, state=State.SKIPPED, last_error="users_not_found")
            return "done", None
        _save(message, target=target)
    sent = client.chat_postMessage(
        channel=message.target,
        text=blocks.fallback_text(approval),
        blocks=_content(approval, message, shown),
        unfurl_links=False,
        unfurl_media=False,
    )
    _posted(message, sent, shown=shown)
    return "again", None  # the request may have been decided while it was being sent


def _update(message: SlackMessage, approval: ApprovalRequest, client: Any) -> Step:
    shown = wanted_shown(approval, message)
    if shown == message.shown:
        return "done", None
    client.chat_update(
        channel=message.channel,
        ts=message.ts,
        text=blocks.fallback_text(approval),
        blocks=_content(approval, message, shown),
    )
    _save(message, shown=shown, updated_at=timezone.now(), last_error="")
    return "again", None


FINISHED = (State.SKIPPED, State.FAILED)


def _step(message: SlackMessage, approval: ApprovalRequest, client: Any) -> Step:
    """One call to Slack at most for this row."""
    if message.state == State.PENDING:
        if message.kind == Kind.REPLY:
            return _post_reply(message, approval, client)
        return _post(message, approval, client)
    if message.state == State.SENT and message.kind != Kind.REPLY:
        return _update(message, approval, client)
    return "done", None


def deliver(*, message_id: int, client: Any = None, now: datetime | None = None) -> int:
    """Post or update one message if its work is due and no other worker holds it; 1 if it did.

    Steps: claim the row with a lease (a conditional UPDATE); load it with its request; post it
    (a request already decided is not posted at all) or update it to the request's current
    state; look again after each call, since a decision may have landed meanwhile. A failure
    is recorded and retried after the back-off (or Slack's Retry-After); the lease is given
    back either way.
    """
    if not slack_configured():
        return 0
    if not _claim(message_id, now or timezone.now()):
        return 0
    message = SlackMessage.objects.select_related("parent", "recipient").get(pk=message_id)
    claimed = message.next_attempt_at
    client = client or slack_client()
    outcome: Step = ("done", None)
    try:
        for _ in range(3):
            approval = ApprovalRequest.objects.select_related(
                "policy", "assigned_group", "assignee"
            ).get(pk=message.approval_id)
            outcome = _step(message, approval, client)
            if outcome[0] != "again":
                break
    except Exception as exc:
        _failed(message, exc)
        return 0
    _release(message, claimed=claimed, next_at=outcome[1])
    return 1


def deliver_due(*, now: datetime | None = None, limit: int = 200) -> int:
    """Every row whose work or retry has come due (beat); returns how many calls succeeded."""
    if not slack_configured():
        return 0
    now = now or timezone.now()
    due = list(
        SlackMessage.objects.filter(next_attempt_at__lte=now)
        .filter(Q(leased_until__isnull=True) | Q(leased_until__lt=now))
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    if not due:
        return 0
    client = slack_client()
    return sum(deliver(message_id=pk, client=client, now=now) for pk in due)
