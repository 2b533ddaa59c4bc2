"""The Slack app manifest (docs/api.md "Slack"), for a workspace admin to paste at
api.slack.com/apps → "Create New App" → "From an app manifest"."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import reverse

# chat:write — post and update messages, ephemeral answers; im:write — direct messages to
# reviewers; users:read + users:read.email — find a reviewer's Slack user by their email.
BOT_SCOPES = ["chat:write", "im:write", "users:read", "users:read.email"]
NAME_MAX = 35  # Slack's limit for an app's display name


def interactivity_url() -> str:
    return f"{settings.SITE_URL}{reverse('slack_interactions')}"


def slack_manifest(*, name: str = "Checkpoint") -> dict[str, Any]:
    return {
        "_metadata": {"major_version": 1, "minor_version": 1},
        "display_information": {
            "name": name,
            "description": "Approve, reject or comment on Checkpoint requests without leaving Slack.",
            "background_color": "#1f2937",
        },
        "features": {
            "app_home": {
                "home_tab_enabled": False,
                "messages_tab_enabled": True,
                "messages_tab_read_only_enabled": True,
            },
            "bot_user": {"display_name": name, "always_online": True},
        },
        "oauth_config": {"scopes": {"bot": list(BOT_SCOPES)}},
        "settings": {
            "interactivity": {"is_enabled": True, "request_url": interactivity_url()},
            "org_deploy_enabled": False,
            "socket_mode_enabled": False,
            "token_rotation_enabled": False,
        },
    }
