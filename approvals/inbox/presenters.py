"""How the inbox shows a request: due labels, the revision diff, the timeline's sentences.

Pure functions over rows the views have loaded; no query runs here. Which payload fields a
reviewer may see is `approvals.formats.visible_values`, shared with email and other channels.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone

from approvals.formats import visible_values
from approvals.inbox.selectors import DUE_SOON
from approvals.models import ApprovalRequest, AuditEntry


def _span(seconds: float) -> str:
    minutes = int(abs(seconds) // 60)
    days, hours, mins = minutes // 1440, minutes % 1440 // 60, minutes % 60
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {mins}m"
    return f"{mins}m" if mins else "<1m"


def due_label(due_at: datetime | None, now: datetime) -> tuple[str, str]:
    """("due in 3h 12m", "soon") — the server's first rendering of the SLA countdown."""
    if due_at is None:
        return "no due time", "none"
    seconds = (due_at - now).total_seconds()
    if seconds < 0:
        return f"overdue {_span(seconds)}", "overdue"
    return f"due in {_span(seconds)}", "soon" if seconds < DUE_SOON.total_seconds() else "ok"


def dress(items: list[ApprovalRequest]) -> list[ApprovalRequest]:
    now = timezone.now()
    for item in items:
        item.due_text, item.due_state = due_label(item.due_at, now)  # type: ignore[attr-defined]
    return items


def revision_diff(approval: ApprovalRequest) -> list[dict[str, str]]:
    previous = approval.previous
    if previous is None:
        return []
    before = {field.key: field for field in visible_values(approval, previous.payload)}
    after = {field.key: field for field in visible_values(approval)}
    rows = [{"field": "Title", "before": previous.title, "after": approval.title}]
    for key in dict.fromkeys([*before, *after]):
        old, new = before.get(key), after.get(key)
        label = (new or old).label  # type: ignore[union-attr]
        rows.append(
            {"field": label, "before": old.text if old else "—", "after": new.text if new else "—"}
        )
    return [row for row in rows if row["before"] != row["after"]]


TIMELINE_VERBS = {
    "created": "Created",
    "routed": "Routed",
    "assigned": "Assigned",
    "claimed": "Claimed",
    "released": "Released to the queue",
    "reminded": "Reminder sent",
    "escalated": "Escalated",
    "stage_advanced": "Moved on to the next stage",
    "decided": "Decided",
    "approved": "Approved",
    "rejected": "Rejected",
    "changes_requested": "Changes requested",
    "expired": "Expired",
    "cancelled": "Cancelled",
    "standing_approval_created": "Remembered",
    "standing_approval_revoked": "Standing approval revoked",
}


def _timeline_text(entry: AuditEntry) -> str:
    data, decision = entry.data or {}, entry.decision
    if decision is not None:
        text = (
            f"{decision.option_label or decision.get_outcome_display()} in stage {decision.stage}"
        )
        return f"{text}: “{decision.comment}”" if decision.comment else text
    if entry.action == "routed":
        return f"to a {data.get('route', '')} reviewer" + (
            f" ({data['reason']})" if data.get("reason") else ""
        )
    if entry.action in ("assigned", "escalated"):
        group = data.get("group") or data.get("to_group") or "no group"
        who = data.get("assignee")
        return f"to {group}" + (f" · {who}" if who else " · unassigned")
    if "stage" in data:
        return f"stage {data['stage']}"
    return ""


def timeline(entries: list[AuditEntry]) -> list[dict[str, Any]]:
    return [
        {
            "at": entry.at,
            "action": entry.action,
            "verb": TIMELINE_VERBS.get(entry.action, entry.action.replace("_", " ").capitalize()),
            "actor": entry.actor,
            "text": _timeline_text(entry),
        }
        for entry in entries
    ]
