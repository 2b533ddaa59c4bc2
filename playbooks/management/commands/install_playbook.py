from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from approvals.management.base import OneLineErrorsCommand
from approvals.models import Policy
from playbooks.installer import UnknownPlaybook, install_playbook, playbook_slugs


class Command(OneLineErrorsCommand):
    help = "Create or update ready-made playbooks (policy, groups, options). Idempotent."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "slugs", nargs="*", metavar="SLUG", help=f"one of: {', '.join(playbook_slugs())}"
        )
        parser.add_argument("--all", action="store_true", help="install every playbook")

    def handle(self, *args: Any, slugs: list[str], all: bool, **options: Any) -> None:
        if all and slugs:
            raise CommandError("Give playbook slugs or --all, not both.")
        if not all and not slugs:
            raise CommandError(f"Name a playbook ({', '.join(playbook_slugs())}) or use --all.")
        unknown = [slug for slug in slugs if slug not in playbook_slugs()]
        if unknown:
            raise CommandError(str(UnknownPlaybook(unknown[0])))
        for slug in playbook_slugs() if all else slugs:
            before = Policy.objects.filter(slug=slug).values_list("version", flat=True).first()
            policy = install_playbook(slug)
            if before is None:
                state = "installed"
            elif before == policy.version:
                state = "unchanged"
            else:
                state = "updated"
            self.stdout.write(f"{slug}: {state} (version {policy.version})")
