from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from approvals.management.base import OneLineErrorsCommand
from approvals.models import ApiToken
from approvals.services.tokens import api_token_create

NAME_MAX = ApiToken._meta.get_field("name").max_length or 120


class Command(OneLineErrorsCommand):
    help = "Create an intake API token; prints it once, as the last line. Only its hash is kept."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="who uses it, e.g. zendesk")

    def handle(self, *args: Any, name: str, **options: Any) -> None:
        name = name.strip()
        if not name:
            raise CommandError("NAME must not be empty.")
        if len(name) > NAME_MAX:
            raise CommandError(f"NAME is longer than {NAME_MAX} characters.")
        token, raw = api_token_create(name=name)
        self.stdout.write(
            f"Created API token {token.name!r} ({token.prefix}…); it is not shown again:"
        )
        self.stdout.write(raw)
