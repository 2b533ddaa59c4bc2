"""Email to reviewers: "a request waits on you", reminders, escalations, the daily digest.

Sent by Celery tasks after the change commits: the services queue a notice in their
transaction (approvals/services/notices.py) and the `send_notices` task takes the queue in
batches (`send_queued`); `send_daily_digests` and the batches run on beat. Every message is
claimed in `Notification` under a unique key BEFORE it is sent, so running a task twice, or on
two workers at once, sends nothing twice. A send that fails keeps its row with the error; the
next run of the same notice claims it again and retries. A worker killed between claim and
send leaves the row claimed and unsent: that message is lost rather than risked twice (at most once).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import connection, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone

from approvals.formats import absolute_url, visible_fields
from approvals.foureyes import is_requester, requester_of, verified_email_sql
from approvals.ids import uuid_param
from approvals.inbox.deeplinks import deeplink_url, issue_tokens, make_tokens
from approvals.models import (
    ApprovalRequest,
    Decision,
    DecisionOption,
    Membership,
    Notification,
    NotifyMode,
    Policy,
    QueuedNotice,
    ReviewerGroup,
    ReviewerProfile,
)
from approvals.rows import JoinedRead, ModelColumns
from approvals.services.approvals import first_vote_ends_stage
from approvals.services.policies import policy_specs

logger = logging.getLogger(__name__)

Kind = Notification.Kind
SUBJECTS: dict[str, str] = {
    Kind.ASSIGNED: "Decision needed: {title}",
    Kind.REMINDER: "Reminder: {title}",
    Kind.ESCALATED: "Escalated to you: {title}",
}
DIGEST_LIMIT = 20
# What `notify` reads of a request: the stale-notice checks, the recipients and four-eyes
# (approvals/foureyes.py `requester_of`), the email's text and fields (templates/emails/approval.*,
# `visible_fields`) and the policy's cached specs (its id, version and created_at). Anything else
# read from the request, its policy or its group would cost a query per notice.
NOTICE_FIELDS: dict[Any, tuple[str, ...]] = {
    ApprovalRequest: (
        "id",
        "policy_id",
        "title",
        "summary",
        "payload",
        "requested_by",
        "requester_id",
        "requester_email",
        "status",
        "stage_plan",
        "stage",
        "assigned_group_id",
        "assignee_id",
        "due_at",
        "escalation_count",
    ),
    Policy: ("id", "name", "summary", "version", "payload_schema", "visible_fields", "created_at"),
    ReviewerGroup: ("id", "name"),
}


# The request with its policy and group, by primary key: fixed SQL built once
# (approvals/rows.py; the ORM spent more CPU building this than the database answering it).
_NOTICE_READ = JoinedRead(
    ApprovalRequest,
    [
        *NOTICE_FIELDS[ApprovalRequest],
        *(f"policy__{name}" for name in NOTICE_FIELDS[Policy]),
        *(f"assigned_group__{name}" for name in NOTICE_FIELDS[ReviewerGroup]),
    ],
)


def _notice_request(approval_id: str) -> ApprovalRequest | None:
    """The request as `notify` reads it (NOTICE_FIELDS), its policy and group attached."""
    return _NOTICE_READ.one("r.id = %s", [uuid_param(approval_id)])


_NOTIFICATIONS = Notification._meta.db_table
# The claim: a new row under the message's unique key, or nothing when the key exists (sent,
# being sent, or failed: see `_claim`). No savepoint for an IntegrityError to roll back to.
CLAIM_SQL = (
    f'INSERT INTO {_NOTIFICATIONS} ("key", kind, approval_id, recipient_id, stage, created_at,'  # noqa: S608
    " error, batch) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
    ' ON CONFLICT ("key") DO NOTHING RETURNING id'
)
SENT_SQL = f"UPDATE {_NOTIFICATIONS} SET sent_at = %s, error = %s WHERE id = %s"  # noqa: S608
FAILED_SQL = f"UPDATE {_NOTIFICATIONS} SET error = %s WHERE id = %s"  # noqa: S608


def _claim(
    *, key: str, kind: str, recipient: Any, approval: ApprovalRequest | None = None, stage: int = 0
) -> Notification | None:
    """The row for this message if this call may send it; None if it was sent or is being sent.

    The caller commits it before sending (a transaction of its own, or autocommit)."""
    created_at = timezone.now()
    approval_id = None
    if approval is not None:
        approval_id = uuid_param(approval.pk)
    params = [
        key,
        kind,
        approval_id,
        recipient.pk,
        stage,
        connection.ops.adapt_datetimefield_value(created_at),
        "",
        "",
    ]
    with connection.cursor() as cursor:
        cursor.execute(CLAIM_SQL, params)
        row = cursor.fetchone()
    if row is not None:
        notification = Notification(
            pk=row[0],
            key=key,
            kind=kind,
            approval=approval,
            recipient=recipient,
            stage=stage,
            created_at=created_at,
        )
        notification._state.adding, notification._state.db = False, connection.alias
        return notification
    # An earlier attempt failed (error recorded, never sent): take it back, once.
    failed = Notification.objects.filter(key=key, sent_at__isnull=True).exclude(error="").first()
    if failed is None:
        return None
    taken = Notification.objects.filter(
        pk=failed.pk, sent_at__isnull=True, error=failed.error
    ).update(error="")
    return failed if taken == 1 else None


def _send(notification: Notification, message: EmailMultiAlternatives) -> bool:
    try:
        message.send()
    except Exception as exc:  # SMTP down, refused recipient: keep the error, allow a retry
        logger.warning("email %s failed: %s", notification.key, exc)
        error = f"{type(exc).__name__}: {exc}"[:2000] or "failed"
        with connection.cursor() as cursor:
            cursor.execute(FAILED_SQL, [error, notification.pk])
        return False
    sent_at = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(SENT_SQL, [sent_at, "", notification.pk])
    return True


_USER = get_user_model()
# Every column of the user and of their profile (approvals/rows.py): nothing read later may
# cost a query.
_USER_COLUMNS = ModelColumns(_USER, "u")
_PROFILE_COLUMNS = ModelColumns(ReviewerProfile, "pr")


def _recipients_sql(*, assignee: bool, votes: bool, emails: int) -> str:
    """One of the fixed variants of the recipients' query (RECIPIENTS_SQL). Parameters, in
    order: the requester's emails (`emails` of them), the assignee or the group, the request
    (`votes`)."""
    user_table, user_id = _USER._meta.db_table, _USER._meta.pk.column  # type: ignore[union-attr]
    verified = "NULL"
    if emails:
        verified = verified_email_sql(f"u.{user_id}", ", ".join(["%s"] * emails))
    sql = (
        f"SELECT {_USER_COLUMNS.sql}, {_PROFILE_COLUMNS.sql}, {verified}"  # noqa: S608
        f" FROM {user_table} u"
    )
    if not assignee:
        sql += (
            f" INNER JOIN {Membership._meta.db_table} m ON m.user_id = u.{user_id}"
            " AND m.group_id = %s AND NOT m.away"
        )
    sql += (
        f" LEFT OUTER JOIN {ReviewerProfile._meta.db_table} pr ON pr.user_id = u.{user_id}"
        f" WHERE u.is_active AND u.email <> ''"
    )
    if assignee:
        sql += f" AND u.{user_id} = %s"
    if votes:
        # No one who voted on this request already (`first_vote_ends_stage` spares it).
        sql += (
            f" AND u.{user_id} NOT IN (SELECT d.decided_by_id FROM {Decision._meta.db_table} d"  # noqa: S608
            " WHERE d.approval_id = %s AND d.decided_by_id IS NOT NULL)"
        )
    return sql + f" ORDER BY u.{user_id}"


# A requester has at most two emails (`requester_of`: requester_email and requested_by).
RECIPIENTS_SQL = {
    (assignee, votes, emails): _recipients_sql(assignee=assignee, votes=votes, emails=emails)
    for assignee in (True, False)
    for votes in (True, False)
    for emails in (0, 1, 2)
}


def _recipients(approval: ApprovalRequest) -> list[Any]:
    """The assignee; for unassigned (pull) work every present member of the group.

    One query (users with their profiles), fixed SQL (RECIPIENTS_SQL). Four-eyes
    (docs/security.md): the requester is not asked to decide their own request; the request's
    identity is compared in Python as `approval_decide` does (`is_requester`), and only a
    verified address needs SQL: an EXISTS in this same query, and only when the requester has
    an email.
    """
    if approval.assignee_id is not None:
        target = approval.assignee_id
    elif approval.assigned_group_id is not None:
        target = approval.assigned_group_id
    else:
        return []
    identity = requester_of(approval)
    votes = not first_vote_ends_stage(approval)  # else no one can have voted yet
    params: list[Any] = [*identity.emails, target]
    if votes:
        params.append(uuid_param(approval.pk))
    sql = RECIPIENTS_SQL[(approval.assignee_id is not None, votes, len(identity.emails))]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    users = len(_USER_COLUMNS.attnames)
    profile_end = users + len(_PROFILE_COLUMNS.attnames)
    profile_cache = ReviewerProfile._meta.get_field("user")
    now = timezone.now()
    present = []
    for row in rows:
        user = _USER_COLUMNS.build(row[:users])
        profile = _PROFILE_COLUMNS.build(row[users:profile_end])
        if profile is not None:
            profile_cache.set_cached_value(profile, user)
        profile_cache.remote_field.set_cached_value(user, profile)
        if identity and is_requester(approval, user, verified_match=bool(row[profile_end])):
            continue
        if approval.assignee_id is None and profile is not None and profile.is_out_of_office(now):
            continue
        present.append(user)
    return present


def quoted(*blocks: str, indent: str = "") -> str:
    """Caller text for a plain-text email: every line prefixed "> " (after `indent`).

    A request's title, summary and payload come from the caller. Quoted, and placed after our
    own links (which name SITE_URL), a line such as "Approve: https://evil.example/" in them
    cannot pass for one of Checkpoint's (docs/security.md "Secrets at rest and inputs").
    splitlines() also breaks on CR, form feed, U+2028 and the rest, which a mail reader may
    show as a new line: each piece gets its own prefix.
    """
    lines: list[str] = []
    for block in blocks:
        lines.extend(block.splitlines() or [""])
    return "\n".join(f"{indent}> {line}".rstrip() for line in lines)


def _quoted_request(approval: ApprovalRequest, fields: list[tuple[str, Any]]) -> str:
    blocks = [approval.title]
    if approval.summary:
        blocks += ["", approval.summary]
    if fields:
        blocks += ["", *(f"{name}: {value}" for name, value in fields)]
    return quoted(*blocks)


def approval_message(
    *,
    approval: ApprovalRequest,
    reviewer: Any,
    kind: str,
    options: list[DecisionOption],
    tokens: dict[str, str] | None = None,
) -> EmailMultiAlternatives:
    """The HTML + text email for one reviewer, a deep-link button per decision option.

    `tokens` (option key -> token) when the caller minted the links already; else minted here.
    """
    if tokens is None:
        tokens = make_tokens(
            reviewer=reviewer, approval=approval, option_keys=[option.key for option in options]
        )
    buttons = [
        {
            "label": option.label,
            "outcome": option.outcome,
            "url": deeplink_url(tokens[option.key]),
        }
        for option in options
    ]
    fields = visible_fields(approval)
    context = {
        "approval": approval,
        "reviewer": reviewer,
        "kind": kind,
        "fields": fields,
        "quoted": _quoted_request(approval, fields),
        "buttons": buttons,
        "inbox_url": absolute_url("inbox_detail", approval.pk),
        "site_url": settings.SITE_URL,
        "max_age_hours": settings.DEEP_LINK_HOURS,
    }
    subject = SUBJECTS.get(kind, SUBJECTS[Kind.ASSIGNED]).format(title=approval.title)
    message = EmailMultiAlternatives(
        subject=" ".join(subject.split())[:200],
        body=render_to_string("emails/approval.txt", context),
        to=[reviewer.email],
        headers={"Auto-Submitted": "auto-generated"},
    )
    message.attach_alternative(render_to_string("emails/approval.html", context), "text/html")
    return message


def delivery(reviewer: Any, *, kind: str, approval: ApprovalRequest) -> tuple[str, str]:
    """How this notice reaches `reviewer`: (mode, batch name) from their Settings choices.

    New work in a group's queue follows `notify_queue` and batches per group; work assigned to
    them `notify_assigned`; reminders and escalations `notify_reminders` (both batch as
    "personal"). NOTIFY_BATCH_MINUTES = 0 turns batching into sending right away.
    """
    profile = getattr(reviewer, "reviewer_profile", None) or ReviewerProfile()
    pull = approval.assignee_id is None
    if kind == Kind.ASSIGNED and pull:
        mode, batch = profile.notify_queue, f"group:{approval.assigned_group_id}"
    elif kind == Kind.ASSIGNED:
        mode, batch = profile.notify_assigned, "personal"
    else:
        mode, batch = profile.notify_reminders, "personal"
    if mode == NotifyMode.BATCHED and settings.NOTIFY_BATCH_MINUTES <= 0:
        mode = NotifyMode.IMMEDIATE
    return mode, batch


def _batch_window() -> timedelta:
    return timedelta(minutes=settings.NOTIFY_BATCH_MINUTES)


def _schedule_batch(user_id: int, batch: str) -> None:
    from approvals.tasks import send_notification_batch  # the task module imports this one

    send_notification_batch.apply_async(
        (user_id, batch), countdown=_batch_window().total_seconds() + 1
    )


def notify(
    *, approval_id: str, kind: str, stage: int, tag: str = "", escalations: int | None = None
) -> int:
    """Email the people `approval_id` waits on at `stage`; returns how many emails went out.

    Steps: load the request; stop if it is no longer pending, has left `stage` or (given
    `escalations`, its escalation count when the notice was queued) escalated since: a stale
    notice, which the later change's own notice replaces; pick the recipients; for each, claim
    the key `{kind}:{approval}:{stage}:{user}[:{tag}]` and send. `tag` tells repeated notices of one
    stage apart (a reminder point; an escalation defaults to its count).
    """
    approval = _notice_request(approval_id)
    if approval is None:
        return 0
    if approval.status != ApprovalRequest.Status.PENDING:
        return 0
    if approval.stage != stage:
        return 0
    if escalations is not None and approval.escalation_count != escalations:
        return 0
    if kind == Kind.ESCALATED and not tag:
        tag = str(approval.escalation_count)
    # The policy's options in (position, id) order, from the specs cached per policy version.
    options = list(policy_specs(approval.policy).options.values())
    option_keys = [option.key for option in options]
    recipients = _recipients(approval)
    if not recipients:
        return 0
    sent = 0
    with get_connection() as connection:  # one SMTP session for every recipient
        for reviewer in recipients:
            mode, batch = delivery(reviewer, kind=kind, approval=approval)
            if mode == NotifyMode.OFF:
                continue
            key = f"{kind}:{approval.pk}:{stage}:{reviewer.pk}" + (f":{tag}" if tag else "")
            # The claim and what goes with it (the batch's name, or the email's deep links)
            # commit together, before the email is sent: one transaction, not two.
            tokens = None
            with transaction.atomic():
                notification = _claim(
                    key=key[:200], kind=kind, recipient=reviewer, approval=approval, stage=stage
                )
                if notification is None:
                    continue
                if mode == NotifyMode.BATCHED:
                    Notification.objects.filter(pk=notification.pk).update(batch=batch)
                else:
                    tokens = issue_tokens(
                        reviewer_id=reviewer.pk,
                        approval_id=approval.pk,
                        stage=approval.stage,
                        option_keys=option_keys,
                    )
            if tokens is None:
                _schedule_batch(reviewer.pk, batch)
                continue
            message = approval_message(
                approval=approval, reviewer=reviewer, kind=kind, options=options, tokens=tokens
            )
            message.connection = connection
            sent += _send(notification, message)
    return sent


_QUEUE = QueuedNotice._meta.db_table
# How many queued notices one transaction takes (and deletes) at a time.
QUEUE_BATCH = 100


# Take (delete) the oldest queued notices, skipping rows another worker holds where the
# database can (PostgreSQL); SQLite lets one writer at a time anyway.
_TAKE_SQL = (
    f"DELETE FROM {_QUEUE} WHERE id IN (SELECT id FROM {_QUEUE} ORDER BY id LIMIT %s"  # noqa: S608
    + (" FOR UPDATE SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else "")
    + ") RETURNING id, approval_id, kind, stage, tag, escalation_count"
)


def _take_queued(limit: int) -> list[tuple[Any, str, int, str, int]]:
    """Delete and return up to `limit` of the oldest queued notices, as (approval id, kind,
    stage, tag, escalation count), oldest first. Rows another worker holds are skipped, not
    waited for."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_TAKE_SQL, [limit])
        rows = sorted(cursor.fetchall())
    return [(row[1], row[2], row[3], row[4], row[5]) for row in rows]


