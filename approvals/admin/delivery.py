"""Admin for the callback outbox (OutboxEvent, DeliveryAttempt).

Events are written by services only: the admin shows them, lists dead letters, and offers one
action, "Redeliver", which goes through `event_redeliver`. The request page shows a request's
events through `OutboxEventInline`, declared on `ApprovalRequestAdmin`.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from approvals.admin.readonly import ReadOnlyAdminMixin, ReadOnlyInline
from approvals.models import DeliveryAttempt, OutboxEvent
from approvals.services.delivery import event_redeliver


class DeliveryAttemptInline(ReadOnlyInline):
    model = DeliveryAttempt
    fields = readonly_fields = ("number", "at", "status_code", "error", "duration_ms")
    ordering = ("number",)


class OutboxEventInline(ReadOnlyInline):
    """The delivery log on a request's page: every callback event and how it went."""

    model = OutboxEvent
    verbose_name = "callback"
    verbose_name_plural = "delivery log (callbacks)"
    fields = readonly_fields = (
        "event_link",
        "event_type",
        "status",
        "attempts",
        "next_attempt_at",
        "delivered_at",
        "last_error",
    )
    ordering = ("created_at",)

    @admin.display(description="event")
    def event_link(self, obj: OutboxEvent) -> str:
        url = reverse("admin:approvals_outboxevent_change", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, obj.webhook_id)


class DeadLetterFilter(admin.SimpleListFilter):
    title = "dead letters"
    parameter_name = "dead"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Dead letters only")]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[OutboxEvent]
    ) -> QuerySet[OutboxEvent]:
        if self.value() == "yes":
            return queryset.filter(status=OutboxEvent.Status.DEAD)
        return queryset


@admin.register(OutboxEvent)
class OutboxEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "webhook_id",
        "event_type",
        "status",
        "attempts",
        "approval_link",
        "target_url",
        "created_at",
        "next_attempt_at",
        "delivered_at",
    ]
    list_filter = [DeadLetterFilter, "status", "event_type"]
    list_select_related = ["approval"]
    search_fields = ["id", "approval__id", "approval__external_id", "target_url"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    actions = ["redeliver"]
    inlines = [DeliveryAttemptInline]
    fields = readonly_fields = (
        "webhook_id",
        "approval_link",
        "event_type",
        "status",
        "target_url",
        "attempts",
        "next_attempt_at",
        "leased_until",
        "last_error",
        "created_at",
        "delivered_at",
        "body_pretty",
    )

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        # Read-only admins hide actions; redelivery is a service call, allowed to whoever may
        # view the outbox.
        actions = super().get_actions(request)
        if not self.has_view_permission(request):
            return {}
        return actions

    @admin.display(description="request")
    def approval_link(self, obj: OutboxEvent) -> str:
        url = reverse("admin:approvals_approvalrequest_change", args=[obj.approval_id])
        return format_html('<a href="{}">{}</a>', url, obj.approval_id)

    @admin.display(description="body")
    def body_pretty(self, obj: OutboxEvent) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.body, indent=2, ensure_ascii=False))

    @admin.action(description="Redeliver the selected callbacks")
    def redeliver(self, request: HttpRequest, queryset: QuerySet[OutboxEvent]) -> None:
        done, skipped = 0, 0
        for event in queryset:
            try:
                event_redeliver(event=event, actor=request.user.get_username())
            except ValueError:
                skipped += 1
            else:
                done += 1
        if done:
            self.message_user(
                request, f"{done} callback(s) queued for redelivery.", messages.SUCCESS
            )
        if skipped:
            self.message_user(
                request,
                f"{skipped} event(s) have no callback URL and were skipped.",
                messages.WARNING,
            )
