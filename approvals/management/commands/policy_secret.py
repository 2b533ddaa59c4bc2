from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from approvals.management.base import OneLineErrorsCommand
from approvals.models import Policy
from approvals.services.policies import SECRET_ROTATION_GRACE, policy_rotate_secret


class Command(OneLineErrorsCommand):
    help = (
        "Print a policy's callback signing secret (whsec_…); --rotate makes a new one and signs "
        "with both for 24 hours. The secret is the last line of stdout."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="the policy's slug, e.g. refund-approval")
        parser.add_argument(
            "--rotate",
            action="store_true",
            help="make a new secret; the old one keeps signing beside it for 24 hours",
        )

    def handle(self, *args: Any, slug: str, rotate: bool, **options: Any) -> None:
        policy = Policy.objects.filter(slug=slug.strip()).first()
        if policy is None:
            raise CommandError(f"No policy with slug {slug!r}.")
        if rotate:
            policy = policy_rotate_secret(policy=policy)
            hours = int(SECRET_ROTATION_GRACE.total_seconds() // 3600)
            self.stdout.write(
                f"Rotated the signing secret of {policy.slug!r}. Callbacks carry both signatures "
                f"for {hours} hours; switch your receiver to the new secret:"
            )
        self.stdout.write(policy.signing_secret)