def send_queued(*, limit: int = QUEUE_BATCH) -> int:
    """Send every queued notice (`notify` each), `limit` at a time; returns emails sent.

    A batch is deleted from the queue when taken, before its emails go out: a worker killed
    mid-batch loses the rest of that batch's emails rather than risk sending one twice (at most
    once, as every notice; `notify`'s own claims already stop a second send). A notice that
    fails is logged and the others still go out.
    """
    sent = 0
    while batch := _take_queued(limit):
        for approval_id, kind, stage, tag, escalations in batch:
            try:
                sent += notify(
                    approval_id=str(approval_id),
                    kind=kind,
                    stage=stage,
                    tag=tag,
                    escalations=escalations,
                )
            except Exception:
                logger.exception("notice %s of %s (stage %s) not sent", kind, approval_id, stage)
        if len(batch) < limit:
            break
    return sent


BATCH_SUBJECT_HEADS: dict[str, str] = {
    Kind.ASSIGNED: "New",
    Kind.REMINDER: "Reminder",
    Kind.ESCALATED: "Escalated",
}


def _take_due_batch(user_id: int, batch: str, now: Any) -> list[Notification]:
    """Claim every notice waiting in this batch if its oldest has waited a whole window.

    Claimed = marked sent under a row lock, before the email goes out (at most once, like every
    other notice); a second flush of the same batch finds nothing.
    """
    with transaction.atomic():
        waiting = list(
            Notification.objects.select_for_update(skip_locked=True)
            .filter(recipient_id=user_id, batch=batch, sent_at__isnull=True, error="")
            .order_by("created_at", "pk")
        )
        if not waiting or waiting[0].created_at > now - _batch_window() + timedelta(seconds=1):
            return []
        Notification.objects.filter(pk__in=[n.pk for n in waiting]).update(sent_at=now)
    return waiting


