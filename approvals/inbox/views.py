"""The reviewers' inbox (docs/api.md "Reviewer pages and email links") and /healthz.

One URL serves the full page or its HTMX fragment: /inbox/ renders
"approvals/inbox.html#queue" (or "#views", the counters) for an HTMX request, /inbox/<id>/
renders "approvals/detail.html#detail". Every state change goes through a service; service
errors come back as the same fragment with a polite message and their 4xx status.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import push_url, trigger_client_event

from approvals.exceptions import ApprovalError
from approvals.formats import field_label, visible_values
from approvals.foureyes import requester_matches, requester_of
from approvals.inbox.access import AuthenticatedHttpRequest, approval_get_for_reviewer
from approvals.inbox.bulk import BulkForm, BulkResult, bulk_decide, bulk_rows
from approvals.inbox.forms import EDIT_PREFIX, DecideForm, InboxFilterForm, edit_text
from approvals.inbox.presenters import (
    decision_labels,
    due_label,
    key_hints,
    list_rows,
    revision_diff,
    timeline,
)
from approvals.inbox.remember import remember_context
from approvals.inbox.selectors import (
    VIEWS,
    Away,
    approval_options,
    approval_timeline,
    changes_asked,
    count_label,
    filter_choices,
    inbox_counts,
    inbox_for_reviewer,
    inbox_page_stamp,
    next_for_reviewer,
    page_stamp,
    recent_policy_decisions,
    reviewer_away,
    reviewer_group_ids,
    reviewer_state,
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
    selection: dict[str, Any] = form.selection() if valid else {"view": "todo"}
    page = inbox_for_reviewer(reviewer=request.user, group_ids=group_ids, **selection)
    counts = inbox_counts(
        reviewer=request.user,
        group_ids=group_ids,
        policy=selection.get("policy"),
        group=selection.get("group"),
        q=selection.get("q", ""),
    )
    keep = {
        name: request.GET[name]
        for name in ("view", "q", "policy", "group", "sort")
        if valid and request.GET.get(name)
    }
    after = {"after": request.GET["after"]} if valid and selection.get("after") else {}
    view = selection["view"]
    query = urlencode(keep)
    inbox_url = reverse("inbox")
    context = {
        **_counter_context(counts),
        "filter_form": form,
        "view": view,
        "view_label": VIEWS[view],
        "view_count": count_label(counts[view]),
        "views": _views(counts, keep, view),
        "page": list_rows(page.items, view=view, query=query, current_id=current_id),
        "filter_menus": form.menus(),
        "inbox_url": inbox_url,
        "next_query": urlencode({**keep, "after": page.next_cursor}) if page.next_cursor else "",
        "first_query": query if after else None,
        "query": query,
        "list_url": inbox_url + "?" + urlencode({**keep, **after}),
        "stamp": page_stamp(item.pk for item in page.items),
        "live_seconds": settings.INBOX_REFRESH_SECONDS,
        "filtered": valid and form.is_filtered,
        "clear_query": urlencode({"view": view}) if view != "todo" else "",
    }
    return form, context


def _views(counts: dict[str, int], keep: dict[str, str], view: str) -> list[dict[str, Any]]:
    return [
        {
            "key": key,
            "label": label,
            "count": counts[key],
            "count_label": count_label(counts[key]),
            "query": urlencode({**keep, "view": key}),
        }
        for key, label in VIEWS.items()
    ]


def _counter_context(counts: dict[str, int]) -> dict[str, Any]:
    """What the tab title says: "(3) Inbox · Checkpoint" while there is work to do."""
    return {"todo_count": counts["todo"], "todo_label": count_label(counts["todo"])}


def _live_context(
    request: AuthenticatedHttpRequest, group_ids: list[int], away: Away | None
) -> dict[str, Any]:
    """The polled partial (docs/api.md "Reviewer pages and email links"): the counters, the
    away banner and a fingerprint of the shown page, without loading a single row."""
    policies, groups = filter_choices(group_ids=group_ids)
    form = InboxFilterForm(request.GET, policies=policies, groups=groups)
    selection: dict[str, Any] = form.selection() if form.is_valid() else {"view": "todo"}
    counts = inbox_counts(
        reviewer=request.user,
        group_ids=group_ids,
        policy=selection.get("policy"),
        group=selection.get("group"),
        q=selection.get("q", ""),
    )
    keep = {
        name: request.GET[name]
        for name in ("view", "q", "policy", "group", "sort")
        if form.is_valid() and request.GET.get(name)
    }
    view = selection["view"]
    return {
        "status": 200 if form.is_valid() else 400,
        **_counter_context(counts),
        "view": view,
        "views": _views(counts, keep, view),
        "inbox_url": reverse("inbox"),
        "oob_views": True,
        "query": urlencode(keep),
        "away": away,
        "list_url": request.get_full_path(),
        "live_seconds": settings.INBOX_REFRESH_SECONDS,
        "live_stamp": inbox_page_stamp(reviewer=request.user, group_ids=group_ids, **selection),
    }


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
    shown = visible_values(approval)
    due_text, due_state = due_label(approval.due_at, timezone.now())
    stage = approval.current_stage or {}
    can_decide = is_pending and in_group and not voted
    may_edit = can_decide and any(option.may_edit_payload for option in options)
    if may_edit:
        # The edit box shows the field already; listing it twice only adds noise.
        shown = [field for field in shown if field.key not in editable]
    return {
        "approval": approval,
        "fields": [(field.label, field.text) for field in shown],
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
        "timeline": timeline(entries, approval),
        "diff": revision_diff(approval),
        "changes_asked": changes_asked(approval),
        "recent": decision_labels(recent_policy_decisions(approval, group_ids=group_ids)),
        "key_hints": key_hints(options),
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
                "label": field_label(approval.policy.payload_schema or {}, name),
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
    if _fragment(request):
        return render(request, "approvals/detail.html#detail", context, status=status)
    _, list_context = _list_context(request, group_ids, current_id=approval.pk)
    list_context["away"] = reviewer_away(request.user)
    return render(request, "approvals/detail.html", {**list_context, **context}, status=status)


def _fragment(request: AuthenticatedHttpRequest) -> bool:
    """An HTMX swap wants a fragment; htmx restoring history (the back button, with no cached
    page) wants the whole page, so going back from a request returns to the list."""
    return bool(request.htmx) and not request.htmx.history_restore_request


# --- views ----------------------------------------------------------------------------------------


@login_required
@require_GET
def inbox(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The queue: a view (to do, assigned, group queue, due soon, overdue, decided), filtered."""
    # The groups and the away banner's state in one query (the fragments ignore the latter).
    group_ids, away = reviewer_state(request.user)
    if _fragment(request) and request.htmx.target == "live":
        live = _live_context(request, group_ids, away)
        return render(request, "approvals/inbox.html#live", live, status=live["status"])
    form, context = _list_context(request, group_ids)
    status = 200 if form.is_valid() else 400
    if _fragment(request) and request.htmx.target == "views":
        return render(request, "approvals/inbox.html#views", context, status=status)
    if _fragment(request):
        # A switch of view or filter also refreshes the counters (out of band); the list's
        # own refresh after a decision does not need them: the counters refresh themselves.
        context["oob_views"] = request.htmx.trigger != "queue"
        return render(request, "approvals/inbox.html#queue", context, status=status)
    context["away"] = away
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
    # The form needs the policy and the payload; `approval_decide` re-reads the row locked.
    approval = approval_get_for_reviewer(
        user=request.user, pk=pk, group_ids=group_ids, for_decision=True
    )
    form = DecideForm(request.POST, approval=approval, options=approval_options(approval))
    if not form.is_valid():
        approval = approval_get_for_reviewer(user=request.user, pk=pk, group_ids=group_ids)
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
    if not _fragment(request):
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
    if not _fragment(request):
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


