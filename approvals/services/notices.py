"""Queue a notice email in the transaction of the change that calls for it.

The worker takes the queue in batches (approvals/notifications/email.py `send_queued`, the
`send_notices` task), kicked once per NOTICE_WINDOW_SECONDS after commit, with beat as the
safety net: a change pays one INSERT, not a broker message (docs/notifications.md "How a
notice reaches the worker").
"""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.utils import timezone

from approvals.ids import uuid_param
from approvals.models import ApprovalRequest, QueuedNotice
from approvals.services.after_commit import kick_after_commit

# Fixed SQL, built once: the ORM spends more CPU building an INSERT than the database does
# running it.
_QUEUE_SQL = (
    f"INSERT INTO {QueuedNotice._meta.db_table}"  # noqa: S608
    " (approval_id, kind, stage, tag, escalation_count, queued_at) VALUES (%s, %s, %s, %s, %s, %s)"
)


def queue_notice(approval: ApprovalRequest, kind: str, *, tag: str = "") -> None:
    """Queue the `kind` notice of `approval` at its current stage and escalation (emailed by
    `notify`, which drops it if the request has moved on to another stage or escalated since).

    Must run inside the service's transaction: a change that rolls back queues nothing."""
    if not connection.in_atomic_block:
        raise RuntimeError("queue_notice must run inside the service's transaction")
    at = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(
            _QUEUE_SQL,
            [uuid_param(approval.pk), kind, approval.stage, tag, approval.escalation_count, at],
        )
    kick_after_commit("send_notices", window=settings.NOTICE_WINDOW_SECONDS)