def send_batch(*, user_id: int, batch: str) -> int:
    """Send `user_id` one email listing the notices waiting in `batch`, once it is due.

    Each item keeps its links (open in inbox, a deep-link button per option). Requests that
    were decided or moved on since are left out; if none is left, nothing is sent. Returns 1 if
    an email went out.
    """
    now = timezone.now()
    waiting = _take_due_batch(user_id, batch, now)
    if not waiting:
        return 0
    reviewer = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if reviewer is None or not reviewer.email:
        return 0
    approvals = {
        a.pk: a
        for a in ApprovalRequest.objects.select_related("policy", "assigned_group").filter(
            pk__in=[n.approval_id for n in waiting], status=ApprovalRequest.Status.PENDING
        )
    }
    options: dict[int, list[DecisionOption]] = {}
    for option in DecisionOption.objects.filter(
        policy_id__in={a.policy_id for a in approvals.values()}
    ).order_by("position", "id"):
        options.setdefault(option.policy_id, []).append(option)
    items: list[dict[str, Any]] = []
    held: list[ApprovalRequest] = []
    for notice in waiting:
        approval = approvals.get(notice.approval_id)  # type: ignore[arg-type]
        if approval is None or approval.stage != notice.stage:
            continue
        held.append(approval)
        fields = visible_fields(approval)
        item_options = options.get(approval.policy_id, [])
        tokens = make_tokens(
            reviewer=reviewer, approval=approval, option_keys=[o.key for o in item_options]
        )
        items.append(
            {
                "approval": approval,
                "kind": BATCH_SUBJECT_HEADS.get(notice.kind, "New"),
                "fields": fields,
                "quoted": quoted(
                    approval.title, *(f"{name}: {value}" for name, value in fields), indent="   "
                ),
                "inbox_url": absolute_url("inbox_detail", approval.pk),
                "buttons": [
                    {"label": option.label, "url": deeplink_url(tokens[option.key])}
                    for option in item_options
                ],
            }
        )
    if not items:
        return 0
    summary = _claim(
        key=f"batch:{user_id}:{batch}:{waiting[0].pk}"[:200], kind=Kind.BATCH, recipient=reviewer
    )
    if summary is None:
        return 0
    group = held[0].assigned_group if batch.startswith("group:") else None
    where = f" in {group.name}" if group is not None else ""
    count = len(items)
    subject = (
        f"{count} new request{'s' if count != 1 else ''}{where}"
        if all(item["kind"] == "New" for item in items)
        else f"{count} request{'s' if count != 1 else ''} need you{where}"
    )
    context = {
        "reviewer": reviewer,
        "items": items,
        "where": where,
        "minutes": settings.NOTIFY_BATCH_MINUTES,
        "inbox": absolute_url("inbox"),
        "settings_url": absolute_url("settings"),
        "site_url": settings.SITE_URL,
        "max_age_hours": settings.DEEP_LINK_HOURS,
    }
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("emails/batch.txt", context),
        to=[reviewer.email],
        headers={"Auto-Submitted": "auto-generated"},
    )
    message.attach_alternative(render_to_string("emails/batch.html", context), "text/html")
    return int(_send(summary, message))