# --- bulk triage ----------------------------------------------------------------------------------


@login_required
@require_POST
def inbox_bulk(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Approve or reject the selected rows with one comment (approvals/inbox/bulk.py).

    Bad input (no ids, too many, a malformed or unknown id, another group's request, no option)
    is refused whole, before anything is decided; then each request is decided on its own and
    the answer names what did not go through.
    """
    group_ids = reviewer_group_ids(request.user)
    form = BulkForm(request.POST)
    if not form.is_valid():
        return _bulk_answer(request, form=form, status=400)
    ids = form.cleaned_data["ids"]
    selection = bulk_rows(user=request.user, group_ids=group_ids, ids=ids)
    if selection.missing:
        missing = selection.missing
        form.add_error(
            None,
            f"{missing} of the selected requests {'was' if missing == 1 else 'were'} not found.",
        )
        return _bulk_answer(request, form=form, status=404)
    result = bulk_decide(
        reviewer=request.user,
        selection=selection,
        outcome=form.cleaned_data["option"],
        comment=form.cleaned_data["comment"],
    )
    response = _bulk_answer(request, form=BulkForm(), result=result)
    if result.decided:
        trigger_client_event(
            response, "approval-decided", {"ids": [str(d.approval_id) for d in result.decided]}
        )
    return response


def _bulk_answer(
    request: AuthenticatedHttpRequest,
    *,
    form: BulkForm,
    result: BulkResult | None = None,
    status: int = 200,
) -> HttpResponse:
    """The bar again (with the outcome or the error) for HTMX; else back to the list."""
    if request.htmx:
        context = {"bulk_form": form, "bulk_result": result}
        return render(request, "approvals/inbox_bulk_bar.html", context, status=status)
    if result is None:
        _, context = _list_context(request, reviewer_group_ids(request.user))
        context["bulk_form"] = form
        return render(request, "approvals/inbox.html", context, status=status)
    messages.success(request, " ".join([result.summary, *result.problems]))
    view = request.POST.get("view", "")
    query = urlencode({"view": view}) if view in VIEWS and view != "todo" else ""
    return redirect(reverse("inbox") + (f"?{query}" if query else ""))


def _requester_context(approval: ApprovalRequest, user: Any) -> dict[str, Any]:
    """Who asked, by identity (docs/security.md "Four-eyes"), in one query (none when the
    request names nobody): the matching users; a `requested_by` that matches nobody is shown
    as unverified."""
    matches = requester_matches(requester_of(approval))
    return {
        "is_requester": any(pk == user.pk for pk, _ in matches),
        "requester_names": [name for _, name in matches],
        "requester_unverified": bool(approval.requested_by) and not matches,
    }
