from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError, CommandParser

from approvals.management.base import OneLineErrorsCommand
from approvals.slack.manifest import NAME_MAX, slack_manifest


class Command(OneLineErrorsCommand):
    help = (
        "Print the Slack app manifest (JSON) to paste at api.slack.com/apps: the bot scopes "
        "Checkpoint needs and the interactivity URL SITE_URL/slack/interactions."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--name",
            default="Checkpoint",
            help=f"the app's name in Slack (at most {NAME_MAX} characters)",
        )

    def handle(self, *args: Any, name: str, **options: Any) -> None:
        name = name.strip()
        if not name or len(name) > NAME_MAX:
            raise CommandError(f"--name must be 1 to {NAME_MAX} characters.")
        if not settings.SITE_URL.startswith("https://"):
            self.stderr.write(
                f"Note: SITE_URL is {settings.SITE_URL}; Slack only sends clicks to an https URL."
            )
        self.stdout.write(json.dumps(slack_manifest(name=name), indent=2))
