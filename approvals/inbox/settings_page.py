"""/settings/ — a reviewer's own page: out of office (dates, optional delegate), the daily
digest opt-in, how each kind of email notice arrives (right away, batched, off), Slack
on/off, and links to allauth's two-factor and sessions pages. Saving goes through `reviewer_set_away` (and `reviewer_set_notices`); the first also
has the reviewer's pending
work re-routed once their away dates have begun."""

from __future__ import annotations

from typing import Any

from allauth.mfa.utils import is_mfa_enabled
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from approvals.inbox.access import AuthenticatedHttpRequest
from approvals.models import Membership, NotifyMode, ReviewerGroup, ReviewerProfile
from approvals.services.reviewers import reviewer_set_away, reviewer_set_notices
from approvals.slack.client import slack_configured

DATETIME_FORMAT = "%Y-%m-%dT%H:%M"
NOTICE_FIELDS = ("notify_queue", "notify_assigned", "notify_reminders")


def colleagues(user: User) -> Any:
    """Active people who share at least one reviewer group with `user` (not `user`)."""
    groups = Membership.objects.filter(user=user).values("group_id")
    return (
        get_user_model()
        .objects.filter(is_active=True, memberships__group_id__in=groups)
        .exclude(pk=user.pk)
        .distinct()
        .order_by("username")
    )


class AwayForm(forms.Form):
    away_from = forms.DateTimeField(
        label="Away from",
        required=False,
        input_formats=[DATETIME_FORMAT, "%Y-%m-%d %H:%M", "%Y-%m-%d"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_FORMAT),
    )
    away_until = forms.DateTimeField(
        label="Back on",
        required=False,
        input_formats=[DATETIME_FORMAT, "%Y-%m-%d %H:%M", "%Y-%m-%d"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_FORMAT),
    )
    delegate = forms.ModelChoiceField(
        label="Delegate",
        required=False,
        queryset=get_user_model().objects.none(),
        empty_label="Nobody — share my work out in my groups",
    )
    daily_digest = forms.BooleanField(
        label="Email me a daily digest of my pending work", required=False
    )
    slack_enabled = forms.BooleanField(
        label="Send me my requests in Slack", required=False, initial=True
    )
    notify_queue = forms.ChoiceField(
        label="New work in my groups' queues", choices=NotifyMode.choices, required=False
    )
    notify_assigned = forms.ChoiceField(
        label="Work assigned to me", choices=NotifyMode.choices, required=False
    )
    notify_reminders = forms.ChoiceField(
        label="Reminders and escalations", choices=NotifyMode.choices, required=False
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        # Any active user validates, so a wrong pick gets a message that says why; only
        # colleagues are offered.
        field = self.fields["delegate"]
        field.queryset = get_user_model().objects.filter(is_active=True)  # type: ignore[attr-defined]
        field.choices = [("", field.empty_label)] + [  # type: ignore[attr-defined]
            (u.pk, u.get_username()) for u in colleagues(user)
        ]

    def full_clean(self) -> None:
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                self.fields[name].widget.attrs["aria-invalid"] = "true"

    def clean_delegate(self) -> Any:
        delegate = self.cleaned_data.get("delegate")
        if delegate is None:
            return None
        if delegate.pk == self.user.pk:
            raise forms.ValidationError("You can't be your own delegate.")
        if not colleagues(self.user).filter(pk=delegate.pk).exists():
            raise forms.ValidationError(
                f"{delegate.get_username()} is not in any of your reviewer groups."
            )
        return delegate

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("away_from"), data.get("away_until")
        if start is None and end is not None:
            self.add_error("away_from", "Say when you leave, too.")
        if start is not None and end is not None and end <= start:
            self.add_error("away_until", "The day you are back must be after the day you leave.")
        if start is None and data.get("delegate") is not None:
            self.add_error("delegate", "A delegate covers for you only while you are away.")
        return data


def _initial(profile: ReviewerProfile | None) -> dict[str, Any]:
    if profile is None:
        return {"slack_enabled": True}
    return {
        "away_from": profile.away_from,
        "away_until": profile.away_until,
        "delegate": profile.delegate_id,
        "daily_digest": profile.daily_digest,
        "slack_enabled": profile.slack_enabled,
        **{name: getattr(profile, name) for name in NOTICE_FIELDS},
    }


@login_required
@require_http_methods(["GET", "POST"])
def settings_page(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Show and save the reviewer's own out of office and digest opt-in."""
    user = request.user
    profile = ReviewerProfile.objects.filter(user=user).select_related("delegate").first()
    status = 200
    if request.method == "POST":
        form = AwayForm(request.POST, user=user)
        if form.is_valid():
            data = dict(form.cleaned_data)
            notices = {name: data.pop(name) for name in NOTICE_FIELDS if data.get(name)}
            for name in NOTICE_FIELDS:
                data.pop(name, None)
            reviewer_set_away(user=user, **data)
            if notices:
                reviewer_set_notices(user=user, **notices)
            messages.success(request, "Your settings are saved.")
            return redirect("settings")
        status = 422
    else:
        form = AwayForm(initial=_initial(profile), user=user)
    context = {
        "form": form,
        "notice_fields": [form[name] for name in NOTICE_FIELDS],
        "batch_minutes": settings.NOTIFY_BATCH_MINUTES,
        "profile": profile,
        "groups": ReviewerGroup.objects.filter(memberships__user=user).order_by("name"),
        "slack_connected": slack_configured(),
        # Sign-in and security: allauth's own pages for the second factor and the sessions.
        "mfa_enabled": is_mfa_enabled(user),
        "mfa_required": settings.MFA_REQUIRED_FOR_ALL or user.is_staff,
        "idle_minutes": settings.SESSION_IDLE_MINUTES,
    }
    return render(request, "approvals/settings.html", context, status=status)
