"""Managers act on a request from its admin page: reassign, cancel, escalate now, nudge.

One POST endpoint per request (`<id>/act/`), a form that names the action, and the manager
services in approvals/services/manager.py doing the work (audit entry, outbox event, emails).
Bad input gets a 400 with the form's message and changes nothing; someone who is staff but not
a manager gets a 403 (docs/architecture.md "Admin").
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from approvals.exceptions import ApprovalError
from approvals.models import ApprovalRequest, ReviewerGroup
from approvals.services.manager import (
    is_manager,
    manager_cancel,
    manager_escalate,
    manager_nudge,
    manager_reassign,
)

ACTIONS = [
    ("reassign", "Reassign"),
    ("nudge", "Send the reminder now"),
    ("escalate", "Escalate now"),
    ("cancel", "Cancel the request"),
]


class RequestActionForm(forms.Form):
    action = forms.ChoiceField(choices=ACTIONS)
    group = forms.ModelChoiceField(
        queryset=ReviewerGroup.objects.order_by("name"),
        required=False,
        empty_label="its current group",
    )
    assignee = forms.ModelChoiceField(
        queryset=get_user_model().objects.filter(is_active=True).order_by("username"),
        required=False,
        empty_label="nobody: back to the group's queue",
    )
    reason = forms.CharField(required=False, max_length=500)


def find_request(object_id: str) -> ApprovalRequest | None:
    """The request with this id, or None for an unknown or malformed id (never a 500)."""
    try:
        return ApprovalRequest.objects.filter(pk=object_id).first()
    except (ValidationError, ValueError):
        return None


def action_context(object_id: str, user: Any) -> dict[str, Any]:
    """What the change page needs to show the buttons (only to managers, only while pending)."""
    approval = find_request(object_id)
    show = (
        approval is not None
        and approval.status == ApprovalRequest.Status.PENDING
        and is_manager(user)
    )
    return {"manager_actions": RequestActionForm() if show else None}


@require_POST
def request_action_view(request: HttpRequest, object_id: str) -> HttpResponse:
    approval = find_request(object_id)
    if approval is None:
        raise Http404("No such request.")
    user: Any = request.user
    if not is_manager(user):
        return HttpResponse(
            "Only managers can act on requests.", status=403, content_type="text/plain"
        )
    form = RequestActionForm(request.POST)
    if not form.is_valid():
        problems = "; ".join(f"{k}: {' '.join(str(m) for m in v)}" for k, v in form.errors.items())
        return HttpResponse(f"Bad input: {problems}", status=400, content_type="text/plain")
    data = form.cleaned_data
    action, reason = data["action"], data["reason"]
    try:
        if action == "reassign":
            manager_reassign(
                approval=approval,
                manager=user,
                assignee=data["assignee"],
                group=data["group"],
                reason=reason,
            )
            done = "Reassigned."
        elif action == "cancel":
            manager_cancel(approval=approval, manager=user, reason=reason)
            done = "Cancelled; the caller is told."
        elif action == "escalate":
            manager_escalate(approval=approval, manager=user, reason=reason)
            done = "Escalated."
        else:
            sent = manager_nudge(approval=approval, manager=user)
            done = "Reminder sent." if sent else "Not sent: already nudged this minute, or decided."
    except ApprovalError as exc:
        return HttpResponse(exc.message, status=409, content_type="text/plain")
    messages.success(request, done)
    return HttpResponseRedirect(
        reverse("admin:approvals_approvalrequest_change", args=[approval.pk])
    )