def send_due_batches() -> int:
    """The safety net (beat): send every batch whose oldest notice has waited a whole window."""
    cutoff = timezone.now() - _batch_window()
    due = (
        Notification.objects.filter(sent_at__isnull=True, error="", created_at__lte=cutoff)
        .exclude(batch="")
        .values_list("recipient_id", "batch")
        .distinct()
    )
    return sum(send_batch(user_id=user_id, batch=batch) for user_id, batch in due)


def _pending_for(user: Any) -> Any:
    groups = user.memberships.values("group_id")
    return (
        ApprovalRequest.objects.filter(status=ApprovalRequest.Status.PENDING)
        .filter(Q(assignee=user) | Q(assignee__isnull=True, assigned_group_id__in=groups))
        .exclude(decisions__decided_by=user)
        .select_related("policy")
        .order_by("due_at", "created_at")
    )


def send_digests() -> int:
    """The opt-in daily digest: a short list of pending work per reviewer; once a day each."""
    today = timezone.localdate().isoformat()
    users = (
        get_user_model()
        .objects.filter(is_active=True, reviewer_profile__daily_digest=True)
        .exclude(email="")
        .order_by("pk")
    )
    readers = list(users)
    if not readers:
        return 0
    sent = 0
    with get_connection() as connection:
        for user in readers:
            pending = _pending_for(user)
            items = list(pending[:DIGEST_LIMIT])
            if not items:
                continue
            notification = _claim(key=f"digest:{user.pk}:{today}", kind=Kind.DIGEST, recipient=user)
            if notification is None:
                continue
            context = {
                "reviewer": user,
                "items": [
                    {
                        "approval": approval,
                        "url": absolute_url("inbox_detail", approval.pk),
                        "quoted": quoted(approval.title, indent="  "),
                    }
                    for approval in items
                ],
                "site_url": settings.SITE_URL,
                "total": pending.count(),
                "inbox": absolute_url("inbox"),
            }
            message = EmailMultiAlternatives(
                subject=f"{context['total']} request(s) waiting for you",
                body=render_to_string("emails/digest.txt", context),
                to=[user.email],
                headers={"Auto-Submitted": "auto-generated"},
                connection=connection,
            )
            message.attach_alternative(render_to_string("emails/digest.html", context), "text/html")
            sent += _send(notification, message)
    return sent


