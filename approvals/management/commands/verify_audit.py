from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError

from approvals.audit.verify import audit_verify
from approvals.management.base import OneLineErrorsCommand


class Command(OneLineErrorsCommand):
    help = (
        "Re-compute the audit hash chain and compare it with the live decisions. "
        "Exit 0 with a summary line if intact (and how many entries wait to be sealed); "
        "exit 1 naming the first broken entry."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        result = audit_verify()
        if result.broken is not None:
            raise CommandError(f"Audit chain broken at {result.broken.describe()}", returncode=1)
        self.stdout.write(
            f"Audit chain intact: {result.entries} entries, {result.decisions} decisions, "
            f"last hash {result.last_hash[:16]}…"
            + (f"; {result.unsealed} newer entries wait to be sealed" if result.unsealed else "")
        )
