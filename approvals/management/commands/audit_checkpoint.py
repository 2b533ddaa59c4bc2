from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError

from approvals.audit.checkpoints import CheckpointError, export_checkpoint
from approvals.management.base import OneLineErrorsCommand


class Command(OneLineErrorsCommand):
    help = (
        "Seal pending audit entries, sign the chain's head with AUDIT_SIGNING_KEY and write the "
        "checkpoint to AUDIT_CHECKPOINT_URL (beat does this on a schedule; docs/security.md). "
        "Exit 1 with one line when it cannot."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            exported = export_checkpoint()
        except (CheckpointError, OSError) as exc:
            raise CommandError(f"No checkpoint written: {exc}", returncode=1) from None
        if exported is None:
            self.stdout.write("The audit chain is empty: nothing to sign yet.")
            return
        checkpoint = exported.checkpoint
        state = "Signed" if exported.new else "Already signed"
        self.stdout.write(
            f"{state} checkpoint #{checkpoint.seq} (head {checkpoint.head[:16]}…, key "
            f"{checkpoint.key_id}) at {exported.path}"
        )
