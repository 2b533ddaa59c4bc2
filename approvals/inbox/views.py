"""The reviewers' inbox (docs/api.md "Reviewer pages and email links") and /healthz.

One URL serves the full page or its HTMX fragment: /inbox/ renders
"approvals/inbox.html#queue" (or "#views", the counters) for an HTMX request, /inbox/<id>/
renders "approvals/detail.html#detail". Every state change goes through a service; service
errors come back as the same fragment with a polite message and their 4xx status.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import push_url, trigger_client_event

from approvals.exceptions import ApprovalError
from approvals.formats import visible_fields
from approvals.foureyes import requester_of, requester_users
from approvals.inbox.access import AuthenticatedHttpRequest, approval_get_for_reviewer
from approvals.inbox.forms import EDIT_PREFIX, DecideForm, InboxFilterForm, edit_text
from approvals.inbox.presenters import dress, due_label, revision_diff, timeline
from approvals.inbox.remember import remember_context
from approvals.inbox.selectors import (
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
from approvals.models import ApprovalRequest, Decision
from approvals.services import approval_claim, approval_decide, approval_release
from approvals.services.standing import approval_decide_and_remember

# --- context builders ----------------------------------------------------------------------------


def _list_context(
    request: AuthenticatedHttpRequest, group_ids: list[int], *, current_id: Any = None
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
        "page": dress(page.items),
        "current_id": current_id,
        "next_query": urlencode({**keep, "after": page.next_cursor}) if page.next_cursor else "",
        "first_query": urlencode(keep) if after else None,
        "query": urlencode(keep),
        "list_url": reverse("inbox") + "?" + urlencode({**keep, **after}),
    }
    return form, context


def _detail_context(
    request: AuthenticatedHttpRequest,
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
        **_requester_context(approval, user),
        "can_claim": is_pending and in_group and approval.assignee_id is None,
        "can_release": is_pending and approval.assignee_id == user.pk,
        "edit_fields": _edit_fields(approval, form, editable),
        "may_edit": may_edit,
        "needs_value": [option.label for option in options if option.needs_value],
        "due_text": due_text,
        "due_state": due_state,
        "stage": stage,
        "stage_count": len(approval.stage_plan),
        "timeline": timeline(entries),
        "diff": revision_diff(approval),
        "recent": recent_policy_decisions(approval, group_ids=group_ids),
        "remember": remember_context(approval, options, form) if can_decide else None,
        "list_query": request.GET.urlencode(),
        "view": request.POST.get("view") or request.GET.get("view") or "todo",
    }


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
    request: AuthenticatedHttpRequest,
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
def inbox(request: AuthenticatedHttpRequest) -> HttpResponse:
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
def inbox_detail(request: AuthenticatedHttpRequest, pk: str) -> HttpResponse:
    """One request, deep-linkable: the whole page, or the detail pane for HTMX."""
    group_ids = reviewer_group_ids(request.user)
    approval = approval_get_for_reviewer(user=request.user, pk=pk, group_ids=group_ids)
    return _render_detail(request, approval, group_ids)


@login_required
@require_POST
def inbox_decide(request: AuthenticatedHttpRequest, pk: str) -> HttpResponse:
    """A decision through `approval_decide`; then the next item of the same view."""
    group_ids = reviewer_group_ids(request.user)
    approval = approval_get_for_reviewer(user=request.user, pk=pk, group_ids=group_ids)
    form = DecideForm(request.POST, approval=approval, options=approval_options(approval))
    if not form.is_valid():
        return _render_detail(request, approval, group_ids, status=422, form=form)
    try:
        if form.chosen.remember:
            decision, _ = approval_decide_and_remember(
                approval=approval,
                reviewer=request.user,
                option=form.chosen.key,
                fields=request.POST.getlist("remember_fields"),
                duration=request.POST.get("remember_for", ""),
                comment=form.cleaned_data["comment"],
            )
        else:
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
    request: AuthenticatedHttpRequest,
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


def _claim_or_release(request: AuthenticatedHttpRequest, pk: str, *, claim: bool) -> HttpResponse:
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
def inbox_claim(request: AuthenticatedHttpRequest, pk: str) -> HttpResponse:
    """Take an unassigned request of my group (`approval_claim`)."""
    return _claim_or_release(request, pk, claim=True)


@login_required
@require_POST
def inbox_release(request: AuthenticatedHttpRequest, pk: str) -> HttpResponse:
    """Hand my request back to the group's queue (`approval_release`)."""
    return _claim_or_release(request, pk, claim=False)


def _requester_context(approval: ApprovalRequest, user: Any) -> dict[str, Any]:
    """Who asked, by identity (docs/security.md "Four-eyes"), in one query (none when the
    request names nobody): the matching users; a `requested_by` that matches nobody is shown
    as unverified."""
    identity = requester_of(approval)
    matches = (
        list(
            get_user_model()
            .objects.filter(pk__in=requester_users(identity))
            .order_by("pk")
            .only("pk", "username")[:5]
        )
        if identity
        else []
    )
    return {
        "is_requester": any(match.pk == user.pk for match in matches),
        "requester_names": [match.get_username() for match in matches],
        "requester_unverified": bool(approval.requested_by) and not matches,
    }
