"""The admin's view of Slack: each request's messages, their state and last error (read-only:
only `approvals.slack.delivery` writes them)."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import HttpRequest

from approvals.admin.readonly import ReadOnlyInline
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


class SlackMessageInline(ReadOnlyInline):
    model = SlackMessage
    fk_name = "approval"
    fields = SLACK_MESSAGE_FIELDS
    readonly_fields = SLACK_MESSAGE_FIELDS
    ordering = ("created_at", "id")
    verbose_name_plural = "Slack messages"

    def get_queryset(self, request: HttpRequest) -> QuerySet[SlackMessage]:
        return super().get_queryset(request).select_related("approval")
