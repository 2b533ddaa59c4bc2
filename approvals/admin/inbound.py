"""Admin for inbound sources (docs/integrations.md): managers only (the `*_inboundsource`
permissions of the Managers group). Credentials are write-only: the form takes a new secret or
token and never shows the stored one; "Test with a sample body" renders the request a body
would create, through the same mapping and intake checks, without creating anything.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from approvals import routing
from approvals.api.intake import intake_validate
from approvals.api.problems import Problem
from approvals.inbound.receive import inbound_document
from approvals.inbound.secrets import source_api_token, source_secret, source_set_credentials
from approvals.inbound.sources import secret_error, source_url
from approvals.models import InboundSource
from approvals.services.policies import policy_route_specs

SAMPLE_MAX_CHARS = 64 * 1024


class InboundSourceForm(forms.ModelForm):
    new_secret = forms.CharField(
        label="Secret",
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Never shown again after saving; leave blank to keep the current one. "
        "Standard Webhooks: a whsec_… secret.",
    )
    new_api_token = forms.CharField(
        label="HubSpot private-app token",
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="For completing HubSpot workflow actions; never shown again after saving.",
    )

    class Meta:
        model = InboundSource
        fields = [
            "slug",
            "policy",
            "verification",
            "is_active",
            "title_template",
            "external_id_path",
            "event_id_path",
            "payload_fields",
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        secret = data.get("new_secret") or source_secret(self.instance)
        verification = data.get("verification")
        if verification and (problem := secret_error(verification, secret)):
            self.add_error("new_secret", problem)
        return data

    def save(self, commit: bool = True) -> InboundSource:
        source_set_credentials(
            self.instance,
            secret=self.cleaned_data.get("new_secret") or None,
            api_token=self.cleaned_data.get("new_api_token") or None,
        )
        return super().save(commit=commit)


class SampleForm(forms.Form):
    sample = forms.CharField(
        label="Sample body (JSON)",
        max_length=SAMPLE_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 14, "cols": 90, "spellcheck": "false"}),
    )


@admin.register(InboundSource)
class InboundSourceAdmin(SimpleHistoryAdmin):
    form = InboundSourceForm
    list_display = ("slug", "policy", "verification", "is_active", "endpoint")
    list_filter = ("verification", "is_active")
    search_fields = ("slug",)
    readonly_fields = ("endpoint", "credentials", "sample_link")
    fieldsets = (
        (None, {"fields": ("slug", "policy", "verification", "is_active", "endpoint")}),
        ("Credentials", {"fields": ("new_secret", "new_api_token", "credentials")}),
        (
            "Mapping (dotted paths into the inbound JSON)",
            {
                "fields": (
                    "title_template",
                    "external_id_path",
                    "event_id_path",
                    "payload_fields",
                    "sample_link",
                )
            },
        ),
    )

    @admin.display(description="endpoint")
    def endpoint(self, obj: InboundSource) -> str:
        return source_url(obj) if obj.pk else "(after saving)"

    @admin.display(description="stored")
    def credentials(self, obj: InboundSource) -> str:
        secret = "set" if obj.pk and source_secret(obj) else "not set"
        token = "set" if obj.pk and source_api_token(obj) else "not set"
        return f"secret {secret}; HubSpot token {token}"

    @admin.display(description="try it")
    def sample_link(self, obj: InboundSource) -> str:
        if not obj.pk:
            return "Save first, then test the mapping with a sample body."
        url = reverse("admin:approvals_inboundsource_sample", args=[obj.pk])
        return format_html('<a href="{}">Test with a sample body</a>', url)

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "<path:object_id>/sample/",
                self.admin_site.admin_view(self.sample_view),
                name="approvals_inboundsource_sample",
            ),
            *super().get_urls(),
        ]

    def sample_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Render the request a sample body would create; creates nothing."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        source = self.get_object(request, unquote(object_id))
        if source is None:
            raise Http404
        form = SampleForm(request.POST or None)
        context: dict[str, Any] = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "source": source,
            "form": form,
            "title": f"Test {source.slug} with a sample body",
        }
        if request.method == "POST" and form.is_valid():
            context.update(sample_preview(source, form.cleaned_data["sample"]))
        return TemplateResponse(request, "admin/approvals/inbound_sample.html", context)


def sample_preview(source: InboundSource, text: str) -> dict[str, Any]:
    """{"errors": [(field, message)]} or {"document": …, "route": …} for a sample body."""
    try:
        body = json.loads(text)
    except ValueError as exc:
        return {"errors": [("body", f"Not JSON: {exc}")]}
    if not isinstance(body, dict):
        return {"errors": [("body", "The body must be a JSON object.")]}
    try:
        document, mapped = inbound_document(source, body)
        intake = intake_validate(document)
    except Problem as exc:
        return {"errors": exc.errors or [("body", exc.detail)]}
    rules, stages = policy_route_specs(intake.policy)
    result = routing.route(rules, stages, intake.payload)
    route = (
        f"auto-{result.action} ({result.reason})"
        if result.is_auto
        else f"a reviewer decides ({result.reason})"
    )
    return {
        "document": json.dumps(document, indent=2, ensure_ascii=False),
        "event_id": mapped.event_id,
        "route": route,
    }
