"""Admin for standing approvals ("approve and remember", docs/agents.md).

Managers see, filter and revoke them; nobody adds or edits one here (reviewers create them by
deciding in the inbox). The one action, "Revoke", goes through `standing_approval_revoke`.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from approvals.exceptions import ApprovalError
from approvals.models import StandingApproval
from approvals.routing import describe_conditions
from approvals.services.standing import standing_approval_revoke


class StateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("active", "Active"), ("ended", "Ended"), ("revoked", "Revoked")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        now = timezone.now()
        if self.value() == "active":
            return queryset.filter(revoked_at__isnull=True, ends_at__gt=now)
        if self.value() == "ended":
            return queryset.filter(revoked_at__isnull=True, ends_at__lte=now)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        return queryset


@admin.register(StandingApproval)
class StandingApprovalAdmin(admin.ModelAdmin):
    list_display = ["__str__", "policy", "matches", "created_by", "created_at", "ends_at", "state"]
    list_filter = [StateFilter, "policy", "created_by"]
    list_select_related = ["policy", "created_by", "revoked_by"]
    search_fields = ["created_by__username", "source_request__title"]
    date_hierarchy = "created_at"
    actions = ["revoke"]
    fields = readonly_fields = [  # type: ignore[assignment]
        "policy",
        "matches",
        "created_by",
        "source",
        "created_at",
        "ends_at",
        "revoked_at",
        "revoked_by",
    ]

    @admin.display(description="matches")
    def matches(self, obj: StandingApproval) -> str:
        return describe_conditions(obj.conditions)

    @admin.display(description="state")
    def state(self, obj: StandingApproval) -> str:
        if obj.revoked_at is not None:
            return f"revoked by {obj.revoked_by}"
        return "active" if obj.is_active() else "ended"

    @admin.display(description="source request")
    def source(self, obj: StandingApproval) -> str:
        url = reverse("admin:approvals_approvalrequest_change", args=[obj.source_request_id])
        return format_html('<a href="{}">{}</a>', url, obj.source_request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Revoke the selected standing approvals", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[StandingApproval]) -> None:
        done = 0
        for standing in queryset.filter(Q(revoked_at__isnull=True)):
            try:
                standing_approval_revoke(standing=standing, actor=request.user)
            except ApprovalError as exc:
                self.message_user(request, exc.message, messages.WARNING)
                continue
            done += 1
        self.message_user(request, f"Revoked {done} standing approval(s).", messages.SUCCESS)
