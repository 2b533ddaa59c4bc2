"""How the inbox shows a request: due labels, the revision diff, the timeline's sentences.

Pure functions over rows the views have loaded; no query runs here. Which payload fields a
reviewer may see is `approvals.formats.visible_values`, shared with email and other channels.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from django.contrib.humanize.templatetags.humanize import naturaltime
from django.urls import reverse
from django.utils import timezone
from django.utils.dates import MONTHS_3, WEEKDAYS_ABBR
from django.utils.translation import get_language

from approvals.formats import visible_values
from approvals.inbox.selectors import DUE_SOON
from approvals.models import ApprovalRequest, AuditEntry, Decision, DecisionOption


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


def when(at: datetime) -> dict[str, str]:
    """A time as the detail pane writes it, formatted here once instead of by three template
    filters per row: `iso` (the `datetime` attribute), `title` (local time, spelled out) and
    `ago` ("3 minutes ago"); the same text the filters `date` and `naturaltime` give."""
    local = timezone.localtime(at)  # what the template does with an aware time
    return {
        "iso": local.isoformat(),  # the `date` filter's "c"
        "title": spelled_out(local),
        "ago": naturaltime(at),
    }


def route_pattern(viewname: str) -> Callable[[Any], str]:
    """`reverse(viewname, args=[pk])` for many ids at the cost of one reverse: the route's
    address around a placeholder id, filled in by string formatting."""
    placeholder = str(uuid.UUID(int=0))
    before, _, after = reverse(viewname, args=[placeholder]).partition(placeholder)
    return lambda pk: f"{before}{pk}{after}"


@functools.cache
def _date_names(language: str | None) -> tuple[list[str], list[str]]:
    """A language's short day and month names, as the `date` filter's "D" and "M" (looked up
    once per language: the translation lookups cost more than a whole row)."""
    return [str(WEEKDAYS_ABBR[day]) for day in range(7)], [
        str(MONTHS_3[month]).title() for month in range(1, 13)
    ]


def spelled_out(local: datetime) -> str:
    """A local time as the filter `date:'D j M Y, H:i T'` writes it ("Tue 1 Dec 2026, 09:30
    UTC"), in the active language, without parsing the format for every time."""
    days, months = _date_names(get_language())
    return (
        f"{days[local.weekday()]} {local.day} {months[local.month - 1]} {local.year:04d},"
        f" {local:%H:%M} {local.tzname() or ''}"
    )


def list_rows(
    items: Sequence[Any], *, view: str, query: str, current_id: Any = None
) -> list[dict[str, Any]]:
    """The list's rows as plain values for templates/approvals/inbox_rows.html.

    The inbox's hottest template: every address, date and label of a row is worked out here
    once, so the template only prints values (a dict is the template's quickest lookup). The
    text is what the template's own tags gave: `{% url %}`, `|date:'c'` and
    `|date:'D j M Y, H:i T'` in the current time zone, "no group", "unassigned".
    """
    now = timezone.now()
    detail_url = route_pattern("inbox_detail")
    suffix = f"?{query}" if query else ""
    decided = view == "decided"
    rows = []
    for item in items:
        pk = str(item.pk)
        pending = item.status == ApprovalRequest.Status.PENDING
        due_at = timezone.localtime(item.due_at) if item.due_at is not None else None
        due_text, due_state = due_label(item.due_at, now)
        # The names come with the row (approvals/inbox/selectors.py `ListRow`, `_rows`).
        meta = [item.policy_name]
        if item.external_id:
            meta.append(item.external_id)
        meta.append(item.group_name or "no group")
        if item.assignee_id is not None:
            meta.append(item.assignee_name)
        elif pending:
            meta.append("unassigned")
        rows.append(
            {
                "pk": pk,
                "title": item.title,
                "href": detail_url(pk) + suffix,
                "current": item.pk == current_id,
                "checkbox": not decided and pending,
                "status": item.status,
                "outcome": (
                    getattr(item, "my_outcome", "") or ApprovalRequest.Status(item.status).label
                )
                if decided
                else "",
                "due_text": due_text,
                "due_state": due_state,
                "due_iso": due_at.isoformat() if due_at else "",
                "due_title": f"Due {spelled_out(due_at)}" if due_at else "",
                "meta": " · ".join(meta),
                "escalated": item.escalated,
                # A queue row's own claim button (templates/approvals/claim_form.html).
                "claim": view == "queue" and item.assignee_id is None,
            }
        )
    return rows


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


# The keys of the inbox's keyboard (static/js/inbox.js OUTCOME_KEYS), by option outcome.
OUTCOME_KEYS = {"approve": "a", "reject": "r", "request_changes": "c"}


def key_hints(options: list[DecisionOption]) -> list[tuple[str, str]]:
    """("a", "Approve"), ("c", "Revise"): each key with the label of the option it picks (the
    first option of that outcome, as the keyboard does)."""
    hints: dict[str, str] = {}
    for option in options:
        key = OUTCOME_KEYS.get(option.outcome)
        if key and key not in hints:
            hints[key] = option.label
    return [(key, hints[key]) for key in OUTCOME_KEYS.values() if key in hints]


def is_expiry(decision: Decision, status: str) -> bool:
    """The system's record of a request that ran out of time with no expiry decision: read
    as "Expired", not as somebody's rejection."""
    return decision.channel == Decision.Channel.TIMEOUT and status == ApprovalRequest.Status.EXPIRED


def decision_label(decision: Decision, status: str) -> tuple[str, str]:
    """(label, css outcome) of a decision as the inbox shows it."""
    if is_expiry(decision, status):
        return "Expired", "expired"
    return decision.option_label or decision.get_outcome_display(), decision.outcome


def decision_labels(decisions: list[Decision]) -> list[Decision]:
    """Recent decisions (with their request joined), each with `shown_label`/`shown_outcome`,
    the link to its request (`url`) and its time (`shown_when`, see `when`)."""
    detail_url = route_pattern("inbox_detail")
    for decision in decisions:
        label, outcome = decision_label(decision, decision.approval.status)
        decision.shown_label, decision.shown_outcome = label, outcome  # type: ignore[attr-defined]
        decision.url = detail_url(decision.approval_id)  # type: ignore[attr-defined]
        decision.shown_when = when(decision.decided_at)  # type: ignore[attr-defined]
    return decisions


def _timeline_text(entry: AuditEntry, status: str) -> str:
    data, decision = entry.data or {}, entry.decision
    if decision is not None:
        if is_expiry(decision, status):
            return "before its deadline"
        text = f"{decision_label(decision, status)[0]} in stage {decision.stage}"
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


def timeline(entries: list[AuditEntry], approval: ApprovalRequest) -> list[dict[str, Any]]:
    return [
        {
            "at": entry.at,
            "when": when(entry.at),
            # An expiry's decision row is not somebody's decision: no "decided" (green) dot.
            "action": "expired" if _expiry(entry, approval.status) else entry.action,
            "verb": _verb(entry, approval.status),
            "actor": entry.actor,
            "text": _timeline_text(entry, approval.status),
        }
        for entry in entries
    ]


def _expiry(entry: AuditEntry, status: str) -> bool:
    return entry.decision is not None and is_expiry(entry.decision, status)


def _verb(entry: AuditEntry, status: str) -> str:
    if _expiry(entry, status):
        return "No decision"
    return TIMELINE_VERBS.get(entry.action, entry.action.replace("_", " ").capitalize())
