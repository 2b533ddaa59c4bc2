"""The Slack route: interactions (docs/api.md "Slack")."""

from __future__ import annotations

from django.urls import path

from approvals.slack.interactions import slack_interactions

urlpatterns = [
    path("slack/interactions", slack_interactions, name="slack_interactions"),
]
