"""Email decision links in the admin (docs/security.md "Email links"): look them up, revoke them.

Rows are written by `approvals.services.deeplinks` only; the one change here is the revoke
action. The token itself is never stored, so there is nothing secret to show.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from approvals.admin.readonly import ReadOnlyAdminMixin
from approvals.models import DeepLink
from approvals.services.deeplinks import deeplink_revoke


@admin.register(DeepLink)
class DeepLinkAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "approval_link",
        "reviewer",
        "option_key",
        "stage",
        "created_at",
        "expires_at",
        "used_at",
        "revoked_at",
        "state",
    ]
    list_select_related = ["approval", "reviewer"]
    list_filter = [
        ("used_at", admin.EmptyFieldListFilter),
        ("revoked_at", admin.EmptyFieldListFilter),
    ]
    search_fields = ["approval__id", "approval__external_id", "reviewer__username"]
    readonly_fields = [
        "approval",
        "reviewer",
        "stage",
        "option_key",
        "created_at",
        "expires_at",
        "used_at",
        "revoked_at",
        "revoked_by",
    ]
    actions = ["revoke"]
    show_full_result_count = False

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("approvals.change_deeplink")

    @admin.display(description="request", ordering="approval__title")
    def approval_link(self, obj: DeepLink) -> str:
        url = reverse("admin:approvals_approvalrequest_change", args=[obj.approval_id])
        return format_html('<a href="{}">{}</a>', url, obj.approval.title)

    @admin.action(description="Revoke selected links", permissions=["revoke"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[DeepLink]) -> None:
        revoked = deeplink_revoke(links=list(queryset), by=request.user)
        messages.success(request, f"Revoked {revoked} link{'s' if revoked != 1 else ''}.")
