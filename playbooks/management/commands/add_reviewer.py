from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError, CommandParser
from django.core.validators import validate_email

from approvals.management.base import OneLineErrorsCommand
from approvals.models import ReviewerGroup
from playbooks.demo import reviewer_add


class Command(OneLineErrorsCommand):
    help = "Create the user if needed and add it to a reviewer group."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--group", required=True, metavar="SLUG", help="reviewer group slug")
        parser.add_argument("--email", default="", help="email address (used to log in)")
        parser.add_argument("--password", default="", help="set this password")

    def handle(
        self, *args: Any, username: str, group: str, email: str, password: str, **options: Any
    ) -> None:
        username = username.strip()
        if not username:
            raise CommandError("USERNAME must not be empty.")
        found = ReviewerGroup.objects.filter(slug=group).first()
        if found is None:
            slugs = ", ".join(ReviewerGroup.objects.values_list("slug", flat=True)) or "none yet"
            raise CommandError(f"Unknown group {group!r} (groups: {slugs}).")
        if email:
            try:
                validate_email(email)
            except ValidationError:
                raise CommandError(f"{email!r} is not an email address.") from None
        try:
            user, created = reviewer_add(
                username=username, group=found, email=email, password=password
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        verb = "Created" if created else "Updated"
        self.stdout.write(f"{verb} {user.get_username()} in {found.slug}.")
