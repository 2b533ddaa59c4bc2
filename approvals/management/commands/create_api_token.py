from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError, CommandParser
from django.utils import timezone

from approvals.management.base import OneLineErrorsCommand
from approvals.models import ApiToken, Policy
from approvals.services.tokens import TokenNameTaken, api_token_create

NAME_MAX = ApiToken._meta.get_field("name").max_length or 120
MAX_DAYS = 3650


class Command(OneLineErrorsCommand):
    help = (
        "Create an intake API token; prints it once, as the last line. Only its hash is kept. "
        "See docs/api.md 'Tokens and callers'."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="who uses it, e.g. zendesk; unique")
        parser.add_argument(
            "--policy",
            action="append",
            default=[],
            metavar="SLUG",
            help="a policy it may submit to (repeat, or several after one --policy); "
            "default: every policy",
            nargs="+",
        )
        parser.add_argument(
            "--scope",
            default=",".join(ApiToken.SCOPES),
            help="what it may do: some of create,read,cancel (default: all three)",
        )
        parser.add_argument(
            "--expires-days", type=int, default=None, help="days it lives (default: never expires)"
        )
        parser.add_argument(
            "--caller",
            default="",
            help="the owner namespace: tokens of one caller see the same requests "
            "(default: the token's name)",
        )
        parser.add_argument(
            "--user", default="", help="username of the person this token acts for (four-eyes)"
        )

    def handle(self, *args: Any, name: str, **options: Any) -> None:
        name = _text(name, "NAME")
        caller = _text(options["caller"], "--caller") if options["caller"] else name
        scopes = [part.strip() for part in options["scope"].split(",") if part.strip()]
        unknown = sorted(set(scopes) - set(ApiToken.SCOPES))
        if unknown or not scopes:
            raise CommandError(
                f"--scope {options['scope']!r}: use some of {','.join(ApiToken.SCOPES)}."
            )
        slugs = sorted({slug for group in options["policy"] for slug in group})
        policies = list(Policy.objects.filter(slug__in=slugs))
        missing = sorted(set(slugs) - {policy.slug for policy in policies})
        if missing:
            raise CommandError(f"There is no policy {', '.join(missing)}.")
        days = options["expires_days"]
        if days is not None and not 1 <= days <= MAX_DAYS:
            raise CommandError(f"--expires-days must be 1 to {MAX_DAYS}.")
        user = None
        if options["user"]:
            user = get_user_model().objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"There is no user {options['user']!r}.")
        try:
            token, raw = api_token_create(
                name=name,
                caller=caller,
                scopes=scopes,
                policies=policies,
                expires_at=timezone.now() + timedelta(days=days) if days else None,
                user=user,
            )
        except TokenNameTaken as exc:
            raise CommandError(f"{exc} Pick another name or revoke it in the admin.") from None
        limits = ", ".join(
            [
                f"caller {token.caller!r}",
                f"scopes {','.join(token.scopes)}",
                f"policies {', '.join(slugs) if slugs else 'all'}",
                f"expires {token.expires_at:%Y-%m-%d %H:%M}Z" if token.expires_at else "no expiry",
            ]
        )
        self.stdout.write(
            f"Created API token {token.name!r} ({token.prefix}…; {limits}); it is not shown again:"
        )
        self.stdout.write(raw)


def _text(value: str, label: str) -> str:
    value = " ".join(value.split())
    if not value:
        raise CommandError(f"{label} must not be empty.")
    if len(value) > NAME_MAX:
        raise CommandError(f"{label} is longer than {NAME_MAX} characters.")
    return value
