"""The reviewers' inbox (docs/api.md "Reviewer pages and email links") and /healthz.

One URL serves the full page or its HTMX fragment: /inbox/ renders
"approvals/inbox.html#queue" (or "#views", the counters) for an HTMX request, /inbox/<id>/
renders "approvals/detail.html#detail". Every state change goes through a service; service
errors come back as the same fragment with a polite message and their 4xx status.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import push_url, trigger_client_event
from django_htmx.middleware import HtmxDetails

from approvals.exceptions import ApprovalError
from approvals.inbox.access import approval_get_for_reviewer
from approvals.inbox.forms import EDIT_PREFIX, DecideForm, InboxFilterForm, edit_text
from approvals.inbox.selectors import (
    DUE_SOON,
    VIEWS,
    approval_options,
    approval_timeline,
    count_label,
    filter_choices,
    inbox_counts,
    inbox_for_reviewer,
    next_for_reviewer,
    recent_policy_decisions,
    reviewer_group_ids,
)
from approvals.models import ApprovalRequest, AuditEntry, Decision
from approvals.services import approval_claim, approval_decide, approval_release


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


# --- presentation helpers ---------------------------------------------------------------------


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


def _dress(items: list[ApprovalRequest]) -> list[ApprovalRequest]:
    now = timezone.now()
    for item in items:
        item.due_text, item.due_state = due_label(item.due_at, now)  # type: ignore[attr-defined]
    return items


def _payload_value(payload: Any, path: str) -> tuple[bool, Any]:
    for part in path.split("."):
        if not isinstance(payload, dict) or part not in payload:
            return False, None
        payload = payload[part]
    return True, payload


def _shown(value: Any) -> str:
    if isinstance(value, dict | list | bool) or value is None:
        return json.dumps(value, ensure_ascii=False, indent=None)
    return str(value)


def visible_fields(approval: ApprovalRequest, payload: Any = None) -> list[tuple[str, str]]:
    """The payload fields the policy shows (every top-level one when it names none).

    Fields outside the list are never put in the page, not even hidden (docs/api.md "Reviewer pages and email links").
    """
    payload = approval.payload if payload is None else payload
    names = approval.policy.visible_fields or list(payload)
    found = [(name, _payload_value(payload, str(name))) for name in names]
    return [(str(name), _shown(value)) for name, (present, value) in found if present]


def _revision_diff(approval: ApprovalRequest) -> list[dict[str, str]]:
    previous = approval.previous
    if previous is None:
        return []
    before, after = dict(visible_fields(approval, previous.payload)), dict(visible_fields(approval))
    rows = [{"field": "title", "before": previous.title, "after": approval.title}]
    rows += [
        {"field": name, "before": before.get(name, "—"), "after": after.get(name, "—")}
        for name in dict.fromkeys([*before, *after])
    ]
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


def _timeline(entries: list[AuditEntry]) -> list[dict[str, Any]]:
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


# --- context builders ----------------------------------------------------------------------------


def _list_context(
    request: HttpRequest, group_ids: list[int], *, current_id: Any = None
) -> tuple[InboxFilterForm, dict[str, Any]]:
    """The list pane: the view's page, the counters and the filters (also under a detail)."""
    policies, groups = filter_choices(group_ids=group_ids)
    form = InboxFilterForm(request.GET, policies=policies, groups=groups)
    valid = form.is_valid()
    selection = form.selection() if valid else {"view": "todo"}
    page = inbox_for_reviewer(reviewer=request.user, group_ids=group_ids, **selection)
    counts = inbox_counts(reviewer=request.user, group_ids=group_ids)
    keep = {
        name: request.GET[name]
        for name in ("view", "q", "policy", "group")
        if valid and request.GET.get(name)
    }
    after = {"after": request.GET["after"]} if valid and selection.get("after") else {}
    view = selection["view"]
    context = {
        "filter_form": form,
        "view": view,
        "view_label": VIEWS[view],
        "view_count": count_label(counts[view]),
        "views": [
            {
                "key": key,
                "label": label,
                "count": counts[key],
                "count_label": count_label(counts[key]),
                "query": urlencode({**keep, "view": key}),
            }
            for key, label in VIEWS.items()
        ],
        "page": _dress(page.items),
        "current_id": current_id,
        "next_query": urlencode({**keep, "after": page.next_cursor}) if page.next_cursor else "",
        "first_query": urlencode(keep) if after else None,
        "query": urlencode(keep),
        "list_url": reverse("inbox") + "?" + urlencode({**keep, **after}),
    }
    return form, context


