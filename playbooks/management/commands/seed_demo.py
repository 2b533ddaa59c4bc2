from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from approvals.management.base import OneLineErrorsCommand
from playbooks.demo import demo_logins, seed_demo


class Command(OneLineErrorsCommand):
    help = "Create the demo reviewers, manager and sample requests of `make demo`. Idempotent."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--requests", type=int, default=300, help="sample requests to have (default 300)"
        )
        parser.add_argument(
            "--logins-only", action="store_true", help="print the demo logins and change nothing"
        )

    def handle(self, *args: Any, requests: int, logins_only: bool, **options: Any) -> None:
        if logins_only:
            self.stdout.write(demo_logins(), ending="")
            return
        if not 0 <= requests <= 100_000:
            raise CommandError("--requests must be between 0 and 100000.")
        summary = seed_demo(requests=requests)
        self.stdout.write(
            f"Demo ready: {summary.users_created} users, {summary.requests_created} requests and "
            f"{summary.decisions_made} decisions created."
        )
        self.stdout.write(demo_logins(), ending="")
