"""Creating an API token from the admin: the raw token is shown once, on the response to the
POST that made it (never stored, never in a message or the session), like `create_api_token`.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from approvals.services.tokens import api_token_create


class TokenCreateForm(forms.Form):
    name = forms.CharField(
        max_length=120,
        help_text="Who or what uses it, e.g. the automation's name. Shown in lists and the audit.",
    )

    def clean_name(self) -> str:
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise forms.ValidationError("Give the token a name.")
        return name


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
            token, raw = api_token_create(name=form.cleaned_data["name"])
            context.update(raw=raw, token=token, title="Your new API token")
        else:
            status = 400
    response = TemplateResponse(
        request, "admin/approvals/apitoken/create.html", context, status=status
    )
    response["Cache-Control"] = "no-store"
    return response