def notify_managers_of_fatigue(*, user_id: int, flagged_at: Any) -> int:
    """Email every manager (the Managers group) that a reviewer was flagged for fatigue.

    Once per manager and flag: the key names the flag's moment, so a cleared and later renewed
    flag is news again, but a second run for the same flag sends nothing.
    """
    reviewer = get_user_model().objects.select_related("reviewer_profile").get(pk=user_id)
    profile = reviewer.reviewer_profile
    managers = list(
        get_user_model()
        .objects.filter(is_active=True, groups__name="Managers")
        .exclude(email="")
        .order_by("pk")
    )
    stamp = flagged_at.isoformat() if flagged_at else "unknown"
    admin_url = absolute_url("admin:approvals_reviewerprofile_change", profile.pk)
    body = (
        f"{reviewer.get_username()} was flagged for possible rubber-stamping.\n\n"
        f"{profile.fatigue_reason}\n\n"
        "New work goes to other reviewers first until a manager clears the flag in the admin:\n"
        f"{admin_url}\n"
    )
    sent = 0
    with get_connection() as connection:
        for manager in managers:
            notification = _claim(
                key=f"fatigue:{reviewer.pk}:{stamp}:{manager.pk}"[:200],
                kind=Kind.FATIGUE,
                recipient=manager,
            )
            if notification is None:
                continue
            message = EmailMultiAlternatives(
                subject=f"Reviewer flagged for fatigue: {reviewer.get_username()}",
                body=body,
                to=[manager.email],
                headers={"Auto-Submitted": "auto-generated"},
                connection=connection,
            )
            sent += _send(notification, message)
    return sent