def _detail_context(
    request: HttpRequest,
    approval: ApprovalRequest,
    group_ids: list[int],
    *,
    form: DecideForm | None = None,
    error: str = "",
) -> dict[str, Any]:
    user = request.user
    options = approval_options(approval)
    entries = approval_timeline(approval)
    voted = any(e.decision is not None and e.decision.decided_by_id == user.pk for e in entries)
    is_pending = approval.status == ApprovalRequest.Status.PENDING
    in_group = approval.assigned_group_id in group_ids
    visible = approval.policy.visible_fields
    # An editable field the policy hides stays hidden: it is never put in the page.
    editable = [n for n in approval.policy.editable_fields if not visible or n in visible]
    shown = dict(visible_fields(approval))
    due_text, due_state = due_label(approval.due_at, timezone.now())
    stage = approval.current_stage or {}
    can_decide = is_pending and in_group and not voted
    may_edit = can_decide and any(option.may_edit_payload for option in options)
    if may_edit:
        # The edit box shows the field already; listing it twice only adds noise.
        shown = {name: value for name, value in shown.items() if name not in editable}
    return {
        "approval": approval,
        "fields": list(shown.items()),
        "options": options,
        "form": form,
        "error": error,
        "can_decide": can_decide,
        "voted": voted and is_pending,
        "is_requester": _is_requester(approval, user),
        "can_claim": is_pending and in_group and approval.assignee_id is None,
        "can_release": is_pending and approval.assignee_id == user.pk,
        "edit_fields": _edit_fields(approval, form, editable),
        "may_edit": may_edit,
        "needs_value": [option.label for option in options if option.needs_value],
        "due_text": due_text,
        "due_state": due_state,
        "stage": stage,
        "stage_count": len(approval.stage_plan),
        "timeline": _timeline(entries),
        "diff": _revision_diff(approval),
        "recent": recent_policy_decisions(approval, group_ids=group_ids),
        "list_query": request.GET.urlencode(),
        "view": request.POST.get("view") or request.GET.get("view") or "todo",
    }


def _is_requester(approval: ApprovalRequest, user: Any) -> bool:
    who = approval.requested_by.strip().lower()
    return bool(who) and who in {user.get_username().lower(), (user.email or "").lower()}


def _edit_fields(
    approval: ApprovalRequest, form: DecideForm | None, names: list[str]
) -> list[dict[str, Any]]:
    fields = []
    for name in names:
        current = edit_text(approval.payload.get(name))
        posted = form.data.get(EDIT_PREFIX + name) if form is not None else None
        value = posted if posted is not None else current
        errors = [str(e) for e in form.errors.get(EDIT_PREFIX + name, ())] if form else []
        fields.append(
            {
                "name": EDIT_PREFIX + name,
                "label": name,
                "value": value,
                "multiline": len(current) > 60 or "\n" in current,
                "errors": errors,
            }
        )
    return fields


def _render_detail(
    request: HtmxHttpRequest,
    approval: ApprovalRequest,
    group_ids: list[int],
    *,
    status: int = 200,
    **extra: Any,
) -> HttpResponse:
    context = _detail_context(request, approval, group_ids, **extra)
    if request.htmx:
        return render(request, "approvals/detail.html#detail", context, status=status)
    _, list_context = _list_context(request, group_ids, current_id=approval.pk)
    return render(request, "approvals/detail.html", {**list_context, **context}, status=status)


# --- views ----------------------------------------------------------------------------------------


@login_required
@require_GET
def inbox(request: HtmxHttpRequest) -> HttpResponse:
    """The queue: a view (to do, assigned, group queue, due soon, overdue, decided), filtered."""
    group_ids = reviewer_group_ids(request.user)
    form, context = _list_context(request, group_ids)
    status = 200 if form.is_valid() else 400
    if request.htmx and request.htmx.target == "views":
        return render(request, "approvals/inbox.html#views", context, status=status)
    if request.htmx:
        # A switch of view or filter also refreshes the counters (out of band); the list's
        # own refresh after a decision does not need them: the counters refresh themselves.
        context["oob_views"] = request.htmx.trigger != "queue"
        return render(request, "approvals/inbox.html#queue", context, status=status)
    return render(request, "approvals/inbox.html", context, status=status)


