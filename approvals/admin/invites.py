"""Inviting a reviewer from the admin: email, optional name, groups (docs/operations.md "Users and roles").

A plain form page at /admin/approvals/invite/ for managers; `reviewer_invite` does the work
(user, memberships, audit entry, the set-password email). Bad input is a 400 with the form's
messages and changes nothing; staff who are not managers get a 403.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.admin import AdminSite
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse

from approvals.exceptions import ApprovalError
from approvals.models import ReviewerGroup
from approvals.services.invites import reviewer_invite
from approvals.services.manager import is_manager


class InviteForm(forms.Form):
    email = forms.EmailField(
        max_length=254,
        error_messages={"invalid": "Enter an email address, such as dana@example.com."},
        help_text="They sign in with it. Inviting an address again adds groups and resends the email.",
    )
    name = forms.CharField(
        max_length=150, required=False, help_text="Optional: first and last name."
    )
    groups = forms.ModelMultipleChoiceField(
        queryset=ReviewerGroup.objects.order_by("name"),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one group."},
    )


def invite_view(request: HttpRequest, site: AdminSite) -> HttpResponse:
    if not is_manager(request.user):
        raise PermissionDenied
    form = InviteForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                user, created, joined = reviewer_invite(
                    email=data["email"],
                    name=data["name"],
                    groups=list(data["groups"]),
                    manager=request.user,
                )
            except ApprovalError as exc:
                form.add_error(exc.field or None, exc.message)
            else:
                verb = "Invited" if created else "Invited again"
                added = f", added to {', '.join(joined)}" if joined else ""
                messages.success(
                    request, f"{verb} {user.get_username()} ({data['email']}){added}; email sent."
                )
                return redirect(reverse("admin:approvals_invite"))
        status = 400
    context = {
        **site.each_context(request),
        "title": "Invite a reviewer",
        "form": form,
    }
    return TemplateResponse(request, "admin/approvals/invite.html", context, status=status)
