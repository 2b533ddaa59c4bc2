"""Creating an API token from the admin: the raw token is shown once, on the response to the
POST that made it (never stored, never in a message or the session), like `create_api_token`,
with the same limits: caller, scopes, policies, expiry and the user it acts for
(docs/api.md "Tokens and callers").
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from approvals.models import ApiToken, Policy
from approvals.services.tokens import TokenNameTaken, api_token_create


def _one_line(value: str) -> str:
    return " ".join(value.split())


class TokenCreateForm(forms.Form):
    name = forms.CharField(
        max_length=120,
        help_text="Who or what uses it, e.g. the automation's name. Unique; shown in lists and "
        "the audit.",
    )
    caller = forms.CharField(
        max_length=120,
        required=False,
        help_text="The owner namespace: tokens of one caller see the same requests. Empty: "
        "the token's name.",
    )
    scopes = forms.MultipleChoiceField(
        choices=[(scope, scope) for scope in ApiToken.SCOPES],
        initial=list(ApiToken.SCOPES),
        widget=forms.CheckboxSelectMultiple,
        help_text="create: submit requests; read: get and list them; cancel: withdraw them.",
    )
    policies = forms.ModelMultipleChoiceField(
        queryset=Policy.objects.order_by("slug"),
        required=False,
        help_text="The policies it may submit to. None chosen: every policy.",
    )
    expires_days = forms.IntegerField(
        min_value=1,
        max_value=3650,
        required=False,
        help_text="Days it lives. Empty: it never expires.",
    )
    user = forms.ModelChoiceField(
        queryset=get_user_model().objects.filter(is_active=True).order_by("username"),
        required=False,
        help_text="The person it acts for: never assigned, and never approves, its requests.",
    )

    def clean_name(self) -> str:
        name = _one_line(self.cleaned_data["name"])
        if not name:
            raise forms.ValidationError("Give the token a name.")
        if ApiToken.objects.filter(name=name).exists():
            raise forms.ValidationError(f"There is already a token named {name!r}.")
        return name

    def clean_caller(self) -> str:
        return _one_line(self.cleaned_data.get("caller") or "")


def create_token_view(request: HttpRequest, model_admin: Any) -> HttpResponse:
    form = TokenCreateForm(request.POST or None)
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": "Create an API token",
        "form": form,
        "raw": None,
    }
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            days = data["expires_days"]
            try:
                token, raw = api_token_create(
                    name=data["name"],
                    caller=data["caller"],
                    scopes=data["scopes"],
                    policies=data["policies"],
                    expires_at=timezone.now() + timedelta(days=days) if days else None,
                    user=data["user"],
                )
            except TokenNameTaken as exc:  # taken between the check and the insert
                form.add_error("name", str(exc))
                status = 400
            else:
                context.update(raw=raw, token=token, title="Your new API token")
        else:
            status = 400
    response = TemplateResponse(
        request, "admin/approvals/apitoken/create.html", context, status=status
    )
    response["Cache-Control"] = "no-store"
    return response