@login_required
@require_GET
def inbox_detail(request: HtmxHttpRequest, pk: str) -> HttpResponse:
    """One request, deep-linkable: the whole page, or the detail pane for HTMX."""
    group_ids = reviewer_group_ids(request.user)
    approval = approval_get_for_reviewer(user=request.user, pk=pk, group_ids=group_ids)
    return _render_detail(request, approval, group_ids)


@login_required
@require_POST
def inbox_decide(request: HtmxHttpRequest, pk: str) -> HttpResponse:
    """A decision through `approval_decide`; then the next item of the same view."""
    group_ids = reviewer_group_ids(request.user)
    approval = approval_get_for_reviewer(user=request.user, pk=pk, group_ids=group_ids)
    form = DecideForm(request.POST, approval=approval, options=approval_options(approval))
    if not form.is_valid():
        return _render_detail(request, approval, group_ids, status=422, form=form)
    try:
        decision = approval_decide(
            approval=approval,
            reviewer=request.user,
            option=form.chosen.key,
            comment=form.cleaned_data["comment"],
            value=form.cleaned_data["value"],
            payload_edits=form.cleaned_data["payload_edits"] or None,
            channel=Decision.Channel.WEB,
        )
    except ApprovalError as exc:
        approval = approval_get_for_reviewer(user=request.user, pk=pk, group_ids=group_ids)
        return _render_detail(
            request, approval, group_ids, status=exc.status_code, form=form, error=exc.message
        )
    return _after_decision(request, approval, decision, form.cleaned_data["view"], group_ids)


def _after_decision(
    request: HtmxHttpRequest,
    approval: ApprovalRequest,
    decision: Decision,
    view: str,
    group_ids: list[int],
) -> HttpResponse:
    done = f"{decision.option_label} recorded for “{approval.title}”."
    following = next_for_reviewer(
        reviewer=request.user, view=view or "todo", group_ids=group_ids, exclude=approval.pk
    )
    query = urlencode({"view": view}) if view and view != "todo" else ""
    if not request.htmx:
        messages.success(request, done)
        target = reverse("inbox_detail", args=[following.pk]) if following else reverse("inbox")
        return redirect(f"{target}?{query}" if query else target)
    if following is None:
        response = render(request, "approvals/detail.html#empty", {"done": done, "view": view})
        push_url(response, reverse("inbox") + (f"?{query}" if query else ""))
    else:
        context = _detail_context(request, following, group_ids)
        response = render(request, "approvals/detail.html#detail", {**context, "done": done})
        url = reverse("inbox_detail", args=[following.pk])
        push_url(response, f"{url}?{query}" if query else url)
    return trigger_client_event(response, "approval-decided", {"id": str(approval.pk)})


def _claim_or_release(request: HtmxHttpRequest, pk: str, *, claim: bool) -> HttpResponse:
    group_ids = reviewer_group_ids(request.user)
    approval = approval_get_for_reviewer(user=request.user, pk=pk, group_ids=group_ids)
    service = approval_claim if claim else approval_release
    try:
        approval = service(approval=approval, reviewer=request.user)
    except ApprovalError as exc:
        approval = approval_get_for_reviewer(user=request.user, pk=pk, group_ids=group_ids)
        return _render_detail(
            request, approval, group_ids, status=exc.status_code, error=exc.message
        )
    if not request.htmx:
        return redirect("inbox_detail", pk=approval.pk)
    approval = approval_get_for_reviewer(user=request.user, pk=pk, group_ids=group_ids)
    response = _render_detail(request, approval, group_ids)
    return trigger_client_event(response, "approval-claimed", {"id": str(approval.pk)})


@login_required
@require_POST
def inbox_claim(request: HtmxHttpRequest, pk: str) -> HttpResponse:
    """Take an unassigned request of my group (`approval_claim`)."""
    return _claim_or_release(request, pk, claim=True)


@login_required
@require_POST
def inbox_release(request: HtmxHttpRequest, pk: str) -> HttpResponse:
    """Hand my request back to the group's queue (`approval_release`)."""
    return _claim_or_release(request, pk, claim=False)
