"""The admin's view of Slack: each request's messages, their state and last error (read-only:
only `approvals.slack.delivery` writes them)."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from approvals.models import SlackMessage

SLACK_MESSAGE_FIELDS: tuple[str, ...] = (
    "kind",
    "stage",
    "target",
    "channel",
    "ts",
    "state",
    "shown",
    "attempts",
    "last_error",
    "next_attempt_at",
    "sent_at",
    "updated_at",
)


class SlackMessageInline(admin.TabularInline):
    model = SlackMessage
    fk_name = "approval"
    extra = 0
    can_delete = False
    fields = SLACK_MESSAGE_FIELDS
    readonly_fields = SLACK_MESSAGE_FIELDS
    ordering = ("created_at", "id")
    verbose_name_plural = "Slack messages"

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[SlackMessage]:
        return super().get_queryset(request).select_related("approval")
