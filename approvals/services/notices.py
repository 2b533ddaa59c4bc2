"""Queue a notice email in the transaction of the change that calls for it.

The worker takes the queue in batches (approvals/notifications/email.py `send_queued`, the
`send_notices` task), kicked once per NOTICE_WINDOW_SECONDS after commit, with beat as the
safety net: a change pays one INSERT, not a broker message (docs/notifications.md "How a
notice reaches the worker").
"""

from __future__ import annotations

from django.conf import settings
from django.db import connection

from approvals.models import ApprovalRequest, QueuedNotice
from approvals.rows import RowInsert
from approvals.services.after_commit import kick_after_commit

# The INSERT, built once (approvals/rows.py): queued notices have no signals or history.
_QUEUE_INSERT = RowInsert(QueuedNotice)


def queue_notice(approval: ApprovalRequest, kind: str, *, tag: str = "") -> None:
    """Queue the `kind` notice of `approval` at its current stage and escalation (emailed by
    `notify`, which drops it if the request has moved on to another stage or escalated since).

    Must run inside the service's transaction: a change that rolls back queues nothing."""
    if not connection.in_atomic_block:
        raise RuntimeError("queue_notice must run inside the service's transaction")
    notice = QueuedNotice(
        approval_id=approval.pk,
        kind=kind,
        stage=approval.stage,
        tag=tag,
        escalation_count=approval.escalation_count,
    )
    _QUEUE_INSERT.insert([notice])
    kick_after_commit("send_notices", window=settings.NOTICE_WINDOW_SECONDS)
